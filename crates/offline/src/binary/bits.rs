//! Authenticated bits as bit-sliced vectors, and the local operations on them.
//!
//! A vector of `len` authenticated bits at one party is its value shares packed 64 to a word
//! (bit j is `(v[j / 64] >> (j % 64)) & 1`, unused high bits zero) and one MAC share per bit in
//! GF(2^128). Over all parties, `⊕_i x_i = x` and `⊕_i m_i = x·Δ` with `Δ = ⊕_i Δ_i`.
//!
//! Linear operations need no communication: XOR of two sharings is XOR of the value words and of
//! the MACs; a public bit vector `f` is added by party 0 to its value shares while every party i
//! adds `f_j·Δ_i` to its MACs; a sharing times a public bit vector `d` is an AND of the value
//! words and a select of the MACs.

use field::Gf128;

/// One party's shares of `len` authenticated bits (see the module docs). `Debug` prints the
/// length only: never a value share or a MAC.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AuthBits {
    len: usize,
    v: Vec<u64>,
    m: Vec<Gf128>,
}

impl std::fmt::Debug for AuthBits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthBits")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Words needed for `len` bits.
#[inline]
pub(crate) fn words(len: usize) -> usize {
    len.div_ceil(64)
}

/// Bit j of a packed vector.
#[inline(always)]
pub(crate) fn get(v: &[u64], j: usize) -> bool {
    (v[j / 64] >> (j % 64)) & 1 == 1
}

/// Clears the unused high bits of the last word.
#[inline]
pub(crate) fn trim(v: &mut [u64], len: usize) {
    if !len.is_multiple_of(64) {
        if let Some(last) = v.last_mut() {
            *last &= (1u64 << (len % 64)) - 1;
        }
    }
}

impl AuthBits {
    /// No bits.
    pub fn new() -> AuthBits {
        AuthBits::default()
    }

    /// From value words and MAC shares: `None` unless `v` has exactly `⌈len/64⌉` words with the
    /// unused high bits zero and `m` has `len` entries.
    pub fn from_parts(len: usize, v: Vec<u64>, m: Vec<Gf128>) -> Option<AuthBits> {
        if v.len() != words(len) || m.len() != len {
            return None;
        }
        let mut t = v.clone();
        trim(&mut t, len);
        if t != v {
            return None;
        }
        Some(AuthBits { len, v, m })
    }

    /// The value words and MAC shares.
    pub fn into_parts(self) -> (usize, Vec<u64>, Vec<Gf128>) {
        (self.len, self.v, self.m)
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there is no bit.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// This party's value share of bit j.
    pub fn bit(&self, j: usize) -> bool {
        get(&self.v, j)
    }

    /// This party's MAC share of bit j.
    pub fn mac(&self, j: usize) -> Gf128 {
        self.m[j]
    }

    /// The value shares, 64 to a word.
    pub fn value_words(&self) -> &[u64] {
        &self.v
    }

    /// The MAC shares.
    pub fn macs(&self) -> &[Gf128] {
        &self.m
    }

    /// Appends one bit share with its MAC share.
    pub fn push(&mut self, bit: bool, mac: Gf128) {
        if self.len.is_multiple_of(64) {
            self.v.push(0);
        }
        *self.v.last_mut().expect("pushed above") |= (bit as u64) << (self.len % 64);
        self.m.push(mac);
        self.len += 1;
    }

    /// Appends all of `other`.
    pub fn append(&mut self, other: &AuthBits) {
        self.append_range(other, 0, other.len);
    }

    /// Bits `start..start + n` as a new vector.
    pub fn slice(&self, range: std::ops::Range<usize>) -> AuthBits {
        assert!(range.start <= range.end && range.end <= self.len);
        let mut out = AuthBits::new();
        out.append_range(self, range.start, range.end - range.start);
        out
    }

    /// Removes and returns the first `n` bits (all of them if there are fewer).
    pub fn split_front(&mut self, n: usize) -> AuthBits {
        let n = n.min(self.len);
        let front = self.slice(0..n);
        *self = self.slice(n..self.len);
        front
    }

    /// Appends bits `start..start + n` of `other`, a word at a time.
    fn append_range(&mut self, other: &AuthBits, start: usize, n: usize) {
        let new_len = self.len + n;
        self.v.resize(words(new_len), 0);
        let mut j = 0;
        while j < n {
            // Up to 64 bits from `other` at `start + j`, landing at `self.len + j`.
            let src = start + j;
            let take = (n - j).min(64);
            let (w, s) = (src / 64, src % 64);
            let mut x = other.v[w] >> s;
            if s != 0 && w + 1 < other.v.len() {
                x |= other.v[w + 1] << (64 - s);
            }
            if take < 64 {
                x &= (1u64 << take) - 1;
            }
            let dst = self.len + j;
            let (dw, ds) = (dst / 64, dst % 64);
            self.v[dw] |= x << ds;
            if ds != 0 && dw + 1 < self.v.len() {
                self.v[dw + 1] |= x >> (64 - ds);
            }
            j += take;
        }
        self.m.extend_from_slice(&other.m[start..start + n]);
        self.len = new_len;
        trim(&mut self.v, new_len);
    }

    /// From packed value shares and MACs, trimming the value words to `len`.
    pub(crate) fn from_raw(len: usize, mut v: Vec<u64>, m: Vec<Gf128>) -> AuthBits {
        v.resize(words(len), 0);
        trim(&mut v, len);
        debug_assert_eq!(m.len(), len);
        AuthBits { len, v, m }
    }

    /// `self ⊕= other` (same length).
    pub(crate) fn xor_assign(&mut self, other: &AuthBits) {
        debug_assert_eq!(self.len, other.len);
        for (a, b) in self.v.iter_mut().zip(&other.v) {
            *a ^= b;
        }
        for (a, b) in self.m.iter_mut().zip(&other.m) {
            *a += *b;
        }
    }

    /// `self ⊕ other`.
    pub(crate) fn xor(&self, other: &AuthBits) -> AuthBits {
        let mut out = self.clone();
        out.xor_assign(other);
        out
    }

    /// `self ⊕= d ∧ other` for a public bit vector `d` (packed, at least `len` bits).
    pub(crate) fn xor_and_public(&mut self, d: &[u64], other: &AuthBits) {
        debug_assert_eq!(self.len, other.len);
        for ((a, b), w) in self.v.iter_mut().zip(&other.v).zip(d) {
            *a ^= b & w;
        }
        for (j, (a, b)) in self.m.iter_mut().zip(&other.m).enumerate() {
            *a += b.select(get(d, j));
        }
    }

    /// Adds the public bit vector `f` (packed, at least `len` bits): party 0 XORs it into its
    /// value shares, every party adds `f_j·Δ_i` to its MACs.
    pub(crate) fn add_public(&mut self, f: &[u64], party_zero: bool, delta: Gf128) {
        if party_zero {
            for (a, w) in self.v.iter_mut().zip(f) {
                *a ^= w;
            }
            trim(&mut self.v, self.len);
        }
        for (j, a) in self.m.iter_mut().enumerate() {
            *a += delta.select(get(f, j));
        }
    }

    /// Test-only: flips this party's value share of bit j.
    #[cfg(test)]
    pub(crate) fn flip(&mut self, j: usize) {
        self.v[j / 64] ^= 1 << (j % 64);
    }

    /// Test-only: changes this party's MAC share of bit j.
    #[cfg(test)]
    pub(crate) fn mac_mut(&mut self, j: usize) -> &mut Gf128 {
        &mut self.m[j]
    }
}

/// Shares of `len` binary multiplication triples: `c = a ∧ b` bit by bit, each authenticated.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct BinaryTriples {
    pub a: AuthBits,
    pub b: AuthBits,
    pub c: AuthBits,
}

