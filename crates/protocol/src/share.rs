//! Authenticated additive shares (SPDZ).
//!
//! A secret x is shared among N parties as pairs (x_i, m_i) with Σ x_i = x and Σ m_i = α·x,
//! where α = Σ α_i is the global MAC key and party i holds only α_i. Linear operations act on
//! both components locally:
//! - [x] + [y] = (x_i + y_i, m_i + n_i), and c·[x] = (c·x_i, c·m_i);
//! - a public constant c is added by party 0 to its value share, while *every* party adds α_i·c to
//!   its MAC share, so that Σ m_i' = α·x + α·c = α·(x + c).
//!
//! [`ShareVec`] stores a whole vector struct-of-arrays, so that every operation is one slice kernel.
//! Its `Debug` output never shows a share or a MAC.

use field::{kernels, Fp};
use net::PartyId;

/// A vector of authenticated shares held by one party.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ShareVec {
    pub(crate) v: Vec<Fp>,
    pub(crate) m: Vec<Fp>,
}

impl std::fmt::Debug for ShareVec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShareVec(len={}, <redacted>)", self.v.len())
    }
}

/// What a party needs to apply public constants to its shares: its id and its MAC key share.
#[derive(Clone, Copy)]
pub struct ShareCtx {
    pub(crate) me: PartyId,
    pub(crate) alpha: Fp,
}

impl std::fmt::Debug for ShareCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShareCtx(party={}, alpha=<redacted>)", self.me)
    }
}

impl ShareCtx {
    /// The context of party `me` with MAC key share `alpha`.
    pub fn new(me: PartyId, alpha: Fp) -> ShareCtx {
        ShareCtx { me, alpha }
    }

    /// This party's id.
    pub fn party(&self) -> PartyId {
        self.me
    }

    /// Shares of public constants: party 0 holds c, every party holds α_i·c as MAC share.
    pub fn constant(&self, c: &[Fp]) -> ShareVec {
        let v = if self.me == 0 {
            c.to_vec()
        } else {
            vec![Fp::ZERO; c.len()]
        };
        let m = c.iter().map(|&x| x * self.alpha).collect();
        ShareVec { v, m }
    }

    /// [x] + c, element-wise, for public c.
    pub fn add_public(&self, x: &ShareVec, c: &[Fp]) -> ShareVec {
        let mut out = x.clone();
        self.add_public_assign(&mut out, c);
        out
    }

    /// [x] += c, element-wise, for public c.
    pub fn add_public_assign(&self, x: &mut ShareVec, c: &[Fp]) {
        assert_eq!(x.len(), c.len(), "public vector length mismatch");
        if self.me == 0 {
            kernels::add_assign(&mut x.v, c);
        }
        kernels::add_scaled(&mut x.m, c, self.alpha);
    }

    /// [x] + c for one public constant c added to every element.
    pub fn add_scalar(&self, x: &ShareVec, c: Fp) -> ShareVec {
        let mut out = x.clone();
        if self.me == 0 {
            out.v.iter_mut().for_each(|v| *v += c);
        }
        let mc = c * self.alpha;
        out.m.iter_mut().for_each(|m| *m += mc);
        out
    }

    /// c − [x], element-wise, for public c.
    pub fn public_sub(&self, c: &[Fp], x: &ShareVec) -> ShareVec {
        self.add_public(&x.neg(), c)
    }
}

impl ShareVec {
    /// Builds a vector from raw value and MAC shares. The caller vouches that they are this party's
    /// shares of some authenticated vector (as stored by a secret store or a tuple store).
    pub fn from_parts(values: Vec<Fp>, macs: Vec<Fp>) -> ShareVec {
        assert_eq!(
            values.len(),
            macs.len(),
            "value and MAC share counts differ"
        );
        ShareVec { v: values, m: macs }
    }

    /// An empty vector with room for `n` shares.
    pub fn with_capacity(n: usize) -> ShareVec {
        ShareVec {
            v: Vec::with_capacity(n),
            m: Vec::with_capacity(n),
        }
    }

    /// Shares of zero (a valid sharing for any party).
    pub fn zeros(n: usize) -> ShareVec {
        ShareVec {
            v: vec![Fp::ZERO; n],
            m: vec![Fp::ZERO; n],
        }
    }

    /// Number of shared elements.
    pub fn len(&self) -> usize {
        self.v.len()
    }

    /// True when the vector has no elements.
    pub fn is_empty(&self) -> bool {
        self.v.is_empty()
    }

    /// This party's value shares. They are secret: never log them.
    pub fn value_shares(&self) -> &[Fp] {
        &self.v
    }

    /// This party's MAC shares. They are secret: never log them.
    pub fn mac_shares(&self) -> &[Fp] {
        &self.m
    }

