//! Secret upload (input-mask protocol) and verified download.

use api::{
    ApiError, DownloadRequest, ErrorCode, MaskRequest, MaskedInput, OutputDelivery, SecretCreated,
};
use std::sync::Arc;
use uuid::Uuid;

use crate::{Node, User};

/// Mask shares handed out and not yet used, by request id.
#[derive(Default)]
pub struct PendingMasks {}

impl Node {
    /// `POST /v1/input-masks`.
    pub async fn input_masks(
        self: &Arc<Self>,
        _user: &User,
        _req: MaskRequest,
    ) -> Result<OutputDelivery, ApiError> {
        Err(ApiError::new(ErrorCode::Internal, "input masks: being written"))
    }

    /// `POST /v1/secrets`.
    pub async fn create_secret(
        self: &Arc<Self>,
        _user: &User,
        _req: MaskedInput,
    ) -> Result<SecretCreated, ApiError> {
        Err(ApiError::new(ErrorCode::Internal, "upload: being written"))
    }

    /// `POST /v1/secrets/{id}/download`.
    pub async fn download_secret(
        self: &Arc<Self>,
        _user: &User,
        _id: Uuid,
        _req: DownloadRequest,
    ) -> Result<OutputDelivery, ApiError> {
        Err(ApiError::new(ErrorCode::Internal, "download: being written"))
    }
}
