//! Party identities (certificate + private key) and the pinned certificate table.
//!
//! **Invariant:** a party is identified by the exact DER bytes of its end-entity certificate.
//! There is no CA, no name check and no chain building: [`PinTable`] maps certificate bytes to a
//! party id, and two parties may never share a certificate (the table refuses duplicates), so
//! "which party is this?" always has at most one answer.
//!
//! Key material never reaches a log or a `Debug` string: [`PartyIdentity`]'s `Debug` redacts the
//! key, and errors about a key say what is wrong without quoting it.

use std::fmt;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::{NetError, PartyId};

/// One party's certificate and private key, both PEM-encoded.
///
/// Create one with [`dev_identity`] for development, or load a deployed one with
/// [`PartyIdentity::from_pem`]. `Debug` never prints the key.
#[derive(Clone, PartialEq, Eq)]
pub struct PartyIdentity {
    /// The party's end-entity certificate (one `CERTIFICATE` PEM block). Public.
    pub cert_pem: String,
    /// The matching private key (PKCS#8, PKCS#1 or SEC1 PEM). Secret.
    pub key_pem: String,
}

impl fmt::Debug for PartyIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartyIdentity")
            .field(
                "cert_pem",
                &format_args!("<{} bytes of PEM>", self.cert_pem.len()),
            )
            .field("key_pem", &format_args!("<redacted>"))
            .finish()
    }
}

impl PartyIdentity {
    /// Build an identity from PEM strings, checking that both parse: exactly one certificate and
    /// one private key. (Whether the key matches the certificate is checked when the TLS
    /// configuration is built, see [`crate::tls::connect`].)
    pub fn from_pem(
        cert_pem: impl Into<String>,
        key_pem: impl Into<String>,
    ) -> Result<PartyIdentity, NetError> {
        let id = PartyIdentity {
            cert_pem: cert_pem.into(),
            key_pem: key_pem.into(),
        };
        parse_cert(&id.cert_pem, "this party's identity")?;
        id.private_key()?;
        Ok(id)
    }

    /// The certificate in DER form.
    pub(crate) fn cert_der(&self) -> Result<CertificateDer<'static>, NetError> {
        parse_cert(&self.cert_pem, "this party's identity")
    }

    /// The private key in DER form.
    pub(crate) fn private_key(&self) -> Result<PrivateKeyDer<'static>, NetError> {
        match rustls_pemfile::private_key(&mut self.key_pem.as_bytes()) {
            Ok(Some(key)) => Ok(key),
            // Deliberately no detail from the parser: it could quote key bytes.
            Ok(None) => Err(NetError::Config(
                "the identity's key_pem holds no private key; expected a PEM block such as \
                 `-----BEGIN PRIVATE KEY-----`"
                    .into(),
            )),
            Err(_) => Err(NetError::Config(
                "the identity's key_pem is not valid PEM; check that the key file is intact".into(),
            )),
        }
    }
}