impl std::fmt::Debug for BinaryTriples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinaryTriples")
            .field("len", &self.a.len())
            .finish_non_exhaustive()
    }
}

impl BinaryTriples {
    /// Number of triples.
    pub fn len(&self) -> usize {
        self.a.len()
    }

    /// True when there is no triple.
    pub fn is_empty(&self) -> bool {
        self.a.is_empty()
    }

    /// Triples `range` as new vectors (panics if out of range).
    pub fn slice(&self, range: std::ops::Range<usize>) -> BinaryTriples {
        BinaryTriples {
            a: self.a.slice(range.clone()),
            b: self.b.slice(range.clone()),
            c: self.c.slice(range),
        }
    }

    /// Removes and returns the first `n` triples (all of them if there are fewer). Copies the
    /// remaining triples: for many small takes from one vector, keep a cursor and use
    /// [`BinaryTriples::slice`].
    pub fn split_front(&mut self, n: usize) -> BinaryTriples {
        BinaryTriples {
            a: self.a.split_front(n),
            b: self.b.split_front(n),
            c: self.c.split_front(n),
        }
    }

    /// Appends all of `other`.
    pub fn append(&mut self, other: &BinaryTriples) {
        self.a.append(&other.a);
        self.b.append(&other.b);
        self.c.append(&other.c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(len: usize, seed: u64) -> AuthBits {
        let mut b = AuthBits::new();
        for j in 0..len {
            let x = (j as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seed;
            b.push(x.count_ones() % 2 == 1, Gf128(x as u128 * 3));
        }
        b
    }

    #[test]
    fn slices_and_appends_keep_bits_and_macs_together() {
        let x = sample(300, 5);
        for (s, e) in [(0, 0), (0, 300), (3, 67), (64, 128), (63, 299), (100, 101)] {
            let y = x.slice(s..e);
            assert_eq!(y.len(), e - s);
            for j in 0..y.len() {
                assert_eq!(y.bit(j), x.bit(s + j));
                assert_eq!(y.mac(j), x.mac(s + j));
            }
            let mut z = x.slice(0..s);
            z.append(&y);
            z.append(&x.slice(e..300));
            assert_eq!(z, x);
        }
        let mut y = x.clone();
        let front = y.split_front(70);
        assert_eq!(front, x.slice(0..70));
        assert_eq!(y, x.slice(70..300));
        let (len, v, m) = x.clone().into_parts();
        assert_eq!(AuthBits::from_parts(len, v.clone(), m.clone()), Some(x));
        let mut bad = v;
        *bad.last_mut().unwrap() |= 1 << 63;
        assert_eq!(AuthBits::from_parts(len, bad, m), None);
    }

    #[test]
    fn debug_prints_no_share() {
        let x = sample(10, 1);
        let s = format!(
            "{x:?} {:?}",
            BinaryTriples {
                a: x.clone(),
                b: x.clone(),
                c: x.clone()
            }
        );
        assert!(s.contains("len: 10"), "{s}");
        assert!(!s.contains("v:") && !s.contains("m:"), "{s}");
    }
}
