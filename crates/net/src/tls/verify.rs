//! Certificate pinning for both ends of a connection, and the rustls configurations using it.
//!
//! **Invariant:** a handshake succeeds only if the peer's end-entity certificate is byte-for-byte
//! one of the certificates this side expects *and* the peer proved possession of its key (the
//! handshake signature is checked with the ring provider's algorithms). Names, validity dates and
//! intermediates are ignored: the pinned table is the whole trust decision, so a certificate
//! cannot be "re-issued" to impersonate a party.
//!
//! - A dialer expects exactly one certificate: the one of the party it dialed
//!   ([`PinnedServerVerifier`]).
//! - An acceptor expects any certificate of a party that is supposed to dial it, i.e. a party with
//!   a higher id ([`PinnedClientVerifier`]); which one it was is read back from the connection.
//!
//! Only TLS 1.3 is offered, and the ring provider is passed explicitly to every configuration
//! (no process-wide default provider is installed or consulted).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, ServerConfig,
    SignatureScheme,
};

use crate::{NetError, PartyId};

/// The crypto provider used everywhere in this crate.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn refused(what: &str) -> rustls::Error {
    tracing::debug!("refusing a peer certificate: {what}");
    rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
}

/// Dialer side: the server must present exactly `expected`.
#[derive(Debug)]
pub(crate) struct PinnedServerVerifier {
    party: PartyId,
    expected: CertificateDer<'static>,
    algs: WebPkiSupportedAlgorithms,
}

impl PinnedServerVerifier {
    pub(crate) fn new(party: PartyId, expected: CertificateDer<'static>) -> Self {
        PinnedServerVerifier {
            party,
            expected,
            algs: provider().signature_verification_algorithms,
        }
    }
}

impl ServerCertVerifier for PinnedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(refused(&format!(
                "server is not the pinned party {}",
                self.party
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Acceptor side: the client must present one of `allowed` (the parties that dial this one).
#[derive(Debug)]
pub(crate) struct PinnedClientVerifier {
    allowed: Vec<CertificateDer<'static>>,
    algs: WebPkiSupportedAlgorithms,
}

impl PinnedClientVerifier {
    pub(crate) fn new(allowed: Vec<CertificateDer<'static>>) -> Self {
        PinnedClientVerifier {
            allowed,
            algs: provider().signature_verification_algorithms,
        }
    }
}

impl ClientCertVerifier for PinnedClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // No CA hints: clients hold exactly one certificate and always present it.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if self
            .allowed
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(refused("client is not a party allowed to dial here"))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

fn tls_err(what: &str, e: rustls::Error) -> NetError {
    NetError::Tls(format!(
        "{what}: {e}; check that this party's certificate and key belong together"
    ))
}

/// Client configuration for dialing `party`, whose certificate is `expected`.
pub(crate) fn client_config(
    party: PartyId,
    expected: CertificateDer<'static>,
    my_cert: CertificateDer<'static>,
    my_key: PrivateKeyDer<'static>,
) -> Result<Arc<ClientConfig>, NetError> {
    let cfg = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls_err("cannot configure TLS 1.3", e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServerVerifier::new(party, expected)))
        .with_client_auth_cert(vec![my_cert], my_key)
        .map_err(|e| tls_err("cannot use this party's identity as a TLS client", e))?;
    Ok(Arc::new(cfg))
}

/// Server configuration accepting the parties whose certificates are `allowed`.
pub(crate) fn server_config(
    allowed: Vec<CertificateDer<'static>>,
    my_cert: CertificateDer<'static>,
    my_key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, NetError> {
    let cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls_err("cannot configure TLS 1.3", e))?
        .with_client_cert_verifier(Arc::new(PinnedClientVerifier::new(allowed)))
        .with_single_cert(vec![my_cert], my_key)
        .map_err(|e| tls_err("cannot use this party's identity as a TLS server", e))?;
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::certs::dev_identity;

    fn der(i: usize) -> CertificateDer<'static> {
        dev_identity(i).unwrap().cert_der().unwrap()
    }

    #[test]
    fn server_verifier_accepts_only_the_pinned_certificate() {
        let (a, b) = (der(0), der(1));
        let v = PinnedServerVerifier::new(0, a.clone());
        let name = ServerName::try_from("party-0").unwrap();
        assert!(v
            .verify_server_cert(&a, &[], &name, &[], UnixTime::now())
            .is_ok());
        assert!(v
            .verify_server_cert(&b, &[], &name, &[], UnixTime::now())
            .is_err());
        let garbage = CertificateDer::from(vec![0u8; 10]);
        assert!(v
            .verify_server_cert(&garbage, &[], &name, &[], UnixTime::now())
            .is_err());
    }

    #[test]
    fn client_verifier_accepts_only_allowed_certificates() {
        let (a, b, c) = (der(0), der(1), der(2));
        let v = PinnedClientVerifier::new(vec![b.clone(), c.clone()]);
        assert!(v.client_auth_mandatory());
        assert!(v.verify_client_cert(&b, &[], UnixTime::now()).is_ok());
        assert!(v.verify_client_cert(&c, &[], UnixTime::now()).is_ok());
        assert!(v.verify_client_cert(&a, &[], UnixTime::now()).is_err());
    }

    #[test]
    fn mismatched_key_is_a_tls_error() {
        let a = dev_identity(0).unwrap();
        let b = dev_identity(1).unwrap();
        let e = server_config(vec![], a.cert_der().unwrap(), b.private_key().unwrap()).unwrap_err();
        assert!(matches!(e, NetError::Tls(_)), "{e}");
        let e =
            client_config(1, der(1), a.cert_der().unwrap(), b.private_key().unwrap()).unwrap_err();
        assert!(matches!(e, NetError::Tls(_)), "{e}");
    }
}
