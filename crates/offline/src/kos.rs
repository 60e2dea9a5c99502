//! Actively secure OT extension: **SoftSpokenOT** (Lawrence Roy, "SoftSpokenOT: Quieter OT
//! Extension from Small-Field Silent VOLE in the Minicrypt Model", CRYPTO 2022, ePrint 2022/192)
//! with the repetition code, checked with the correlation check of KOS15 (Keller, Orsini, Scholl,
//! "Actively Secure OT Extension with Optimal Overhead", CRYPTO 2015, ePrint 2015/546). It yields
//! the same Δ-OT rows `q_j = t_j ⊕ x_j·Δ` as IKNP/KOS did before, for κ/k instead of κ bits of
//! `u` per OT (the module keeps its name: the check and the correlation are KOS15's).
//!
//! One instance per ordered pair (receiver R, sender S), set up once from κ = 128 base OTs in
//! which S is the base-OT *receiver* with secret choice bits Δ ∈ {0,1}^κ and R holds both keys
//! `(k⁰_b, k¹_b)` of every base OT b. The base OTs are grouped into κ/k *chunks* of k = [`K`]
//! (base OTs `ik … ik + k − 1` form chunk i); `α_i ∈ {0,1}^k` are the bits of Δ in chunk i, bit l
//! of α_i being Δ_{ik+l}.
//!
//! # Setup: a punctured PRF per chunk (one round, R → S)
//!
//! R builds a GGM tree of depth k per chunk. Nodes of level l are labelled by l-bit strings y
//! (bit j of y is the branch taken at level j + 1); `G₂(s) = (AES_s(0), AES_s(1))` expands a node
//! into its children `y‖0`, `y‖1`.
//! - Level 1 is the first base OT of the chunk itself: node `v` is `k^{1⊕v}_{ik}`.
//! - Level l + 1 (1 ≤ l < k): R sends `M⁰ = ⊕_y node(y‖0) ⊕ k¹_{ik+l}` and
//!   `M¹ = ⊕_y node(y‖1) ⊕ k⁰_{ik+l}` (the sums of all left and of all right children, each
//!   padded with one key of the level's base OT).
//!
//! S holds `k^{α_{i,l}}_{ik+l}` of every level. At level 1 it knows node `¬α_{i,0}`; at level l + 1
//! it knows every node of level l except its path node `α_i mod 2^l`, expands them, and unpads
//! `M^{¬α_{i,l}}` (padded with the key it holds) to get the one missing child off its path. It ends
//! with every leaf `s_x` (x ∈ {0,1}^k) except `s_{α_i}`, whose ancestors' siblings are all it
//! saw: the leaf is pseudorandom to S (GGM), and so is everything derived from it below.
//!
//! *Proof of consistency.* With the level messages R sends, per chunk, `σ_i = ⊕_x h(i, x, s_x)`,
//! and once `D = H(h(0, ·, ·) ‖ … ‖ h(κ/k − 1, ·, ·))` over all leaf hashes in order (`h`, `H`:
//! BLAKE3 in key-derivation mode with the instance id, 256-bit outputs). S computes `h` of its
//! leaves, recovers `h(i, α_i, ·) = σ_i ⊕ ⊕_{x≠α_i} h(i, x, s_x)` and checks `D`; on a mismatch it
//! aborts ([`crate::OfflineError::OtCheckFailed`]). This makes the leaves S derives, whatever
//! R sent, those of *one* leaf vector for every Δ that passes (below).
//!
//! S's leaves are indexed by `y = x ⊕ α_i` from then on (relabelled once, without a branch or
//! an index on Δ), so that its extension work does not touch memory at secret positions.
//!
//! # Extend `m` OTs
//!
//! `m` is a multiple of 128; R's choice bits `x ∈ {0,1}^m` are padded with `EXTRA = 256 ≥ κ + s`
//! uniformly random bits to `m' = m + EXTRA`. The leaves are expanded by the PRG `G` (AES-128 in
//! counter mode under the leaf as key, [`crate::prg::Prg`]); the streams continue from batch to
//! batch, so the base OTs and the puncturing are never rerun. Per chunk i:
//! - R: `u_i = ⊕_x G(s_x)`, column `ik + l`: `t = ⊕_{x: x_l = 1} G(s_x)`; R sends `c_i = u_i ⊕ x`.
//! - S: column `ik + l`: `q = ⊕_{y ≠ 0: y_l = 1} G(s_{y⊕α_i}) ⊕ α_{i,l}·c_i`. Since
//!   `(α ⊕ x)_l = α_l ⊕ x_l` and the missing term (y = 0) has coefficient 0,
//!   `q = α_{i,l}·u_i ⊕ t ⊕ α_{i,l}·(u_i ⊕ x) = t ⊕ α_{i,l}·x`.
//! - Transposing the κ × m' matrices gives rows with `q_j = t_j ⊕ x_j·Δ` (j < m'), one 128-bit
//!   block per OT ([`cryprot_core::transpose::transpose_bitmatrix`]), exactly IKNP's correlation.
//!
//! Both ends fold the 2^k streams of a chunk in a binary-counter order (each carry XORs a pair of
//! partial sums), about 2·2^k row XORs per chunk instead of k·2^(k−1), and work in column chunks
//! of [`CHUNK`] OTs so that the matrix (128 KiB) and the streams stay in cache. On the wire `c` is
//! chunk after chunk of OTs, each holding the κ/k columns `c_i` of its OTs.
//!
//! # Check
//!
//! After `c` is fixed, with challenges `χ_j ∈ GF(2^128)` from a coin that R could not predict
//! when it sent `c`: R sends `x̃ = Σ_j x_j·χ_j` and `t̃ = Σ_j t_j·χ_j`; S accepts iff
//! `Σ_j q_j·χ_j = t̃ + x̃·Δ`. Products are accumulated unreduced (carry-less) and reduced once.
//!
//! # Output
//!
//! First m rows only: S holds `H(j, q_j)` and `H(j, q_j ⊕ Δ)`, R holds `H(j, t_j) =
//! H(j, q_j ⊕ x_j·Δ)`, with the hashes of [`crate::prg`]; the index j counts OTs over the life of
//! the instance, so tweaks never repeat.
//!
//! # Security against a malicious receiver R
//!
//! R can deviate in the puncturing (level messages, σ, D) and in `c`; everything else it sends is
//! the check response.
//! - *Puncturing.* For each value of α_i, the level messages determine the leaves S derives. If
//!   two values Δ ≠ Δ' both pass the proof, the leaf-hash vectors S reconstructs agree (else `H`
//!   has a collision), so for every x the leaf S uses under Δ and under Δ' has the same hash
//!   (else `h` has a collision): all passing Δ see the leaves of one vector s*, which a simulator
//!   reads off by evaluating S's side for every α_i (it plays the base OTs, so it knows both
//!   keys). R's only freedom is thus to choose s* (it may as well have been honest with seeds s*)
//!   and to make S abort for the Δ outside some set A: a *selective abort* on Δ, at setup.
//!   (Leaf `s*_{α_i}` itself never enters S's output: its coefficient is `(α ⊕ α)_l = 0`.) This
//!   is the role of the malicious-security PPRF "proof" of Roy's paper; the argument above is
//!   ours and relies on `h`, `H` being collision resistant (BLAKE3, 256 bits). Without the proof,
//!   a wrong level message would give S leaves that depend on Δ in a non-affine way, outside the
//!   check's analysis (a unit test shows such a message is now caught at setup, and that a
//!   message S never reads changes nothing).
//! - *`c`.* Given s*, `x^{(i)} := c_i ⊕ ⊕_x G(s*_x)` is the choice vector R effectively used in
//!   chunk i, and S's rows are `q_j = t_j ⊕ ⊕_i x^{(i)}_j·Δ|_i` (Δ|_i: Δ with the bits outside
//!   chunk i zeroed). Different `x^{(i)}` per chunk is the "wrong correlation" attack of KOS15 with
//!   columns tied in groups of k; honest choices are the same vector in every chunk (the
//!   repetition code). The check catches it except by guessing: Roy's analysis of this
//!   consistency check for subspace VOLE (ePrint 2022/192, malicious-security section; it also
//!   closes the gap in KOS15's original proof, as the revised ePrint 2015/546 says) shows that
//!   passing it reveals at most which of a set of candidate Δ holds, i.e. again a selective
//!   abort, and that with `EXTRA ≥ κ + s` random rows `x̃, t̃` reveal nothing about the real
//!   choice bits.
//!
//! Both leakages are aborts on a set of Δ values: passing with a set A of remaining candidates
//! happens with probability |A|/2^κ, after which guessing Δ succeeds with probability 1/|A| per
//! guess, so an attack that learns Δ (and with it both OT messages) succeeds with probability
//! at most q/2^κ for q guesses — κ = 128 bits, as with IKNP/KOS.
//!
//! *Against a malicious sender S*: S sees the level messages (its own half are GGM siblings, the
//! other half are padded with keys it lacks), σ_i and D (hashes of leaves, including one of the
//! punctured leaf, random-oracle outputs), and `c_i = u_i ⊕ x`, where `u_i` includes `G(s_{α_i})`
//! and is pseudorandom to S; R's check response is as in KOS15 (hidden by the EXTRA rows).
//!
//! # Cost
//!
//! Per OT: κ/k bits of `c` (32 for k = 4; IKNP/KOS sent κ = 128), plus per batch the EXTRA rows
//! (`κ/k · 256` bits), the check response (256 bits) and the check's coin; the same rounds as
//! before per batch. Setup: the κ base OTs as before, plus one round in which R sends
//! [`PUNCTURE_BYTES`] (κ/k · (2(k − 1)·128 + 256) + 256 bits: 4 128 bytes for k = 4).
//! Computation per OT: R expands 2^k·κ/k bits of AES-CTR (4 AES blocks per OT for k = 4, against
//! 2 for IKNP), S (2^k − 1)·κ/k bits (3.75 blocks, against 1), plus about 2^(k+1)·κ/k bits of XOR.
//!
//! # Choice of k
//!
//! Bytes fall like 1/k and AES work grows like 2^k/k: k = 2 keeps IKNP's AES work at R (64 bits
//! of `c`), k = 4 halves the bytes again for twice the AES work, k = 8 would send 16 bits for 16×
//! IKNP's AES work (R: 16 blocks per OT) and 4 096 AES key schedules per instance and direction.
//! We measured k = 2, 4 and 8 (docs/PROTOCOL.md, "OT extension") and use [`K`] = 4.