    /// Splits into (value shares, MAC shares).
    pub fn into_parts(self) -> (Vec<Fp>, Vec<Fp>) {
        (self.v, self.m)
    }

    /// [x] + [y].
    pub fn add(&self, y: &ShareVec) -> ShareVec {
        let mut out = self.clone();
        out.add_assign(y);
        out
    }

    /// [x] += [y].
    pub fn add_assign(&mut self, y: &ShareVec) {
        kernels::add_assign(&mut self.v, &y.v);
        kernels::add_assign(&mut self.m, &y.m);
    }

    /// [x] += [y[offset .. offset + len(x)]], without copying the range out of `y`.
    pub fn add_range(&mut self, y: &ShareVec, offset: usize) {
        let n = self.len();
        kernels::add_assign(&mut self.v, &y.v[offset..offset + n]);
        kernels::add_assign(&mut self.m, &y.m[offset..offset + n]);
    }

    /// [x] − [y].
    pub fn sub(&self, y: &ShareVec) -> ShareVec {
        let mut out = self.clone();
        out.sub_assign(y);
        out
    }

    /// [x] −= [y].
    pub fn sub_assign(&mut self, y: &ShareVec) {
        kernels::sub_assign(&mut self.v, &y.v);
        kernels::sub_assign(&mut self.m, &y.m);
    }

    /// −[x].
    pub fn neg(&self) -> ShareVec {
        ShareVec {
            v: self.v.iter().map(|&x| -x).collect(),
            m: self.m.iter().map(|&x| -x).collect(),
        }
    }

    /// c·[x] for one public c.
    pub fn scale(&self, c: Fp) -> ShareVec {
        let mut out = self.clone();
        kernels::scale(&mut out.v, c);
        kernels::scale(&mut out.m, c);
        out
    }

    /// [x] += c·[y] for one public c.
    pub fn add_scaled(&mut self, y: &ShareVec, c: Fp) {
        kernels::add_scaled(&mut self.v, &y.v, c);
        kernels::add_scaled(&mut self.m, &y.m, c);
    }

    /// c_j·[x_j], element-wise, for public c.
    pub fn mul_public(&self, c: &[Fp]) -> ShareVec {
        let mut out = self.clone();
        kernels::mul_assign(&mut out.v, c);
        kernels::mul_assign(&mut out.m, c);
        out
    }

    /// Elements `range` as a new vector.
    pub fn slice(&self, range: std::ops::Range<usize>) -> ShareVec {
        ShareVec {
            v: self.v[range.clone()].to_vec(),
            m: self.m[range].to_vec(),
        }
    }

    /// Appends all elements of `other`.
    pub fn extend(&mut self, other: &ShareVec) {
        self.v.extend_from_slice(&other.v);
        self.m.extend_from_slice(&other.m);
    }

    /// Appends one element of `other`.
    pub fn push_from(&mut self, other: &ShareVec, i: usize) {
        self.v.push(other.v[i]);
        self.m.push(other.m[i]);
    }

    /// Concatenation of several vectors.
    pub fn concat(parts: &[&ShareVec]) -> ShareVec {
        let n = parts.iter().map(|p| p.len()).sum();
        let mut out = ShareVec::with_capacity(n);
        for p in parts {
            out.extend(p);
        }
        out
    }

    /// Σ_j c_j·[x_j]: a public linear combination, as one share.
    pub fn linear_combination(&self, c: &[Fp]) -> ShareVec {
        ShareVec {
            v: vec![kernels::inner_product(&self.v, c)],
            m: vec![kernels::inner_product(&self.m, c)],
        }
    }

    /// Wire/storage form: per element, 16 bytes of value share then 16 bytes of MAC share, both in
    /// the Montgomery little-endian encoding (the format of MP-SPDZ and Carbyne Stack).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 * self.len());
        for (v, m) in self.v.iter().zip(&self.m) {
            out.extend_from_slice(&v.to_mont_bytes());
            out.extend_from_slice(&m.to_mont_bytes());
        }
        out
    }

    /// Parses [`ShareVec::to_bytes`] output.
    pub fn from_bytes(bytes: &[u8]) -> Result<ShareVec, ShareDecodeError> {
        if !bytes.len().is_multiple_of(32) {
            return Err(ShareDecodeError::Length(bytes.len()));
        }
        let all = kernels::decode(bytes).map_err(ShareDecodeError::Element)?;
        let mut out = ShareVec::with_capacity(all.len() / 2);
        for pair in all.chunks_exact(2) {
            out.v.push(pair[0]);
            out.m.push(pair[1]);
        }
        Ok(out)
    }
}

/// Why bytes could not be read as shares.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ShareDecodeError {
    #[error("{0} bytes is not a whole number of shares (32 bytes each: value then MAC)")]
    Length(usize),
    #[error("invalid field element in share data: {0}")]
    Element(field::FieldError),
}
