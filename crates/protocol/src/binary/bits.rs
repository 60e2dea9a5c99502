//! Authenticated binary shares ([`BitShares`]) and their local operations ([`BitCtx`]).
//!
//! A bit x is shared as (x_i, m_i) with ⊕_i x_i = x and ⊕_i m_i = x·Δ over GF(2^128), where
//! Δ = ⊕_i Δ_i is the global binary MAC key (party i holds Δ_i only; Δ is independent of the prime
//! field's α). Every local operation is GF(2)-linear on both components:
//! - [x] ⊕ [y] = (x_i ⊕ y_i, m_i + n_i);
//! - c∧[x] for a public bit c: (c·x_i, m_i if c else 0), i.e. `m_i.select(c)`;
//! - [x] ⊕ c for a public bit c: party 0 XORs c into its value share, **every** party adds
//!   `Δ_i.select(c)` to its MAC share, so that ⊕ m_i' = x·Δ + c·Δ = (x ⊕ c)·Δ.
//!
//! **Invariant (layout):** bit j of a vector of `len` bits is `(v[j / 64] >> (j % 64)) & 1`, the
//! unused high bits of the last word are zero, and `m[j]` is the MAC share of bit j. Every
//! constructor and operation keeps the padding zero, so packed words can be compared, hashed and
//! sent as they are.
//!
//! Vectors of m-bit integers over n elements are stored *bit-major*: bit i of element j is at
//! index i·n + j, so that `slice(i·n..(i+1)·n)` is bit i of every element.

use field::Gf128;
use net::PartyId;

/// A vector of authenticated bits held by one party. `Debug` never shows a value or a MAC.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct BitShares {
    pub(crate) len: usize,
    pub(crate) v: Vec<u64>,
    pub(crate) m: Vec<Gf128>,
}

impl std::fmt::Debug for BitShares {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BitShares(len={}, <redacted>)", self.len)
    }
}

/// Number of 64-bit words holding `len` bits.
pub fn words_for(len: usize) -> usize {
    len.div_ceil(64)
}

/// Packs bits, least significant first, into words (unused high bits zero).
pub fn pack_bits(bits: impl IntoIterator<Item = bool>) -> Vec<u64> {
    let mut out = Vec::new();
    let (mut w, mut k) = (0u64, 0);
    for b in bits {
        w |= (b as u64) << k;
        k += 1;
        if k == 64 {
            out.push(w);
            (w, k) = (0, 0);
        }
    }
    if k > 0 {
        out.push(w);
    }
    out
}

/// The first `len` bits of packed words.
pub fn unpack_bits(words: &[u64], len: usize) -> Vec<bool> {
    (0..len).map(|j| get_bit(words, j)).collect()
}

#[inline]
pub(crate) fn get_bit(words: &[u64], j: usize) -> bool {
    (words[j / 64] >> (j % 64)) & 1 == 1
}

/// Clears the unused high bits of the last word.
#[inline]
pub(crate) fn clear_padding(words: &mut [u64], len: usize) {
    if !len.is_multiple_of(64) {
        if let Some(last) = words.last_mut() {
            *last &= (1u64 << (len % 64)) - 1;
        }
    }
}

/// Bits `pos .. pos + take` of `src` (take ≤ 64), as the low bits of a word.
#[inline]
fn read_word(src: &[u64], pos: usize, take: usize) -> u64 {
    let (i, sh) = (pos / 64, pos % 64);
    let mut w = src[i] >> sh;
    if sh > 0 && i + 1 < src.len() {
        w |= src[i + 1] << (64 - sh);
    }
    if take < 64 {
        w &= (1u64 << take) - 1;
    }
    w
}

/// ORs the low `take` bits of `w` into `dst` at bit `pos` (the target bits must be zero).
#[inline]
fn or_word(dst: &mut [u64], pos: usize, w: u64, take: usize) {
    let (i, sh) = (pos / 64, pos % 64);
    dst[i] |= w << sh;
    if sh > 0 && sh + take > 64 {
        dst[i + 1] |= w >> (64 - sh);
    }
}

/// Appends `n` bits of `src` starting at bit `from` to `dst`, which holds `dst_len` bits with
/// zero padding. Word by word, at any alignment.
pub(crate) fn append_bits(dst: &mut Vec<u64>, dst_len: usize, src: &[u64], from: usize, n: usize) {
    debug_assert_eq!(dst.len(), words_for(dst_len));
    dst.resize(words_for(dst_len + n), 0);
    let mut k = 0;
    while k < n {
        let take = (n - k).min(64);
        let w = read_word(src, from + k, take);
        or_word(dst, dst_len + k, w, take);
        k += take;
    }
}