use cryprot_core::transpose::transpose_bitmatrix;
use cryprot_core::Block;
use net::{Network, PartyId};
use rand_core::RngCore;
use subtle::ConstantTimeEq;

use crate::baseot::Key;
use crate::error::{OfflineError, Result};
use crate::prg::Prg;
use crate::wire::{kind, Out, Transcript};

/// Base OTs per instance (the computational security parameter κ).
pub(crate) const KAPPA: usize = 128;
/// Base OTs per PPRF chunk (SoftSpokenOT's k): a tree of 2^K leaves per chunk, κ/K bits of `c`
/// per OT. Must divide κ. See the module docs for why 4.
pub(crate) const K: usize = 4;
/// PPRF chunks per instance, i.e. columns of `c`.
pub(crate) const CHUNKS: usize = KAPPA / K;
/// Extra random OTs per extension, sacrificed by the check (≥ κ + s).
pub(crate) const EXTRA: usize = 256;

/// OTs per chunk of an extension: both ends expand, send and transpose the κ × m' matrices in
/// column chunks of this many OTs (a 128 KiB matrix), which keeps them in cache. On the wire `c`
/// is chunk after chunk, each holding the κ/k columns' bits of its OTs.
pub(crate) const CHUNK: usize = 8192;

/// Bytes of the `c` matrix for `m` OTs.
pub(crate) fn u_len(m: usize) -> usize {
    CHUNKS * (m + EXTRA) / 8
}

/// Bytes of a check response.
pub(crate) const RESPONSE_BYTES: usize = 32;

/// Bytes of one chunk's puncturing message for chunks of k: k − 1 levels of two padded sums,
/// and σ_i.
const fn chunk_puncture_bytes(k: usize) -> usize {
    32 * (k - 1) + 32
}
/// Bytes of the receiver's setup message to the sender: every chunk's, then D.
pub(crate) const PUNCTURE_BYTES: usize = puncture_bytes(K);
pub(crate) const fn puncture_bytes(k: usize) -> usize {
    KAPPA / k * chunk_puncture_bytes(k) + 32
}

const _: () = assert!(K >= 1 && K <= 8 && KAPPA.is_multiple_of(K));

/// Whether chunks of `k` base OTs are supported (the instances take k at run time so that the
/// micro-benchmark can compare values; the protocol uses [`K`]).
pub(crate) fn valid_k(k: usize) -> bool {
    (1..=8).contains(&k) && KAPPA.is_multiple_of(k)
}

/// `u128::MAX` if `a ≠ b`, else 0, without a branch.
#[inline(always)]
fn ne_mask(a: usize, b: usize) -> u128 {
    let d = (a ^ b) as u64;
    let nz = (d | d.wrapping_neg()) >> 63;
    (nz as u128).wrapping_neg()
}

/// `u128::MAX` if `bit` is 1, else 0.
#[inline(always)]
fn bit_mask(bit: usize) -> u128 {
    ((bit & 1) as u128).wrapping_neg()
}

fn node(k: &Key) -> u128 {
    u128::from_le_bytes(*k)
}

