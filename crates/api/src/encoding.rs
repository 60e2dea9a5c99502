//! Field elements in JSON: base64 of concatenated 16-byte little-endian Montgomery words.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use field::Fp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a [`FieldVec`] could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not valid base64: {0}")]
    Base64(String),
    #[error("{len} bytes is not a whole number of 16-byte field elements")]
    Length { len: usize },
    #[error(
        "element {index} is not a canonical field element (it must be below p, in Montgomery form)"
    )]
    NonCanonical { index: usize },
}

/// A vector of field elements as it travels in JSON: a base64 string of `16·len` bytes, each
/// element `x·R mod p` little-endian. Holds the bytes; decoding checks that every element is
/// canonical (below p).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FieldVec(Vec<u8>);

impl FieldVec {
    /// Encodes `values`.
    pub fn from_elements(values: &[Fp]) -> FieldVec {
        let mut out = Vec::with_capacity(values.len() * Fp::BYTES);
        field::kernels::encode(values, &mut out);
        FieldVec(out)
    }

    /// Wraps raw bytes without checking them; [`FieldVec::to_elements`] checks.
    pub fn from_bytes(bytes: Vec<u8>) -> FieldVec {
        FieldVec(bytes)
    }

    /// The raw bytes, taken out.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Number of elements (rounded down if the length is not a multiple of 16).
    pub fn len(&self) -> usize {
        self.0.len() / Fp::BYTES
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Decodes and checks every element.
    pub fn to_elements(&self) -> Result<Vec<Fp>, DecodeError> {
        if !self.0.len().is_multiple_of(Fp::BYTES) {
            return Err(DecodeError::Length { len: self.0.len() });
        }
        self.0
            .chunks_exact(Fp::BYTES)
            .enumerate()
            .map(|(index, c)| {
                let word: [u8; 16] = c.try_into().expect("chunks_exact yields 16 bytes");
                Fp::from_mont_bytes(&word).map_err(|_| DecodeError::NonCanonical { index })
            })
            .collect()
    }
}

impl std::fmt::Debug for FieldVec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Field vectors in API bodies are shares or masked values: never print them.
        write!(f, "FieldVec({} elements, <redacted>)", self.len())
    }
}

impl Serialize for FieldVec {
    /// The base64 text is written in pieces (`collect_str` of a `Base64Display`): serde_json
    /// writes it straight into its output, so a large vector is never held a second time as a
    /// string. The bytes are the same as `serialize_str` of the whole encoding.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&base64::display::Base64Display::new(&self.0, &STANDARD))
    }
}

impl<'de> Deserialize<'de> for FieldVec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FieldVec, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bytes = STANDARD
            .decode(s.as_bytes())
            .map_err(|e| serde::de::Error::custom(DecodeError::Base64(e.to_string())))?;
        if !bytes.len().is_multiple_of(Fp::BYTES) {
            return Err(serde::de::Error::custom(DecodeError::Length {
                len: bytes.len(),
            }));
        }
        Ok(FieldVec(bytes))
    }
}

impl utoipa::PartialSchema for FieldVec {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .content_encoding("base64")
            .description(Some(
                "Field elements: base64 of concatenated 16-byte little-endian words x·R mod p \
                 (p = 198766463529478683931867765928436695041, R = 2^128)",
            ))
            .into()
    }
}

impl utoipa::ToSchema for FieldVec {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let v: Vec<Fp> = [0i64, 1, -1, 42].iter().map(|&x| Fp::from_i64(x)).collect();
        let fv = FieldVec::from_elements(&v);
        let json = serde_json::to_string(&fv).unwrap();
        let back: FieldVec = serde_json::from_str(&json).unwrap();
        assert_eq!(back.to_elements().unwrap(), v);
        assert_eq!(back.len(), 4);
    }

    #[test]
    fn serializes_as_the_whole_base64_string() {
        for n in [0usize, 1, 2, 3, 1000, 5000] {
            let v: Vec<Fp> = (0..n as i64).map(Fp::from_i64).collect();
            let fv = FieldVec::from_elements(&v);
            let want = serde_json::to_string(&STANDARD.encode(fv.as_bytes())).unwrap();
            assert_eq!(serde_json::to_string(&fv).unwrap(), want, "{n} elements");
        }
    }

    #[test]
    fn refuses_bad_base64_length_and_non_canonical() {
        assert!(serde_json::from_str::<FieldVec>("\"!!!\"").is_err());
        let short = STANDARD.encode([0u8; 15]);
        let err = serde_json::from_str::<FieldVec>(&format!("\"{short}\"")).unwrap_err();
        assert!(err.to_string().contains("16-byte"), "{err}");
        let big = FieldVec::from_bytes(vec![0xff; 16]);
        assert_eq!(
            big.to_elements(),
            Err(DecodeError::NonCanonical { index: 0 })
        );
    }

    #[test]
    fn debug_is_redacted() {
        let fv = FieldVec::from_elements(&[Fp::from_u64(7)]);
        assert_eq!(format!("{fv:?}"), "FieldVec(1 elements, <redacted>)");
    }
}
