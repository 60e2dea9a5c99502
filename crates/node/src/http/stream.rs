//! Large answers as streams: output deliveries (input masks, downloads, and the Carbyne Stack
//! forms of both) are written to the connection piece by piece as the client reads them, never
//! built whole as JSON.
//!
//! A [`JsonParts`] answer is a list of parts: short JSON text (made by `serde_json`, so keys,
//! UUIDs and tags are written exactly as `serde_json` writes them) and field vectors, held as
//! their raw 16-byte words and base64-encoded [`PIECE_RAW`] bytes at a time while the body is
//! polled. `PIECE_RAW` is a multiple of 3, so the pieces join into exactly the base64 text of the
//! whole vector: the body is byte-identical to `serde_json::to_vec` of the same value (the tests
//! compare them), and its length is known up front, so the response keeps its `Content-Length`.
//!
//! Memory: the raw words (16 bytes per element, three quarters of the base64 text) and one piece
//! of at most [`PIECE_RAW`] · 4/3 bytes, instead of the whole JSON text beside the raw words.
//!
//! **Invariant:** an answer is built only from a delivery that is complete, so every value in it
//! has passed the MAC check of the delivery ([`crate::delivery`]) before the first byte is sent.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use api::carbyne::{AmphoraDelivery, VerifiableSecretShare};
use api::OutputDelivery;
use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use http_body::{Frame, SizeHint};

/// Raw bytes base64-encoded per piece of the body: 48 KiB, a multiple of 3 (and of 16).
pub const PIECE_RAW: usize = 48 * 1024;

enum Part {
    /// JSON text, written as is.
    Text(Bytes),
    /// Raw bytes written as base64 (without quotes), one piece at a time.
    Base64(Bytes),
}

/// A JSON answer assembled from parts; see the module docs.
pub struct JsonParts {
    parts: VecDeque<Part>,
    /// Kept until the body is sent or dropped (the transfer's hold on the memory budget).
    keep: Option<Box<dyn Send + Sync>>,
}

fn json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    // Only UUIDs, numbers and tags go through here: serde_json cannot fail on them.
    serde_json::to_string(v).unwrap_or_default()
}

impl JsonParts {
    fn new() -> JsonParts {
        JsonParts {
            parts: VecDeque::new(),
            keep: None,
        }
    }

    /// Keeps `guard` alive until the body has been sent or dropped.
    pub fn holding(mut self, guard: impl Send + Sync + 'static) -> JsonParts {
        self.keep = Some(Box::new(guard));
        self
    }

    fn text(&mut self, s: impl Into<String>) -> &mut Self {
        self.parts.push_back(Part::Text(Bytes::from(s.into())));
        self
    }

    fn base64(&mut self, v: api::FieldVec) -> &mut Self {
        self.parts
            .push_back(Part::Base64(Bytes::from(v.into_bytes())));
        self
    }

    /// The five vectors of a delivery as `"key":"base64"` members, joined by commas.
    fn vectors(&mut self, keys: [&str; 5], vs: [api::FieldVec; 5]) -> &mut Self {
        for (i, (k, v)) in keys.into_iter().zip(vs).enumerate() {
            let sep = if i == 0 { "" } else { "\"," };
            self.text(format!("{sep}{}:\"", json(k)));
            self.base64(v);
        }
        self.text("\"")
    }

    /// [`OutputDelivery`] as `serde_json` writes it.
    pub fn delivery(d: OutputDelivery) -> JsonParts {
        let mut p = JsonParts::new();
        p.text(format!(
            "{{\"request_id\":{},\"party\":{},",
            json(&d.request_id),
            d.party
        ))
        .vectors(["s", "r", "v", "w", "u"], [d.s, d.r, d.v, d.w, d.u])
        .text("}");
        p
    }

    fn amphora_vectors(&mut self, d: AmphoraDelivery) -> &mut Self {
        self.vectors(
            ["secretShares", "rShares", "vShares", "wShares", "uShares"],
            [
                d.secret_shares,
                d.r_shares,
                d.v_shares,
                d.w_shares,
                d.u_shares,
            ],
        )
    }

    /// Carbyne Stack's [`AmphoraDelivery`] as `serde_json` writes it.
    pub fn amphora_delivery(d: AmphoraDelivery) -> JsonParts {
        let mut p = JsonParts::new();
        p.text("{").amphora_vectors(d).text("}");
        p
    }