/// `G₂`: the two children of a GGM node.
fn expand(n: u128) -> (u128, u128) {
    let mut b = [[0u8; 16]; 2];
    Prg::new(&n.to_le_bytes()).fill_blocks(&mut b);
    (u128::from_le_bytes(b[0]), u128::from_le_bytes(b[1]))
}

/// R's tree of one chunk from the chunk's k base-OT key pairs: the 2^k leaves and, per level
/// 2..=k, the padded sums `(M⁰, M¹)`.
fn build_tree(keys: &[(Key, Key)]) -> (Vec<u128>, Vec<[u128; 2]>) {
    // Level 1: node v is k^{1⊕v}.
    let mut nodes = vec![node(&keys[0].1), node(&keys[0].0)];
    let mut msgs = Vec::with_capacity(keys.len() - 1);
    for (l, (k0, k1)) in keys.iter().enumerate().skip(1) {
        let half = 1usize << l;
        let mut next = vec![0u128; 2 * half];
        let mut sums = [0u128; 2];
        for (y, &n) in nodes.iter().enumerate() {
            let (c0, c1) = expand(n);
            next[y] = c0;
            next[y | half] = c1;
            sums[0] ^= c0;
            sums[1] ^= c1;
        }
        msgs.push([sums[0] ^ node(k1), sums[1] ^ node(k0)]);
        nodes = next;
    }
    (nodes, msgs)
}

/// S's evaluation of one chunk's tree with punctured point `alpha` (its Δ bits of the chunk),
/// its base-OT keys `k^{α_l}` and R's level messages: every leaf but `alpha`, whose slot is 0.
/// No branch and no memory index depends on `alpha`.
fn eval_punctured(alpha: usize, keys: &[Key], msgs: &[[u128; 2]]) -> Vec<u128> {
    debug_assert_eq!(msgs.len(), keys.len() - 1);
    let a0 = alpha & 1;
    let mut nodes = vec![
        node(&keys[0]) & ne_mask(0, a0),
        node(&keys[0]) & ne_mask(1, a0),
    ];
    for l in 1..keys.len() {
        let half = 1usize << l;
        let path = alpha & (half - 1);
        let al = (alpha >> l) & 1;
        let mut next = vec![0u128; 2 * half];
        let mut sums = [0u128; 2];
        for (y, &n) in nodes.iter().enumerate() {
            let (c0, c1) = expand(n);
            let keep = ne_mask(y, path);
            next[y] = c0 & keep;
            next[y | half] = c1 & keep;
            sums[0] ^= c0 & keep;
            sums[1] ^= c1 & keep;
        }
        // The side off the path is ¬α_l; its sum is padded with k^{α_l}, the key S holds.
        let one = bit_mask(al ^ 1);
        let m = (msgs[l - 1][1] & one) | (msgs[l - 1][0] & !one);
        let s = (sums[1] & one) | (sums[0] & !one);
        let sibling = m ^ node(&keys[l]) ^ s;
        let target = path | ((al ^ 1) << l);
        for (z, v) in next.iter_mut().enumerate() {
            *v |= sibling & !ne_mask(z, target);
        }
        nodes = next;
    }
    nodes
}

/// `h(instance, chunk, x, s_x)`: the hash of one leaf in the consistency proof.
fn leaf_hash(instance: u64, chunk: usize, x: usize, leaf: u128) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("ephemeral/offline/softspoken/leaf/v1");
    h.update(&instance.to_le_bytes());
    h.update(&(chunk as u64).to_le_bytes());
    h.update(&(x as u64).to_le_bytes());
    h.update(&leaf.to_le_bytes());
    *h.finalize().as_bytes()
}

/// The hasher of `D` over every leaf hash, in chunk and leaf order.
fn proof_hasher(instance: u64) -> blake3::Hasher {
    let mut h = blake3::Hasher::new_derive_key("ephemeral/offline/softspoken/proof/v1");
    h.update(&instance.to_le_bytes());
    h
}

fn xor32(a: &mut [u8; 32], b: &[u8; 32], mask: u8) {
    for (x, y) in a.iter_mut().zip(b) {
        *x ^= y & mask;
    }
}

/// `dst ^= src`.
#[inline(always)]
fn xor_into(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= s;
    }
}

/// The tree builder's side of the punctured PRFs of one instance (R here, the COPE value
/// holder in [`crate::cope`]): from κ base-OT key pairs, κ/k trees of 2^k leaves. Returns the
/// leaves (chunk after chunk, leaf x of chunk i at `i·2^k + x`) and the setup message for the
/// other side ([`puncture_bytes`]`(k)` bytes: every chunk's level messages and σ_i, then D).
pub(crate) fn pprf_build(keys: &[(Key, Key)], instance: u64, k: usize) -> (Vec<u128>, Vec<u8>) {
    assert!(valid_k(k), "chunks of {k} base OTs are not supported");
    debug_assert_eq!(keys.len(), KAPPA);
    let mut all = Vec::with_capacity((KAPPA / k) << k);
    let mut msg = Vec::with_capacity(puncture_bytes(k));
    let mut proof = proof_hasher(instance);
    for (i, chunk) in keys.chunks_exact(k).enumerate() {
        let (leaves, msgs) = build_tree(chunk);
        for [m0, m1] in msgs {
            msg.extend_from_slice(&m0.to_le_bytes());
            msg.extend_from_slice(&m1.to_le_bytes());
        }
        let mut sigma = [0u8; 32];
        for (x, &s) in leaves.iter().enumerate() {
            let h = leaf_hash(instance, i, x, s);
            xor32(&mut sigma, &h, 0xff);
            proof.update(&h);
        }
        msg.extend_from_slice(&sigma);
        all.extend_from_slice(&leaves);
    }
    msg.extend_from_slice(proof.finalize().as_bytes());
    debug_assert_eq!(msg.len(), puncture_bytes(k));
    (all, msg)
}

