//! Slice kernels over [`Fp`].
//!
//! Length mismatches between slices are programming errors and panic
//! (`assert_eq!`); malformed *bytes* are data errors and return
//! [`FieldError`].

use crate::encoding::FieldError;
use crate::fp::{add_mod, mont_mul, redc128, reduce_once, Fp};

/// `dst[i] += src[i]`.
pub fn add_assign(dst: &mut [Fp], src: &[Fp]) {
    assert_eq!(dst.len(), src.len(), "add_assign: slice lengths differ");
    for (d, s) in dst.iter_mut().zip(src) {
        *d += *s;
    }
}

/// `dst[i] −= src[i]`.
pub fn sub_assign(dst: &mut [Fp], src: &[Fp]) {
    assert_eq!(dst.len(), src.len(), "sub_assign: slice lengths differ");
    for (d, s) in dst.iter_mut().zip(src) {
        *d -= *s;
    }
}

/// `dst[i] ·= src[i]`.
pub fn mul_assign(dst: &mut [Fp], src: &[Fp]) {
    assert_eq!(dst.len(), src.len(), "mul_assign: slice lengths differ");
    for (d, s) in dst.iter_mut().zip(src) {
        *d *= *s;
    }
}

/// `dst[i] ·= s`.
pub fn scale(dst: &mut [Fp], s: Fp) {
    for d in dst.iter_mut() {
        *d *= s;
    }
}

/// `dst[i] += s·src[i]`.
pub fn add_scaled(dst: &mut [Fp], src: &[Fp], s: Fp) {
    assert_eq!(dst.len(), src.len(), "add_scaled: slice lengths differ");
    for (d, x) in dst.iter_mut().zip(src) {
        *d += s * *x;
    }
}

/// An unreduced sum of 256-bit products of Montgomery forms.
///
/// Each product `a·b` of two 128-bit values is split by 64-bit limbs as
/// `a0·b0 + (a0·b1 + a1·b0)·2^64 + a1·b1·2^128`. Instead of forming that
/// 256-bit number per term, the three columns are summed separately, each in
/// a `u128` with a `u64` count of its carries out of bit 128. Each column
/// update is then one 128-bit add plus a carry increment, with no dependency
/// between the columns, and no reduction at all until the end.
///
/// Correctness needs no bound on the terms beyond `< 2^128`: the counters
/// hold the exact carries (at most two per term, so they cannot overflow a
/// `u64` for any slice that fits in memory).
#[derive(Default, Clone, Copy)]
struct LazyAcc {
    lo: u128,
    lo_c: u64,
    mid: u128,
    mid_c: u64,
    hi: u128,
    hi_c: u64,
}

impl LazyAcc {
    #[inline(always)]
    fn add_product(&mut self, a: u128, b: u128) {
        let (a0, a1) = (a as u64 as u128, (a >> 64) as u64 as u128);
        let (b0, b1) = (b as u64 as u128, (b >> 64) as u64 as u128);
        let (s, c) = self.lo.overflowing_add(a0 * b0);
        self.lo = s;
        self.lo_c += c as u64;
        let (s, c) = self.mid.overflowing_add(a0 * b1);
        self.mid_c += c as u64;
        let (s, c) = s.overflowing_add(a1 * b0);
        self.mid = s;
        self.mid_c += c as u64;
        let (s, c) = self.hi.overflowing_add(a1 * b1);
        self.hi = s;
        self.hi_c += c as u64;
    }