    /// Carbyne Stack's [`VerifiableSecretShare`] (metadata and delivery merged) as `serde_json`
    /// writes it.
    pub fn verifiable_share(v: VerifiableSecretShare) -> JsonParts {
        let mut p = JsonParts::new();
        p.text(format!(
            "{{\"secretId\":{},\"tags\":{},",
            json(&v.secret_id),
            json(&v.tags)
        ))
        .amphora_vectors(v.delivery)
        .text("}");
        p
    }

    /// Bytes of the whole body.
    fn len(&self) -> u64 {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.len() as u64,
                Part::Base64(b) => (b.len() as u64).div_ceil(3) * 4,
            })
            .sum()
    }
}

/// The body: yields the parts in order, encoding base64 piece by piece.
struct PartsBody {
    parts: VecDeque<Part>,
    left: u64,
    _keep: Option<Box<dyn Send + Sync>>,
}

impl PartsBody {
    fn next_piece(&mut self) -> Option<Bytes> {
        loop {
            if let Part::Base64(raw) = self.parts.front_mut()? {
                if !raw.is_empty() {
                    let piece = raw.split_to(raw.len().min(PIECE_RAW));
                    return Some(Bytes::from(STANDARD.encode(&piece)));
                }
            }
            match self.parts.pop_front()? {
                Part::Text(t) if !t.is_empty() => return Some(t),
                _ => continue,
            }
        }
    }
}

impl http_body::Body for PartsBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let piece = self.next_piece();
        if let Some(p) = &piece {
            self.left = self.left.saturating_sub(p.len() as u64);
        }
        Poll::Ready(piece.map(|p| Ok(Frame::data(p))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

impl IntoResponse for JsonParts {
    fn into_response(self) -> Response {
        let left = self.len();
        let body = Body::new(PartsBody {
            parts: self.parts,
            left,
            _keep: self.keep,
        });
        let mut r = (StatusCode::OK, body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use field::Fp;
    use uuid::Uuid;

    fn vec_of(n: usize, seed: i64) -> api::FieldVec {
        let v: Vec<Fp> = (0..n as i64)
            .map(|i| Fp::from_i64(i * 7919 + seed))
            .collect();
        api::FieldVec::from_elements(&v)
    }

    fn delivery(n: usize) -> OutputDelivery {
        OutputDelivery {
            request_id: Uuid::new_v4(),
            party: 2,
            s: vec_of(n, 1),
            r: vec_of(n, 2),
            v: vec_of(n, 3),
            w: vec_of(n, 4),
            u: vec_of(n, 5),
        }
    }

    async fn body_of(p: JsonParts) -> (Option<String>, Vec<u8>, usize) {
        let r = p.into_response();
        let len = r
            .headers()
            .get(header::CONTENT_LENGTH)
            .map(|v| v.to_str().unwrap().to_string());
        let mut body = r.into_body();
        let mut out = Vec::new();
        let mut frames = 0;
        use http_body_util::BodyExt;
        while let Some(f) = body.frame().await {
            let d = f.unwrap().into_data().unwrap();
            assert!(d.len() <= PIECE_RAW / 3 * 4 + 64, "a piece of {}", d.len());
            out.extend_from_slice(&d);
            frames += 1;
        }
        (len, out, frames)
    }

    /// Sizes around the piece boundary, with every base64 padding.
    const SIZES: [usize; 8] = [0, 1, 2, 3, 3071, 3072, 3073, 10_000];

    #[tokio::test]
    async fn deliveries_are_byte_identical_to_serde_json_and_come_in_pieces() {
        for n in SIZES {
            let d = delivery(n);
            let want = serde_json::to_vec(&d).unwrap();
            let p = JsonParts::delivery(d.clone());
            assert_eq!(p.len(), want.len() as u64);
            let (_, got, frames) = body_of(p).await;
            assert_eq!(got, want, "{n} values");
            if n * 16 > PIECE_RAW {
                assert!(frames > 5 + 6, "{n} values came in {frames} pieces");
            }
            let a: AmphoraDelivery = d.clone().into();
            let want = serde_json::to_vec(&a).unwrap();
            assert_eq!(body_of(JsonParts::amphora_delivery(a)).await.1, want);
            let v = VerifiableSecretShare {
                secret_id: Uuid::new_v4(),
                tags: vec![api::Tag {
                    key: "name \"q\"".into(),
                    value: "é\n".into(),
                    value_type: api::TagType::String,
                }],
                delivery: d.into(),
            };
            let want = serde_json::to_vec(&v).unwrap();
            assert_eq!(body_of(JsonParts::verifiable_share(v)).await.1, want);
        }
    }
}