/// The punctured side (S here, the MAC key holder in [`crate::cope`]): from the base-OT keys
/// received with choice bits `bits` and the builder's message, every leaf of every chunk in the
/// builder's labels except leaf `α_i` (bits `ik..ik + k` of `bits`) of chunk i, whose slot is 0;
/// after checking the consistency proof (module docs). `None` if the message has the wrong
/// length or the proof fails. No branch and no memory index depends on `bits`.
pub(crate) fn pprf_eval(
    bits: u128,
    keys: &[Key],
    instance: u64,
    msg: &[u8],
    k: usize,
) -> Option<Vec<u128>> {
    assert!(valid_k(k), "chunks of {k} base OTs are not supported");
    debug_assert_eq!(keys.len(), KAPPA);
    if msg.len() != puncture_bytes(k) {
        return None;
    }
    let leaves_n = 1usize << k;
    let mut all = Vec::with_capacity((KAPPA / k) << k);
    let mut proof = proof_hasher(instance);
    let (chunks_msg, d) = msg.split_at(msg.len() - 32);
    for (i, (keys, cm)) in keys
        .chunks_exact(k)
        .zip(chunks_msg.chunks_exact(chunk_puncture_bytes(k)))
        .enumerate()
    {
        let alpha = ((bits >> (i * k)) as usize) & (leaves_n - 1);
        let word = |o: usize| {
            let mut b = [0u8; 16];
            b.copy_from_slice(&cm[o..o + 16]);
            u128::from_le_bytes(b)
        };
        let msgs: Vec<[u128; 2]> = (0..k - 1)
            .map(|l| [word(32 * l), word(32 * l + 16)])
            .collect();
        let leaves = eval_punctured(alpha, keys, &msgs);
        // Leaf hashes, with α's recovered from σ_i (constant time in α).
        let mut sigma = [0u8; 32];
        sigma.copy_from_slice(&cm[32 * (k - 1)..]);
        let hashes: Vec<[u8; 32]> = leaves
            .iter()
            .enumerate()
            .map(|(x, &s)| leaf_hash(instance, i, x, s))
            .collect();
        for (x, h) in hashes.iter().enumerate() {
            xor32(&mut sigma, h, ne_mask(x, alpha) as u8);
        }
        for (x, h) in hashes.iter().enumerate() {
            let at = !(ne_mask(x, alpha) as u8);
            let mut v = *h;
            for (b, s) in v.iter_mut().zip(&sigma) {
                *b = (*b & !at) | (s & at);
            }
            proof.update(&v);
        }
        all.extend_from_slice(&leaves);
    }
    bool::from(proof.finalize().as_bytes().ct_eq(d)).then_some(all)
}

/// The punctured side's leaves relabelled by `y = x ⊕ α_i` ([`pprf_eval`]'s output, chunk
/// after chunk): per chunk the 2^k − 1 leaves y = 1 … 2^k − 1 (the punctured one, y = 0, is
/// left out), each selected without a branch or memory index on α_i.
pub(crate) fn relabel(leaves: &[u128], bits: u128, k: usize) -> Vec<u128> {
    let leaves_n = 1usize << k;
    let mut out = Vec::with_capacity(leaves.len() / leaves_n * (leaves_n - 1));
    for (i, chunk) in leaves.chunks_exact(leaves_n).enumerate() {
        let alpha = ((bits >> (i * k)) as usize) & (leaves_n - 1);
        for y in 1..leaves_n {
            let mut s = 0u128;
            for (x, &leaf) in chunk.iter().enumerate() {
                s |= leaf & !ne_mask(x, y ^ alpha);
            }
            out.push(s);
        }
    }
    out
}

/// Scratch buffers of [`fold`]: one pending partial sum per level and the current one.
#[derive(Default)]
struct Fold {
    pend: Vec<Vec<u8>>,
    cur: Vec<u8>,
}

/// Expands the 2^k leaf streams of one chunk by `cb` bytes each and folds them:
/// `rows[l·cb..(l+1)·cb] = ⊕_{x: x_l = 1} G(s_x)` and `total = ⊕_x G(s_x)`. With `punctured`
/// (S), leaf 0 is zero and `prg[y − 1]` is leaf y; else (R) `prg[x]` is leaf x.
///
/// Leaves are taken in order; at level l the running values are sums over the low l bits, and
/// an odd one (bit l set) is added to row l and merged with its even sibling, as in a binary
/// counter: about 2·2^k XORs of `cb` bytes instead of k·2^(k−1).
fn fold(
    prg: &mut [Prg],
    punctured: bool,
    k: usize,
    rows: &mut [u8],
    total: &mut [u8],
    f: &mut Fold,
) {
    let cb = total.len();
    debug_assert_eq!(prg.len(), (1 << k) - usize::from(punctured));
    debug_assert_eq!(rows.len(), k * cb);
    f.pend.resize_with(k, Vec::new);
    for p in f.pend.iter_mut() {
        p.resize(cb, 0);
    }
    f.cur.resize(cb, 0);
    rows.fill(0);
    for x in 0..1usize << k {
        if punctured {
            if x == 0 {
                f.cur.fill(0);
            } else {
                prg[x - 1].fill_bytes(&mut f.cur);
            }
        } else {
            prg[x].fill_bytes(&mut f.cur);
        }
        let mut l = 0;
        while l < k && (x >> l) & 1 == 1 {
            xor_into(&mut rows[l * cb..(l + 1) * cb], &f.cur);
            xor_into(&mut f.cur, &f.pend[l]);
            l += 1;
        }
        if l == k {
            total.copy_from_slice(&f.cur);
        } else {
            std::mem::swap(&mut f.pend[l], &mut f.cur);
        }
    }
}

/// The receiver's half of one instance.
pub(crate) struct KosReceiver {
    /// Base OTs per chunk ([`K`] but in the micro-benchmark).
    k: usize,
    /// The leaf streams, chunk after chunk, leaf x of chunk i at `i·2^k + x`.
    prg: Vec<Prg>,
    /// The setup message to the sender, until it is taken.
    puncture: Vec<u8>,
    /// Id of the instance, part of every hash tweak.
    pub instance: u64,
    next: u64,
    /// Reused buffers: the κ × m' matrix, one column, the fold's partial sums, and row vectors
    /// of finished batches.
    matrix: Vec<u8>,
    column: Vec<u8>,
    fold: Fold,
    spare_rows: Vec<Block>,
}

/// The sender's half of one instance.
pub(crate) struct KosSender {
    delta: Block,
    delta_bits: u128,
    k: usize,
    /// The known leaf streams, chunk after chunk, relabelled: leaf y ≠ 0 of chunk i (R's leaf
    /// `y ⊕ α_i`) at `i·(2^k − 1) + y − 1`.
    prg: Vec<Prg>,
    pub instance: u64,
    next: u64,
    matrix: Vec<u8>,
    column: Vec<u8>,
    fold: Fold,
    spare_rows: Vec<Block>,
}

/// One extension, receiver side: rows `t_j` and the padded choice bits.
pub(crate) struct ReceiverBatch {
    pub rows: Vec<Block>,
    pub choices: Vec<u8>,
    pub m: usize,
    /// Global index of row 0 (for the hash tweaks).
    pub first: u64,
}

/// One extension, sender side: rows `q_j`.
pub(crate) struct SenderBatch {
    pub rows: Vec<Block>,
    pub m: usize,
    pub first: u64,
}

impl ReceiverBatch {
    /// Choice bit j.
    #[inline(always)]
    pub fn bit(&self, j: usize) -> bool {
        (self.choices[j / 8] >> (j % 8)) & 1 == 1
    }
}

/// The check challenges χ_j for `m'` rows, streamed in chunks to `f`.
fn for_each_chi(seed: &[u8; 32], rows: usize, mut f: impl FnMut(usize, &[Block])) {
    let mut prg = Prg::from_seed(seed);
    let mut buf = vec![Block::ZERO; 1024];
    let mut j = 0;
    while j < rows {
        let k = (rows - j).min(buf.len());
        prg.fill_gf(&mut buf[..k]);
        f(j, &buf[..k]);
        j += k;
    }
}

