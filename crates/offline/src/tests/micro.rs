//! Micro-benchmarks of the primitives (ignored; run in release with --nocapture). Each figure
//! is the minimum over repetitions, which filters out load from other processes.

use std::time::Instant;

use cryprot_core::Block;
use field::Fp;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::kos::{KosReceiver, KosSender, KAPPA};
use crate::prg::{FieldHash, Prg};

fn best(reps: usize, mut f: impl FnMut()) -> f64 {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
#[ignore = "micro-benchmark; run in release"]
fn micro_primitives() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let n = 1 << 16;
    let mut prg = Prg::new(&[1; 16]);
    let mut out = vec![Fp::ZERO; n];
    let t = best(20, || prg.fill_field(&mut out));
    println!("fill_field: {:.2} ns/element", t * 1e9 / n as f64);
    let mut blocks = vec![[0u8; 16]; n];
    let t = best(20, || prg.fill_blocks(&mut blocks));
    println!("AES-CTR: {:.2} ns/block", t * 1e9 / n as f64);

    let h = FieldHash::new();
    let rows: Vec<Block> = (0..n as u128).map(Block::from).collect();
    let t = best(20, || h.hash(&rows, Block::ZERO, 1, 0, &mut out));
    println!("FieldHash: {:.2} ns/output", t * 1e9 / n as f64);

    let mut enc = Vec::with_capacity(16 * n);
    let t = best(20, || {
        enc.clear();
        field::kernels::encode(&out, &mut enc);
    });
    println!("encode: {:.2} ns/element", t * 1e9 / n as f64);
    let mut acc = vec![Fp::ZERO; n];
    let t = best(20, || {
        for (a, &x) in acc.iter_mut().zip(&out) {
            *a = a.double() + x;
        }
    });
    println!("double-add: {:.2} ns/element", t * 1e9 / n as f64);
    let mut prgs: Vec<Prg> = (0..256u32).map(|i| Prg::new(&[i as u8; 16])).collect();
    let mut col = vec![Fp::ZERO; 5121];
    let t = best(5, || {
        for p in prgs.iter_mut() {
            p.fill_field(&mut col);
        }
    });
    println!(
        "fill_field, 256 streams × 5121: {:.2} ns/element",
        t * 1e9 / (256.0 * 5121.0)
    );
    {
        let vals: Vec<Fp> = (0..5121u64).map(Fp::from_u64).collect();
        let mut t0 = vec![Fp::ZERO; 5121];
        let mut t1 = vec![Fp::ZERO; 5121];
        let mut acc = vec![Fp::ZERO; 5121];
        let mut outb: Vec<u8> = Vec::with_capacity(16 * 5121 * 128);
        let t = best(5, || {
            outb.clear();
            for l in 0..128 {
                prgs[2 * l].fill_field(&mut t0);
                prgs[2 * l + 1].fill_field(&mut t1);
            }
        });
        println!(
            "cope-like prg only: {:.2} ns/cv",
            t * 1e9 / (5121.0 * 128.0)
        );
        let t = best(5, || {
            outb.clear();
            for _ in 0..128 {
                for ((a1, &a0), &xv) in t1.iter_mut().zip(&t0).zip(&vals) {
                    *a1 = a0 - *a1 + xv;
                }
                field::kernels::encode(&t1, &mut outb);
                for (a, &a0) in acc.iter_mut().zip(&t0) {
                    *a = a.double() + a0;
                }
            }
        });
        println!(
            "cope-like arithmetic only: {:.2} ns/cv",
            t * 1e9 / (5121.0 * 128.0)
        );
        let t = best(5, || {
            outb.clear();
            for l in 0..128 {
                prgs[2 * l].fill_field(&mut t0);
                prgs[2 * l + 1].fill_field(&mut t1);
                for ((a1, &a0), &xv) in t1.iter_mut().zip(&t0).zip(&vals) {
                    *a1 = a0 - *a1 + xv;
                }
                field::kernels::encode(&t1, &mut outb);
                for (a, &a0) in acc.iter_mut().zip(&t0) {
                    *a = a.double() + a0;
                }
            }
        });
        println!(
            "cope-like interleaved: {:.2} ns/cv",
            t * 1e9 / (5121.0 * 128.0)
        );
        for tile in [256usize, 1024] {
            let mut outb = vec![0u8; 16 * 5121 * 128];
            let t = best(5, || {
                let mut v0 = 0;
                while v0 < 5121 {
                    let k = tile.min(5121 - v0);
                    let (t0, t1, acc) = (&mut t0[..k], &mut t1[..k], &mut acc[v0..v0 + k]);
                    for l in 0..128 {
                        prgs[2 * l].fill_field(t0);
                        prgs[2 * l + 1].fill_field(t1);
                        let dst = &mut outb[16 * (l * 5121 + v0)..16 * (l * 5121 + v0 + k)];
                        for (((a1, &a0), &xv), d) in t1
                            .iter_mut()
                            .zip(t0.iter())
                            .zip(&vals[v0..v0 + k])
                            .zip(dst.chunks_exact_mut(16))
                        {
                            d.copy_from_slice(&(a0 - *a1 + xv).to_mont_bytes());
                        }
                        for (a, &a0) in acc.iter_mut().zip(t0.iter()) {
                            *a = a.double() + a0;
                        }
                    }
                    v0 += k;
                }
            });
            println!(
                "cope-like tiled {tile}: {:.2} ns/cv",
                t * 1e9 / (5121.0 * 128.0)
            );
        }
    }
    let pow: Vec<Fp> = (0..n).map(|i| Fp::from_u64(i as u64)).collect();
    let t = best(20, || {
        std::hint::black_box(field::kernels::inner_product(&out, &pow));
    });
    println!("inner_product: {:.2} ns/term", t * 1e9 / n as f64);

    // COPE, 5·1024 + 1 values as in a batch, for digits of k bits (k = 1 is MASCOT's binary
    // COPE; the protocol uses cope::K).
    let delta = Fp::random(&mut rng);
    let vals: Vec<Fp> = (0..5121).map(|_| Fp::random(&mut rng)).collect();
    for k in [1usize, 2, 4] {
        let (mut a, mut b) = crate::cope::pair_for_k(delta, &mut rng, k);
        let mut u = Vec::new();
        let ts = best(5, || {
            u.clear();
            a.extend(&vals, &mut u, None);
        });
        let tr = best(5, || {
            b.extend(1, &u, 5121).unwrap();
        });
        println!(
            "COPE k = {k}: sender {:.1} ns/value, receiver {:.1} ns/value, {} bytes/value",
            ts * 1e9 / 5121.0,
            tr * 1e9 / 5121.0,
            u.len() / 5121
        );
    }

    // KOS, 3·1024·128 OTs.
    let mut keys = Vec::new();
    let mut chosen = Vec::new();
    let d = u128::MAX / 5;
    for i in 0..KAPPA {
        let mut k0 = [0u8; 16];
        let mut k1 = [0u8; 16];
        rng.fill_bytes(&mut k0);
        rng.fill_bytes(&mut k1);
        chosen.push(if (d >> i) & 1 == 1 { k1 } else { k0 });
        keys.push((k0, k1));
    }
    let m = 3 * 1024 * 128;
    let mut choices = vec![0u8; m / 8];
    rng.fill_bytes(&mut choices);
    let mut kept = None;
    // Every chunk size k (SoftSpokenOT; k = 1 is IKNP's work), the protocol's K last.
    for k in [1, 2, 8, crate::kos::K] {
        let mut r = KosReceiver::with_k(&keys, 1, k);
        let mut s = KosSender::with_k(d, &chosen, 1, &r.take_puncture(), k).expect("honest setup");
        let mut u = Vec::new();
        let mut rb = None;
        let t = best(5, || {
            u.clear();
            if let Some(b) = rb.take() {
                r.recycle(b);
            }
            rb = Some(r.extend(&choices, &mut rng, &mut u));
        });
        println!(
            "OT extension k = {k} ({} bits of c per OT): receiver extend {:.2} ns/OT",
            KAPPA / k,
            t * 1e9 / m as f64
        );
        let mut sb = None;
        let t = best(5, || {
            if let Some(b) = sb.take() {
                s.recycle(b);
            }
            sb = Some(s.extend(&u, m));
        });
        println!(
            "OT extension k = {k}: sender extend {:.2} ns/OT",
            t * 1e9 / m as f64
        );
        kept = rb;
    }
    let rb = kept.expect("ran");
    let t = best(5, || {
        std::hint::black_box(KosReceiver::response(&rb, &[3; 32]));
    });
    println!("KOS response: {:.2} ns/OT", t * 1e9 / m as f64);
}