/// What a party needs for binary operations with public bits: its id and its binary MAC key
/// share Δ_i.
#[derive(Clone, Copy)]
pub struct BitCtx {
    pub(crate) me: PartyId,
    pub(crate) delta: Gf128,
}

impl std::fmt::Debug for BitCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BitCtx(party={}, delta=<redacted>)", self.me)
    }
}

impl BitCtx {
    /// The context of party `me` with binary MAC key share `delta`.
    pub fn new(me: PartyId, delta: Gf128) -> BitCtx {
        BitCtx { me, delta }
    }

    /// This party's id.
    pub fn party(&self) -> PartyId {
        self.me
    }

    /// Shares of the public bits `c` (packed, `len` of them).
    pub fn constant(&self, c: &[u64], len: usize) -> BitShares {
        self.xor_public(&BitShares::zeros(len), c)
    }

    /// [x] ⊕ c, element-wise, for public packed bits c.
    pub fn xor_public(&self, x: &BitShares, c: &[u64]) -> BitShares {
        let mut out = x.clone();
        self.xor_public_assign(&mut out, c);
        out
    }

    /// [x] ⊕= c, element-wise, for public packed bits c (of at least `x.len()` bits; extra bits
    /// are ignored).
    pub fn xor_public_assign(&self, x: &mut BitShares, c: &[u64]) {
        assert!(c.len() >= x.v.len(), "public bit vector too short");
        let nw = x.v.len();
        if self.me == 0 {
            x.v.iter_mut().zip(c).for_each(|(v, &w)| *v ^= w);
            clear_padding(&mut x.v[..nw], x.len);
        }
        for (j, m) in x.m.iter_mut().enumerate() {
            *m += self.delta.select(get_bit(c, j));
        }
    }

    /// ⊕_t c_t∧[x_t] ⊕ k, element-wise, over `n` bits: a GF(2)-linear combination of
    /// authenticated vectors with public packed coefficient bits c_t, plus public bits k. Each
    /// term is (packed values of x_t, MAC shares of x_t, c_t), all covering at least `n` bits.
    /// One pass per word, no intermediate vectors (the leaves of the comparison trees).
    pub(crate) fn combine(
        &self,
        n: usize,
        terms: &[(&[u64], &[Gf128], &[u64])],
        konst: Option<&[u64]>,
    ) -> BitShares {
        let nw = words_for(n);
        let mut v = Vec::with_capacity(nw);
        let mut m = Vec::with_capacity(n);
        for w in 0..nw {
            let mut acc = 0u64;
            for (tv, _, tc) in terms {
                acc ^= tv[w] & tc[w];
            }
            let kw = konst.map_or(0, |k| k[w]);
            if self.me == 0 {
                acc ^= kw;
            }
            v.push(acc);
            let lo = w * 64;
            for j in lo..(lo + 64).min(n) {
                let k = j - lo;
                let mut s = self.delta.select((kw >> k) & 1 == 1);
                for (_, tm, tc) in terms {
                    s += tm[j].select((tc[w] >> k) & 1 == 1);
                }
                m.push(s);
            }
        }
        clear_padding(&mut v, n);
        BitShares { len: n, v, m }
    }

    /// ¬[x]: [x] ⊕ 1 for every bit.
    pub fn not(&self, x: &BitShares) -> BitShares {
        self.xor_public(x, &vec![u64::MAX; x.v.len()])
    }

    /// [x] ⊕ b for one public bit b applied to every element.
    pub fn xor_scalar(&self, x: &BitShares, b: bool) -> BitShares {
        if b {
            self.not(x)
        } else {
            x.clone()
        }
    }
}

impl BitShares {
    /// Shares of `len` zero bits (a valid sharing for any party).
    pub fn zeros(len: usize) -> BitShares {
        BitShares {
            len,
            v: vec![0; words_for(len)],
            m: vec![Gf128::ZERO; len],
        }
    }