/// `Σ_j a_j·b_j` as unreduced carry-less products, `(low, high)` halves.
fn sum_clmul(a: &[Block], b: &[Block]) -> (Block, Block) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("pclmulqdq") {
        // SAFETY: the CPU supports pclmulqdq (checked just above).
        return unsafe { sum_clmul_pclmul(a, b) };
    }
    let mut lo = Block::ZERO;
    let mut hi = Block::ZERO;
    for (x, y) in a.iter().zip(b) {
        let (l, h) = x.clmul(y);
        lo ^= l;
        hi ^= h;
    }
    (lo, hi)
}

/// [`sum_clmul`] with the carry-less multiplications inlined: per term four `pclmulqdq`
/// (schoolbook on 64-bit halves), the cross terms summed separately and shifted into place once
/// at the end, since shifting and XOR commute.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "pclmulqdq")]
fn sum_clmul_pclmul(a: &[Block], b: &[Block]) -> (Block, Block) {
    use std::arch::x86_64::*;
    let mut lo = _mm_setzero_si128();
    let mut hi = _mm_setzero_si128();
    let mut mid = _mm_setzero_si128();
    for (x, y) in a.iter().zip(b) {
        let x: __m128i = (*x).into();
        let y: __m128i = (*y).into();
        lo = _mm_xor_si128(lo, _mm_clmulepi64_si128::<0x00>(x, y));
        hi = _mm_xor_si128(hi, _mm_clmulepi64_si128::<0x11>(x, y));
        mid = _mm_xor_si128(mid, _mm_clmulepi64_si128::<0x01>(x, y));
        mid = _mm_xor_si128(mid, _mm_clmulepi64_si128::<0x10>(x, y));
    }
    let lo = _mm_xor_si128(lo, _mm_slli_si128::<8>(mid));
    let hi = _mm_xor_si128(hi, _mm_srli_si128::<8>(mid));
    (lo.into(), hi.into())
}

/// `Σ_j rows[j]·χ_j` in GF(2^128).
fn combine(rows: &[Block], seed: &[u8; 32]) -> Block {
    let mut lo = Block::ZERO;
    let mut hi = Block::ZERO;
    for_each_chi(seed, rows.len(), |j, chis| {
        let (l, h) = sum_clmul(&rows[j..j + chis.len()], chis);
        lo ^= l;
        hi ^= h;
    });
    Block::gf_reduce(&lo, &hi)
}

impl KosReceiver {
    /// From the base-OT key pairs (this party was the base-OT sender): builds the trees and
    /// the setup message for the sender ([`KosReceiver::take_puncture`]).
    pub fn new(keys: &[(Key, Key)], instance: u64) -> KosReceiver {
        Self::with_k(keys, instance, K)
    }

    /// As [`KosReceiver::new`] with chunks of `k` base OTs (micro-benchmark; the peer must use
    /// the same k).
    pub fn with_k(keys: &[(Key, Key)], instance: u64, k: usize) -> KosReceiver {
        let (leaves, puncture) = pprf_build(keys, instance, k);
        let prg = leaves.iter().map(|s| Prg::new(&s.to_le_bytes())).collect();
        KosReceiver {
            k,
            prg,
            puncture,
            instance,
            next: 0,
            matrix: Vec::new(),
            column: Vec::new(),
            fold: Fold::default(),
            spare_rows: Vec::new(),
        }
    }

    /// The setup message for the sender ([`PUNCTURE_BYTES`] for [`K`]); empty once taken.
    pub fn take_puncture(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.puncture)
    }

    /// Extends `8·choices.len()` OTs (a multiple of 128) and appends `c` to `out`.
    pub fn extend<R: RngCore>(
        &mut self,
        choices: &[u8],
        rng: &mut R,
        out: &mut Vec<u8>,
    ) -> ReceiverBatch {
        let m = choices.len() * 8;
        debug_assert!(m.is_multiple_of(128));
        let mp = m + EXTRA;
        let row_bytes = mp / 8;
        let mut x = Vec::with_capacity(row_bytes);
        x.extend_from_slice(choices);
        x.resize(row_bytes, 0);
        rng.fill_bytes(&mut x[choices.len()..]);

        let mut rows = std::mem::take(&mut self.spare_rows);
        rows.resize(mp, Block::ZERO);
        let k = self.k;
        out.reserve(KAPPA / k * row_bytes);
        for c0 in (0..mp).step_by(CHUNK) {
            let cb = CHUNK.min(mp - c0) / 8;
            let b0 = c0 / 8;
            let t = &mut self.matrix;
            t.resize(KAPPA * cb, 0);
            let u = &mut self.column;
            u.resize(cb, 0);
            for (i, rows_i) in t.chunks_exact_mut(k * cb).enumerate() {
                let prg = &mut self.prg[i << k..(i + 1) << k];
                fold(prg, false, k, rows_i, u, &mut self.fold);
                xor_into(u, &x[b0..b0 + cb]);
                out.extend_from_slice(u);
            }
            let dst = &mut rows[c0..c0 + 8 * cb];
            transpose_bitmatrix(t, bytemuck::cast_slice_mut(dst), KAPPA);
        }
        let first = self.next;
        self.next += m as u64;
        ReceiverBatch {
            rows,
            choices: x,
            m,
            first,
        }
    }

    /// Hands a finished batch's buffer back for the next extension.
    pub fn recycle(&mut self, batch: ReceiverBatch) {
        self.spare_rows = batch.rows;
    }

    /// The check response `x̃ ‖ t̃` for challenges from `seed`.
    pub fn response(batch: &ReceiverBatch, seed: &[u8; 32]) -> [u8; RESPONSE_BYTES] {
        let mut x_tilde = Block::ZERO;
        let mut lo = Block::ZERO;
        let mut hi = Block::ZERO;
        for_each_chi(seed, batch.rows.len(), |j, chis| {
            for (k, c) in chis.iter().enumerate() {
                let mask = Block::from((batch.bit(j + k) as u128).wrapping_neg());
                x_tilde ^= *c & mask;
            }
            let (l, h) = sum_clmul(&batch.rows[j..j + chis.len()], chis);
            lo ^= l;
            hi ^= h;
        });
        let t_tilde = Block::gf_reduce(&lo, &hi);
        let mut out = [0u8; RESPONSE_BYTES];
        out[..16].copy_from_slice(x_tilde.as_bytes());
        out[16..].copy_from_slice(t_tilde.as_bytes());
        out
    }
}