/// Generate a self-signed development certificate for party `party`, with subject alternative
/// names `localhost`, `127.0.0.1` and `party-<party>` and an ECDSA P-256 key.
///
/// Development only: the key is generated in memory, and trust comes solely from every party
/// holding everybody's certificate (pinning), exactly as with deployed certificates.
pub fn dev_identity(party: PartyId) -> Result<PartyIdentity, NetError> {
    let sans = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        format!("party-{party}"),
    ];
    let mut params = rcgen::CertificateParams::new(sans)
        .map_err(|e| NetError::Tls(format!("cannot build certificate parameters: {e}")))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("ephemeral dev party-{party}"),
    );
    let key = rcgen::KeyPair::generate()
        .map_err(|e| NetError::Tls(format!("cannot generate a key pair: {e}")))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| NetError::Tls(format!("cannot self-sign the certificate: {e}")))?;
    Ok(PartyIdentity {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Parse exactly one certificate from `pem`. `what` names the source for the error message.
fn parse_cert(pem: &str, what: &str) -> Result<CertificateDer<'static>, NetError> {
    let mut certs = Vec::new();
    for item in rustls_pemfile::certs(&mut pem.as_bytes()) {
        match item {
            Ok(c) => certs.push(c),
            Err(e) => {
                return Err(NetError::Config(format!(
                    "the certificate of {what} is not valid PEM ({e}); expected one \
                     `-----BEGIN CERTIFICATE-----` block"
                )))
            }
        }
    }
    match certs.len() {
        1 => Ok(certs.pop().expect("length checked")),
        0 => Err(NetError::Config(format!(
            "the certificate of {what} holds no `-----BEGIN CERTIFICATE-----` block"
        ))),
        k => Err(NetError::Config(format!(
            "the certificate of {what} holds {k} certificates; give exactly one (the party's own \
             end-entity certificate, no chain)"
        ))),
    }
}

/// Every party's certificate, indexed by party id. See the module docs for the invariant.
#[derive(Clone, Debug)]
pub(crate) struct PinTable {
    certs: Vec<CertificateDer<'static>>,
}

impl PinTable {
    /// Parse one certificate per party and refuse duplicates.
    pub(crate) fn from_pems<'a>(
        pems: impl IntoIterator<Item = &'a str>,
    ) -> Result<PinTable, NetError> {
        let mut certs: Vec<CertificateDer<'static>> = Vec::new();
        for (i, pem) in pems.into_iter().enumerate() {
            let cert = parse_cert(pem, &format!("party {i}"))?;
            if let Some(j) = certs.iter().position(|c| c.as_ref() == cert.as_ref()) {
                return Err(NetError::Config(format!(
                    "parties {j} and {i} have the same certificate; every party needs its own"
                )));
            }
            certs.push(cert);
        }
        Ok(PinTable { certs })
    }

    /// Number of parties.
    pub(crate) fn len(&self) -> usize {
        self.certs.len()
    }

    /// The pinned certificate of `party`.
    pub(crate) fn cert(&self, party: PartyId) -> Option<&CertificateDer<'static>> {
        self.certs.get(party)
    }

    /// Which party owns exactly this certificate, if any.
    pub(crate) fn party_of(&self, der: &[u8]) -> Option<PartyId> {
        self.certs.iter().position(|c| c.as_ref() == der)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_identity_parses_and_debug_hides_the_key() {
        let id = dev_identity(3).unwrap();
        let again = PartyIdentity::from_pem(id.cert_pem.clone(), id.key_pem.clone()).unwrap();
        assert_eq!(id, again);
        let dbg = format!("{id:?}");
        assert!(dbg.contains("redacted"));
        assert!(!dbg.contains("PRIVATE KEY"));
        assert!(!dbg.contains(&id.key_pem[40..80]));
    }

    #[test]
    fn bad_pem_is_a_config_error() {
        let id = dev_identity(0).unwrap();
        let e = PartyIdentity::from_pem("nonsense", id.key_pem.clone()).unwrap_err();
        assert!(matches!(e, NetError::Config(_)), "{e}");
        let e = PartyIdentity::from_pem(id.cert_pem.clone(), "nonsense").unwrap_err();
        assert!(matches!(e, NetError::Config(_)), "{e}");
        let two = format!("{}{}", id.cert_pem, id.cert_pem);
        let e = parse_cert(&two, "x").unwrap_err();
        assert!(e.to_string().contains("2 certificates"), "{e}");
    }

    #[test]
    fn pin_table_maps_certificates_to_parties_and_refuses_duplicates() {
        let ids: Vec<_> = (0..3).map(|i| dev_identity(i).unwrap()).collect();
        let table = PinTable::from_pems(ids.iter().map(|i| i.cert_pem.as_str())).unwrap();
        assert_eq!(table.len(), 3);
        for i in 0..3 {
            let der = table.cert(i).unwrap().clone();
            assert_eq!(table.party_of(der.as_ref()), Some(i));
        }
        assert_eq!(table.party_of(b"not a cert"), None);
        let dup = [
            ids[0].cert_pem.as_str(),
            ids[1].cert_pem.as_str(),
            ids[0].cert_pem.as_str(),
        ];
        let e = PinTable::from_pems(dup).unwrap_err();
        assert!(e.to_string().contains("parties 0 and 2"), "{e}");
    }
}