    /// Builds a vector from raw packed value shares and MAC shares. The caller vouches that they
    /// are this party's shares of some authenticated bit vector. Refuses inconsistent lengths and
    /// non-zero padding.
    pub fn from_parts(len: usize, values: Vec<u64>, macs: Vec<Gf128>) -> Option<BitShares> {
        if values.len() != words_for(len) || macs.len() != len {
            return None;
        }
        let mut check = values.clone();
        clear_padding(&mut check, len);
        if check != values {
            return None;
        }
        Some(BitShares {
            len,
            v: values,
            m: macs,
        })
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the vector has no bits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// This party's packed value shares. They are secret: never log them.
    pub fn value_words(&self) -> &[u64] {
        &self.v
    }

    /// This party's MAC shares. They are secret: never log them.
    pub fn mac_shares(&self) -> &[Gf128] {
        &self.m
    }

    /// This party's value share of bit `j`. Secret: never log it.
    pub fn value_bit(&self, j: usize) -> bool {
        assert!(j < self.len, "bit {j} out of range for {} bits", self.len);
        get_bit(&self.v, j)
    }

    /// [x] ⊕ [y].
    pub fn xor(&self, y: &BitShares) -> BitShares {
        let mut out = self.clone();
        out.xor_assign(y);
        out
    }

    /// [x] ⊕= [y].
    pub fn xor_assign(&mut self, y: &BitShares) {
        assert_eq!(self.len, y.len, "XOR of bit vectors of different lengths");
        self.v.iter_mut().zip(&y.v).for_each(|(a, &b)| *a ^= b);
        self.m.iter_mut().zip(&y.m).for_each(|(a, &b)| *a += b);
    }

    /// [x] ⊕= bits `from .. from + len` of `y` (without copying them out first).
    pub fn xor_assign_from(&mut self, y: &BitShares, from: usize) {
        assert!(from + self.len <= y.len, "bit range out of bounds");
        let mut k = 0;
        for w in self.v.iter_mut() {
            let take = (self.len - k).min(64);
            *w ^= read_word(&y.v, from + k, take);
            k += take;
        }
        self.m
            .iter_mut()
            .zip(&y.m[from..from + self.len])
            .for_each(|(a, &b)| *a += b);
    }

    /// c_j ∧ [x_j], element-wise, for public packed bits c.
    pub fn and_public(&self, c: &[u64]) -> BitShares {
        assert!(c.len() >= self.v.len(), "public bit vector too short");
        let mut v: Vec<u64> = self.v.iter().zip(c).map(|(&a, &b)| a & b).collect();
        clear_padding(&mut v, self.len);
        let m = self
            .m
            .iter()
            .enumerate()
            .map(|(j, m)| m.select(get_bit(c, j)))
            .collect();
        BitShares {
            len: self.len,
            v,
            m,
        }
    }

    /// Bits `range` as a new vector.
    pub fn slice(&self, range: std::ops::Range<usize>) -> BitShares {
        assert!(
            range.start <= range.end && range.end <= self.len,
            "bit range out of bounds"
        );
        let n = range.end - range.start;
        let mut v = Vec::with_capacity(words_for(n));
        append_bits(&mut v, 0, &self.v, range.start, n);
        BitShares {
            len: n,
            v,
            m: self.m[range].to_vec(),
        }
    }

    /// Appends all bits of `other`.
    pub fn extend(&mut self, other: &BitShares) {
        append_bits(&mut self.v, self.len, &other.v, 0, other.len);
        self.m.extend_from_slice(&other.m);
        self.len += other.len;
    }

    /// Concatenation of several vectors.
    pub fn concat(parts: &[&BitShares]) -> BitShares {
        let mut out = BitShares::default();
        for p in parts {
            out.extend(p);
        }
        out
    }

    /// Splits into consecutive vectors of the given lengths (which must sum to `len`).
    pub fn split(&self, lens: &[usize]) -> Vec<BitShares> {
        assert_eq!(lens.iter().sum::<usize>(), self.len, "split lengths");
        let mut off = 0;
        lens.iter()
            .map(|&l| {
                let s = self.slice(off..off + l);
                off += l;
                s
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(len: usize, seed: u64) -> BitShares {
        let bits: Vec<bool> = (0..len)
            .map(|j| (seed.wrapping_mul(j as u64 + 7) >> 5) & 1 == 1)
            .collect();
        let m = (0..len)
            .map(|j| Gf128((seed as u128) << 64 | j as u128))
            .collect();
        BitShares::from_parts(len, pack_bits(bits), m).unwrap()
    }

    #[test]
    fn slice_extend_and_split_round_trip_at_any_offset() {
        let x = sample(200, 0x9e37_79b9);
        for cut in [0, 1, 63, 64, 65, 128, 199, 200] {
            let (a, b) = (x.slice(0..cut), x.slice(cut..200));
            assert_eq!(BitShares::concat(&[&a, &b]), x, "cut at {cut}");
            assert_eq!(x.split(&[cut, 200 - cut]), vec![a, b]);
        }
        for start in 0..130 {
            for len in [0, 1, 63, 64, 65, 70] {
                let s = x.slice(start..start + len);
                assert_eq!(s.v.len(), words_for(len));
                for j in 0..len {
                    assert_eq!(s.value_bit(j), x.value_bit(start + j), "{start}+{j}");
                }
                let mut check = s.v.clone();
                clear_padding(&mut check, len);
                assert_eq!(check, s.v, "padding of slice {start}..+{len}");
                let mut joined = x.slice(0..start);
                joined.extend(&s);
                assert_eq!(joined, x.slice(0..start + len));
            }
        }
        let mid = x.slice(3..70);
        for j in 0..67 {
            assert_eq!(mid.value_bit(j), x.value_bit(j + 3));
            assert_eq!(mid.m[j], x.m[j + 3]);
        }
    }

    #[test]
    fn padding_stays_zero() {
        let x = sample(70, 12345);
        let ctx = BitCtx::new(0, Gf128(3));
        let y = ctx.not(&x);
        assert_eq!(y.v[1] >> 6, 0);
        assert_eq!(y.and_public(&[u64::MAX, u64::MAX]).v[1] >> 6, 0);
        assert!(BitShares::from_parts(70, vec![0, 1 << 6], vec![Gf128::ZERO; 70]).is_none());
        assert!(BitShares::from_parts(70, vec![0], vec![Gf128::ZERO; 70]).is_none());
    }

    #[test]
    fn public_operations_keep_the_mac_relation() {
        // Two parties' shares of bits x with a global Δ; check ⊕ m = x·Δ after ⊕ c and ∧ c.
        let (d0, d1) = (Gf128(0x1234_5678), Gf128(0x9abc_def0_1111));
        let delta = d0 + d1;
        let x: Vec<bool> = (0..100).map(|j| j % 3 == 0).collect();
        let s1 = sample(100, 77);
        let v0: Vec<bool> = (0..100).map(|j| x[j] ^ s1.value_bit(j)).collect();
        let m0: Vec<Gf128> = (0..100).map(|j| delta.select(x[j]) + s1.m[j]).collect();
        let s0 = BitShares::from_parts(100, pack_bits(v0), m0).unwrap();
        let c = pack_bits((0..100).map(|j| j % 5 == 1));
        let (c0, c1) = (BitCtx::new(0, d0), BitCtx::new(1, d1));
        for (a, b, f) in [
            (
                c0.xor_public(&s0, &c),
                c1.xor_public(&s1, &c),
                (|x: bool, c: bool| x ^ c) as fn(bool, bool) -> bool,
            ),
            (s0.and_public(&c), s1.and_public(&c), |x, c| x & c),
        ] {
            for (j, &xj) in x.iter().enumerate() {
                let want = f(xj, get_bit(&c, j));
                assert_eq!(a.value_bit(j) ^ b.value_bit(j), want);
                assert_eq!(a.m[j] + b.m[j], delta.select(want));
            }
        }
    }

    #[test]
    fn debug_output_is_redacted() {
        let x = sample(10, 5);
        assert_eq!(format!("{x:?}"), "BitShares(len=10, <redacted>)");
        let ctx = BitCtx::new(1, Gf128(99));
        assert!(!format!("{ctx:?}").contains("99"));
    }

    #[test]
    fn combine_and_xor_from_agree_with_the_elementwise_operations() {
        let ctx = BitCtx::new(0, Gf128(0xabc));
        let ctx1 = BitCtx::new(1, Gf128(0xdef));
        let (x, y, big) = (sample(130, 3), sample(130, 11), sample(300, 19));
        let c1 = pack_bits((0..130).map(|j| j % 3 == 0));
        let c2 = pack_bits((0..130).map(|j| j % 7 < 3));
        let k = pack_bits((0..130).map(|j| j % 5 == 2));
        for ctx in [ctx, ctx1] {
            let mut want = x.and_public(&c1);
            want.xor_assign(&y.and_public(&c2));
            ctx.xor_public_assign(&mut want, &k);
            let got = ctx.combine(130, &[(&x.v, &x.m, &c1), (&y.v, &y.m, &c2)], Some(&k));
            assert_eq!(got, want);
            let plain = ctx.combine(130, &[(&x.v, &x.m, &c1)], None);
            assert_eq!(plain, x.and_public(&c1));
        }
        for from in [0, 1, 63, 64, 100, 170] {
            let mut a = x.clone();
            a.xor_assign_from(&big, from);
            assert_eq!(a, x.xor(&big.slice(from..from + 130)), "from {from}");
        }
        assert_eq!(pack_bits([true; 64]), vec![u64::MAX]);
        assert_eq!(pack_bits((0..65).map(|j| j == 64)), vec![0, 1]);
        assert!(pack_bits([]).is_empty());
    }
}