impl KosSender {
    /// From the base-OT keys received with choice bits `delta_bits` (bit b ↔ base OT b) and the
    /// receiver's setup message: evaluates the punctured trees and checks the receiver's proof.
    /// None if the message has the wrong length or the proof fails (the receiver cheated).
    pub fn new(delta_bits: u128, keys: &[Key], instance: u64, msg: &[u8]) -> Option<KosSender> {
        Self::with_k(delta_bits, keys, instance, msg, K)
    }

    /// As [`KosSender::new`] with chunks of `k` base OTs (micro-benchmark).
    pub fn with_k(
        delta_bits: u128,
        keys: &[Key],
        instance: u64,
        msg: &[u8],
        k: usize,
    ) -> Option<KosSender> {
        let all = pprf_eval(delta_bits, keys, instance, msg, k)?;
        let prg = relabel(&all, delta_bits, k)
            .iter()
            .map(|s| Prg::new(&s.to_le_bytes()))
            .collect();
        Some(KosSender {
            delta: Block::new(delta_bits.to_le_bytes()),
            delta_bits,
            k,
            prg,
            instance,
            next: 0,
            matrix: Vec::new(),
            column: Vec::new(),
            fold: Fold::default(),
            spare_rows: Vec::new(),
        })
    }

    /// The correlation Δ.
    pub fn delta(&self) -> Block {
        self.delta
    }

    /// Receives `m` OTs from the receiver's `c` (exactly [`u_len`]`(m)` bytes).
    pub fn extend(&mut self, u: &[u8], m: usize) -> SenderBatch {
        let mp = m + EXTRA;
        let row_bytes = mp / 8;
        let k = self.k;
        debug_assert_eq!(u.len(), KAPPA / k * row_bytes);
        let mut rows = std::mem::take(&mut self.spare_rows);
        rows.resize(mp, Block::ZERO);
        // `c` holds exactly κ/k·m'/8 bytes, consumed chunk by chunk in the receiver's order.
        let mut off = 0;
        for c0 in (0..mp).step_by(CHUNK) {
            let cb = CHUNK.min(mp - c0) / 8;
            let q = &mut self.matrix;
            q.resize(KAPPA * cb, 0);
            let total = &mut self.column;
            total.resize(cb, 0);
            let per = (1 << k) - 1;
            for (i, rows_i) in q.chunks_exact_mut(k * cb).enumerate() {
                let prg = &mut self.prg[i * per..(i + 1) * per];
                fold(prg, true, k, rows_i, total, &mut self.fold);
                let c = &u[off..off + cb];
                off += cb;
                for (l, row) in rows_i.chunks_exact_mut(cb).enumerate() {
                    // Δ_{ik+l}·c_i without a branch on the secret bit.
                    let mask = (((self.delta_bits >> (i * k + l)) & 1) as u8).wrapping_neg();
                    for (r, v) in row.iter_mut().zip(c) {
                        *r ^= v & mask;
                    }
                }
            }
            let dst = &mut rows[c0..c0 + 8 * cb];
            transpose_bitmatrix(q, bytemuck::cast_slice_mut(dst), KAPPA);
        }
        let first = self.next;
        self.next += m as u64;
        SenderBatch { rows, m, first }
    }

    /// Hands a finished batch's buffer back for the next extension.
    pub fn recycle(&mut self, batch: SenderBatch) {
        self.spare_rows = batch.rows;
    }

    /// Whether the receiver's response passes the check for challenges from `seed`.
    pub fn check(&self, batch: &SenderBatch, seed: &[u8; 32], response: &[u8]) -> bool {
        if response.len() != RESPONSE_BYTES {
            return false;
        }
        let mut xb = [0u8; 16];
        let mut tb = [0u8; 16];
        xb.copy_from_slice(&response[..16]);
        tb.copy_from_slice(&response[16..]);
        let x_tilde = Block::new(xb);
        let t_tilde = Block::new(tb);
        let q_tilde = combine(&batch.rows, seed);
        q_tilde == t_tilde ^ x_tilde.gf_mul(&self.delta)
    }
}

/// What the sender of an instance holds before the puncturing round.
pub(crate) struct SenderSeed<'a> {
    /// Its choice bits in the base OTs (the correlation Δ).
    pub delta: u128,
    /// The κ base-OT keys it received.
    pub keys: &'a [Key],
    pub instance: u64,
}

/// The puncturing round of setup, after the base OTs: every party sends, as receiver, its
/// setup message to each peer (`receivers[p]`), and builds, as sender, its instance with each
/// peer from `senders[p]` and the peer's message. A peer whose message fails the proof is
/// [`OfflineError::OtCheckFailed`].
pub(crate) fn puncture(
    net: &mut Network,
    transcript: &mut Transcript,
    receivers: &mut [Option<KosReceiver>],
    senders: Vec<Option<SenderSeed<'_>>>,
) -> Result<Vec<Option<KosSender>>> {
    let extra = vec![Vec::new(); receivers.len()];
    puncture_with(net, transcript, receivers, senders, extra, 0).map(|(s, _)| s)
}

/// What [`puncture_with`] returns: this party's sender instances and the extra bytes read.
pub(crate) type Punctured = (Vec<Option<KosSender>>, Vec<Vec<u8>>);

/// [`puncture`], with `extra[p]` appended to the message to peer p (another setup message of
/// the same round, e.g. COPE's punctured trees) and `extra_len` bytes read after each peer's
/// puncturing message; returns them per peer (empty for this party and for peers without a
/// sender seed).
pub(crate) fn puncture_with(
    net: &mut Network,
    transcript: &mut Transcript,
    receivers: &mut [Option<KosReceiver>],
    senders: Vec<Option<SenderSeed<'_>>>,
    extra: Vec<Vec<u8>>,
    extra_len: usize,
) -> Result<Punctured> {
    let mut out = Out::new(net, kind::OT_PUNCTURE, Vec::new());
    for (p, (r, e)) in receivers.iter_mut().zip(extra).enumerate() {
        if let Some(r) = r {
            let msg = r.take_puncture();
            out.to(p).extend_from_slice(&msg);
            out.to(p).extend_from_slice(&e);
        }
    }
    let mut ins = out.exchange(net, transcript)?;
    let mut res = Vec::with_capacity(senders.len());
    let mut got = Vec::with_capacity(senders.len());
    for (p, seed) in senders.into_iter().enumerate() {
        let Some(seed) = seed else {
            res.push(None);
            got.push(Vec::new());
            continue;
        };
        let sender = KosSender::new(
            seed.delta,
            seed.keys,
            seed.instance,
            ins[p].take(PUNCTURE_BYTES)?,
        );
        got.push(ins[p].take(extra_len)?.to_vec());
        ins[p].done()?;
        let sender = sender.ok_or(OfflineError::OtCheckFailed { peer: p as PartyId })?;
        res.push(Some(sender));
    }
    Ok((res, got))
}

