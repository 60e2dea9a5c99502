//! Prints single-core rates of the hot kernels (release mode:
//! `cargo run --release -p field --example ip_rate`).

use field::{kernels, Fp};
use std::hint::black_box;
use std::time::Instant;

fn best_of<F: FnMut() -> f64>(mut f: F) -> f64 {
    (0..5).map(|_| f()).fold(0.0f64, f64::max)
}

fn main() {
    for (log_n, reps) in [(12u32, 5000usize), (20, 20)] {
        let n = 1usize << log_n;
        let r = best_of(|| field::bench_inner_product_rate(n, reps));
        println!("inner_product  n = 2^{log_n}: {:7.1} M mul+add/s", r / 1e6);
    }
    let mut x = Fp::from_u64(3);
    let v: Vec<Fp> = (0..1 << 12)
        .map(|_| {
            x = x * x + Fp::ONE;
            x
        })
        .collect();
    for (log_n, reps) in [(12u32, 5000usize), (20, 20)] {
        let n = 1usize << log_n;
        let src: Vec<Fp> = v.iter().cycle().take(n).copied().collect();
        let mut dst = src.clone();
        let r = best_of(|| {
            let t = Instant::now();
            for _ in 0..reps {
                kernels::mul_assign(black_box(&mut dst), black_box(&src));
            }
            (n * reps) as f64 / t.elapsed().as_secs_f64()
        });
        println!("mul_assign     n = 2^{log_n}: {:7.1} M mul/s", r / 1e6);
    }
    let chain = 1 << 24;
    let r = best_of(|| {
        let mut acc = black_box(v[7]);
        let y = black_box(v[9]);
        let t = Instant::now();
        for _ in 0..chain {
            acc *= y;
        }
        black_box(acc);
        chain as f64 / t.elapsed().as_secs_f64()
    });
    println!("mul latency chain:        {:7.2} ns/mul", 1e9 / r);
}