    /// Returns the Montgomery form `REDC(S) = S·R⁻¹ mod p` of the accumulated
    /// sum `S = Σ ãᵢ·b̃ᵢ`, i.e. the element `Σ aᵢ·bᵢ`.
    ///
    /// Reassemble `S = L + H·2^128 + T·2^256` with `L, H < 2^128` and `T` a
    /// small carry count. Then, modulo `p`,
    /// `S·R⁻¹ = REDC(L) + H + T·R`, and each of the three parts is cheap:
    /// `REDC(L)` is a single-width reduction, `H mod p` is one conditional
    /// subtraction (`H < 2^128 < 2p`), and `T·R mod p` is the Montgomery form
    /// of the small integer `T`.
    fn reduce(&self) -> Fp {
        // S = lo + lo_c·2^128 + mid·2^64 + mid_c·2^192 + hi·2^128 + hi_c·2^256.
        let (l, c1) = self.lo.overflowing_add(self.mid << 64);
        let mut t = self.hi_c as u128;
        let (h, c) = self.hi.overflowing_add(self.mid >> 64);
        t += c as u128;
        let (h, c) = h.overflowing_add((self.mid_c as u128) << 64);
        t += c as u128;
        let (h, c) = h.overflowing_add(self.lo_c as u128 + c1 as u128);
        t += c as u128;
        let part_l = redc128(l);
        let part_h = reduce_once(0, h);
        // t < 2^66 < p, so it is a valid input to the Montgomery conversion.
        let part_t = mont_mul(t, crate::fp::R2_MOD_P);
        Fp::from_raw(add_mod(add_mod(part_l, part_h), part_t))
    }
}

/// `Σ a[i]·b[i]`, with lazy reduction.
///
/// The products of the Montgomery forms are accumulated as exact unreduced
/// integers (see `LazyAcc`) and reduced once at the end, so each term costs
/// four 64×64→128-bit multiplications and four 128-bit additions, against ten
/// multiplications, the carry handling and a conditional subtraction for a
/// full Montgomery product. Since `Σ ãᵢ·b̃ᵢ = (Σ aᵢ·bᵢ)·R²`, one final
/// `REDC` yields the Montgomery form of the result.
///
/// A single accumulator (nine registers) is used on purpose: two interleaved
/// accumulators spill to the stack on x86-64 and measured about 17% slower.
/// The three columns already give the CPU independent carry chains.
pub fn inner_product(a: &[Fp], b: &[Fp]) -> Fp {
    assert_eq!(a.len(), b.len(), "inner_product: slice lengths differ");
    let mut acc = LazyAcc::default();
    for (x, y) in a.iter().zip(b) {
        acc.add_product(x.raw(), y.raw());
    }
    acc.reduce()
}

/// Appends the wire encoding of every element (16 bytes each, see
/// [`Fp::to_mont_bytes`]) to `out`.
pub fn encode(src: &[Fp], out: &mut Vec<u8>) {
    out.reserve(src.len() * Fp::BYTES);
    for x in src {
        out.extend_from_slice(&x.to_mont_bytes());
    }
}

/// Decodes a concatenation of 16-byte encodings.
///
/// Fails with [`FieldError::BadLength`] if `bytes.len()` is not a multiple of
/// 16 and with [`FieldError::NonCanonical`] (naming the first bad element) if
/// any group encodes a value `≥ p`.
pub fn decode(bytes: &[u8]) -> Result<Vec<Fp>, FieldError> {
    if !bytes.len().is_multiple_of(Fp::BYTES) {
        return Err(FieldError::BadLength { len: bytes.len() });
    }
    let mut out = vec![Fp::ZERO; bytes.len() / Fp::BYTES];
    decode_into(bytes, &mut out)?;
    Ok(out)
}

/// Decodes exactly `dst.len()` elements from `bytes` into `dst`.
///
/// Fails with [`FieldError::BadLength`] if `bytes.len()` is not a multiple of
/// 16, with [`FieldError::CountMismatch`] if it is not `16·dst.len()` (in both
/// cases `dst` is untouched), and with [`FieldError::NonCanonical`] if some
/// element is `≥ p`; in that case `dst` may have been partly overwritten and
/// should be discarded.
pub fn decode_into(bytes: &[u8], dst: &mut [Fp]) -> Result<(), FieldError> {
    if !bytes.len().is_multiple_of(Fp::BYTES) {
        return Err(FieldError::BadLength { len: bytes.len() });
    }
    if bytes.len() / Fp::BYTES != dst.len() {
        return Err(FieldError::CountMismatch {
            expected: dst.len(),
            actual: bytes.len() / Fp::BYTES,
        });
    }
    for (index, (d, chunk)) in dst
        .iter_mut()
        .zip(bytes.chunks_exact(Fp::BYTES))
        .enumerate()
    {
        let arr: &[u8; 16] = chunk.try_into().expect("chunks_exact yields 16 bytes");
        *d = Fp::from_mont_bytes(arr).map_err(|_| FieldError::NonCanonical { index })?;
    }
    Ok(())
}