/// Test-only: flips row 5's bit in every other `c` column of the first chunk of an
/// extension's message (`u` from its start, `m` OTs): inconsistent choice bits.
#[cfg(test)]
pub(crate) fn corrupt_columns(u: &mut [u8], m: usize) {
    let cb = CHUNK.min(m + EXTRA) / 8;
    for col in (0..CHUNKS).step_by(2) {
        u[col * cb] ^= 1 << 5;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// Leaves per chunk.
    const LEAVES: usize = 1 << K;

    /// Base-OT keys for an instance with Δ = `delta`: R's pairs and S's chosen keys.
    fn base_ots(delta: u128, seed: u64) -> (Vec<(Key, Key)>, Vec<Key>) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut keys = Vec::new();
        let mut chosen = Vec::new();
        for i in 0..KAPPA {
            let mut k0 = [0u8; 16];
            let mut k1 = [0u8; 16];
            rng.fill_bytes(&mut k0);
            rng.fill_bytes(&mut k1);
            chosen.push(if (delta >> i) & 1 == 1 { k1 } else { k0 });
            keys.push((k0, k1));
        }
        (keys, chosen)
    }

    fn pair(delta: u128) -> (KosReceiver, KosSender) {
        let (keys, chosen) = base_ots(delta, 1);
        let mut r = KosReceiver::new(&keys, 7);
        let msg = r.take_puncture();
        let s = KosSender::new(delta, &chosen, 7, &msg).expect("honest proof");
        (r, s)
    }

    /// Extends one batch of `bytes·8` random choices; checks every row against Δ and the check.
    fn batch_holds(r: &mut KosReceiver, s: &mut KosSender, bytes: usize, rng: &mut ChaCha20Rng) {
        let mut choices = vec![0u8; bytes];
        rng.fill_bytes(&mut choices);
        let mut u = Vec::new();
        let rb = r.extend(&choices, rng, &mut u);
        assert_eq!(u.len(), KAPPA / r.k * (rb.m + EXTRA) / 8);
        assert_eq!(&rb.choices[..bytes], &choices[..]);
        let sb = s.extend(&u, rb.m);
        assert_eq!(sb.first, rb.first);
        let d = s.delta();
        for j in 0..rb.rows.len() {
            let want = if rb.bit(j) {
                sb.rows[j] ^ d
            } else {
                sb.rows[j]
            };
            assert_eq!(rb.rows[j], want, "row {j}");
        }
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let resp = KosReceiver::response(&rb, &seed);
        assert!(s.check(&sb, &seed, &resp));
        r.recycle(rb);
        s.recycle(sb);
    }

    #[test]
    fn correlation_holds_over_batches_and_check_passes() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        for delta in [
            0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128,
            0,
            u128::MAX,
            rng.next_u64() as u128 | ((rng.next_u64() as u128) << 64),
        ] {
            let (mut r, mut s) = pair(delta);
            // Several batches on the same streams, below, at and above one CHUNK.
            for bytes in [16, 64, (2 * CHUNK + 128) / 8, 128, CHUNK / 8 - 32] {
                batch_holds(&mut r, &mut s, bytes, &mut rng);
            }
        }
    }

    #[test]
    fn other_chunk_sizes_hold() {
        let mut rng = ChaCha20Rng::seed_from_u64(12);
        let delta = rng.next_u64() as u128 | ((rng.next_u64() as u128) << 64);
        let (keys, chosen) = base_ots(delta, 13);
        for k in [1, 2, 8] {
            let mut r = KosReceiver::with_k(&keys, 7, k);
            let msg = r.take_puncture();
            assert_eq!(msg.len(), puncture_bytes(k));
            let mut s = KosSender::with_k(delta, &chosen, 7, &msg, k).expect("honest proof");
            for bytes in [16, CHUNK / 8 + 16] {
                batch_holds(&mut r, &mut s, bytes, &mut rng);
            }
        }
    }

    #[test]
    fn fold_matches_the_definition() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let seeds: Vec<Key> = (0..LEAVES)
            .map(|_| {
                let mut k = [0u8; 16];
                rng.fill_bytes(&mut k);
                k
            })
            .collect();
        let cb = 48;
        let streams: Vec<Vec<u8>> = seeds
            .iter()
            .map(|k| {
                let mut v = vec![0u8; cb];
                Prg::new(k).fill_bytes(&mut v);
                v
            })
            .collect();
        let mut prg: Vec<Prg> = seeds.iter().map(Prg::new).collect();
        let mut rows = vec![0u8; K * cb];
        let mut total = vec![0u8; cb];
        fold(
            &mut prg,
            false,
            K,
            &mut rows,
            &mut total,
            &mut Fold::default(),
        );
        for l in 0..K {
            let mut want = vec![0u8; cb];
            for (x, st) in streams.iter().enumerate() {
                if (x >> l) & 1 == 1 {
                    xor_into(&mut want, st);
                }
            }
            assert_eq!(&rows[l * cb..(l + 1) * cb], &want[..], "row {l}");
        }
        let mut all = vec![0u8; cb];
        for st in &streams {
            xor_into(&mut all, st);
        }
        assert_eq!(total, all);
        // Punctured: leaf 0 is zero.
        let mut prg: Vec<Prg> = seeds[1..].iter().map(Prg::new).collect();
        fold(
            &mut prg,
            true,
            K,
            &mut rows,
            &mut total,
            &mut Fold::default(),
        );
        xor_into(&mut all, &streams[0]);
        assert_eq!(total, all);
    }

    #[test]
    fn inconsistent_column_fails_the_check() {
        let delta = u128::MAX / 3; // bits alternate 0101…
        let (mut r, mut s) = pair(delta);
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let choices = vec![0x5au8; 32];
        let mut u = Vec::new();
        let rb = r.extend(&choices, &mut rng, &mut u);
        // Flip row 5's bit in c_0 only: R's choice bit 5 differs in chunk 0 from the others.
        u[0] ^= 1 << 5;
        let sb = s.extend(&u, rb.m);
        let seed = [9u8; 32];
        let resp = KosReceiver::response(&rb, &seed);
        assert!(!s.check(&sb, &seed, &resp));
        // The same batch with the other test helper's pattern (every other column).
        let (mut r, mut s) = pair(delta);
        let mut u = Vec::new();
        let rb = r.extend(&choices, &mut rng, &mut u);
        corrupt_columns(&mut u, rb.m);
        let sb = s.extend(&u, rb.m);
        let resp = KosReceiver::response(&rb, &seed);
        assert!(!s.check(&sb, &seed, &resp));
    }

    #[test]
    fn wrong_c_in_a_chunk_with_zero_delta_bits_is_harmless() {
        // The check cannot (and need not) catch a flip where Δ's chunk bits are all 0: S's rows
        // do not depend on that column, so R changed nothing S holds.
        let delta = !0u128 << K; // chunk 0 bits are 0
        let (mut r, mut s) = pair(delta);
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let choices = vec![0x33u8; 16];
        let mut u = Vec::new();
        let rb = r.extend(&choices, &mut rng, &mut u);
        u[0] ^= 1;
        let sb = s.extend(&u, rb.m);
        let resp = KosReceiver::response(&rb, &[1; 32]);
        assert!(s.check(&sb, &[1; 32], &resp));
    }

    /// Offsets of chunk `i`'s level-`l` message for side `v` (l ≥ 1), its σ, and D.
    fn level_at(i: usize, l: usize, v: usize) -> usize {
        i * chunk_puncture_bytes(K) + 32 * (l - 1) + 16 * v
    }

    #[test]
    fn wrong_level_message_is_caught_at_setup_or_unused() {
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        for trial in 0..16 {
            let delta = rng.next_u64() as u128 | ((rng.next_u64() as u128) << 64);
            let (keys, chosen) = base_ots(delta, 10 + trial);
            let mut r = KosReceiver::new(&keys, 3);
            let honest = r.take_puncture();
            let i = trial as usize % CHUNKS;
            let l = 1 + trial as usize % (K - 1);
            for v in 0..2 {
                let mut msg = honest.clone();
                msg[level_at(i, l, v) + 3] ^= 0x40;
                let used = ((delta >> (i * K + l)) & 1) as usize ^ 1 == v;
                let s = KosSender::new(delta, &chosen, 3, &msg);
                if used {
                    assert!(
                        s.is_none(),
                        "a wrong level message S reads must fail the proof"
                    );
                } else {
                    // S never reads the path side: its instance is exactly the honest one.
                    let mut s = s.expect("the path side is not read");
                    let mut r = KosReceiver::new(&keys, 3);
                    r.take_puncture();
                    batch_holds(&mut r, &mut s, 64, &mut rng);
                }
            }
        }
    }

    #[test]
    fn wrong_sigma_or_digest_or_length_is_caught() {
        let delta = 0xdead_beef_u128 << 40;
        let (keys, chosen) = base_ots(delta, 20);
        let mut r = KosReceiver::new(&keys, 9);
        let honest = r.take_puncture();
        assert!(KosSender::new(delta, &chosen, 9, &honest).is_some());
        let mut msg = honest.clone();
        msg[5 * chunk_puncture_bytes(K) + 32 * (K - 1)] ^= 1; // σ of chunk 5
        assert!(KosSender::new(delta, &chosen, 9, &msg).is_none());
        let mut msg = honest.clone();
        msg[PUNCTURE_BYTES - 1] ^= 1; // D
        assert!(KosSender::new(delta, &chosen, 9, &msg).is_none());
        assert!(KosSender::new(delta, &chosen, 9, &honest[1..]).is_none());
        // Another instance id: the hashes differ.
        assert!(KosSender::new(delta, &chosen, 10, &honest).is_none());
    }

    #[test]
    fn sender_gets_every_leaf_but_its_own() {
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        for alpha in 0..LEAVES {
            let pairs: Vec<(Key, Key)> = (0..K)
                .map(|_| {
                    let mut a = [0u8; 16];
                    let mut b = [0u8; 16];
                    rng.fill_bytes(&mut a);
                    rng.fill_bytes(&mut b);
                    (a, b)
                })
                .collect();
            let held: Vec<Key> = (0..K)
                .map(|l| {
                    if (alpha >> l) & 1 == 1 {
                        pairs[l].1
                    } else {
                        pairs[l].0
                    }
                })
                .collect();
            let (leaves, msgs) = build_tree(&pairs);
            let got = eval_punctured(alpha, &held, &msgs);
            for x in 0..LEAVES {
                if x == alpha {
                    assert_eq!(got[x], 0);
                    assert_ne!(leaves[x], 0);
                } else {
                    assert_eq!(got[x], leaves[x], "leaf {x}");
                }
            }
            assert!(!got.contains(&leaves[alpha]));
            // S never reads the sums on its path's side (padded with the keys it lacks):
            // replacing them by anything leaves its result unchanged.
            let mut other = msgs.clone();
            for (l, m) in other.iter_mut().enumerate() {
                m[(alpha >> (l + 1)) & 1] ^= (rng.next_u64() as u128) | 1;
            }
            assert_eq!(eval_punctured(alpha, &held, &other), got);
            // Unpadding the last level's path-side sum with the key S holds (the obvious
            // attempt) does not give R's leaf at α.
            let l = K - 1;
            let al = (alpha >> l) & 1;
            let path = alpha & ((1 << l) - 1);
            let mut guess = msgs[l - 1][al] ^ node(&held[l]);
            for y in 0..1usize << l {
                if y != path {
                    guess ^= got[y | (al << l)];
                }
            }
            assert_ne!(guess, leaves[alpha]);
        }
    }

    #[test]
    fn puncture_round_over_the_network() {
        use std::time::Duration;
        for cheat in [false, true] {
            let nets = net::in_process(
                2,
                net::NetConfig {
                    recv_deadline: Duration::from_secs(10),
                    ..net::NetConfig::default()
                },
            );
            let handles: Vec<_> = nets
                .into_iter()
                .map(|mut net| {
                    std::thread::spawn(move || {
                        let me = net.my_id();
                        let peer = 1 - me;
                        // Both directions: me → peer keys from a shared seed per direction.
                        let d_peer = 0x5555_0000_u128 << me; // Δ of the instance where peer sends
                        let d_me = 0x5555_0000_u128 << peer;
                        let (my_pairs, _) = base_ots(d_peer, 100 + me as u64);
                        let (_, my_chosen) = base_ots(d_me, 100 + peer as u64);
                        let mut recv: Vec<Option<KosReceiver>> = (0..2).map(|_| None).collect();
                        let mut r = KosReceiver::new(&my_pairs, (me * 2 + peer) as u64);
                        if cheat && me == 0 {
                            r.puncture[level_at(0, 1, 0) + 1] ^= 1;
                            r.puncture[level_at(0, 1, 1) + 1] ^= 1;
                        }
                        recv[peer] = Some(r);
                        let mut seeds: Vec<Option<SenderSeed<'_>>> = (0..2).map(|_| None).collect();
                        seeds[peer] = Some(SenderSeed {
                            delta: d_me,
                            keys: &my_chosen,
                            instance: (peer * 2 + me) as u64,
                        });
                        let mut tr = Transcript::new();
                        puncture(&mut net, &mut tr, &mut recv, seeds).map(|s| s[peer].is_some())
                    })
                })
                .collect();
            let res: Vec<_> = handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect();
            if cheat {
                assert!(matches!(res[0], Ok(true)), "{:?}", res[0]);
                assert!(
                    matches!(res[1], Err(OfflineError::OtCheckFailed { peer: 0 })),
                    "{:?}",
                    res[1]
                );
            } else {
                assert!(res.iter().all(|r| matches!(r, Ok(true))), "{res:?}");
            }
        }
    }
}
