//! Criterion benchmarks for the hot paths: the lazy inner product, the
//! element-wise product kernel, and the latency of dependent multiplications.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use field::{kernels, Fp};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const N: usize = 1 << 20;

fn random_vec(rng: &mut ChaCha20Rng, n: usize) -> Vec<Fp> {
    (0..n).map(|_| Fp::random(rng)).collect()
}

fn inner_product(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let a = random_vec(&mut rng, N);
    let b = random_vec(&mut rng, N);
    let mut g = c.benchmark_group("inner_product");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("2^20", |bench| {
        bench.iter(|| kernels::inner_product(black_box(&a), black_box(&b)))
    });
    g.finish();
}

fn mul_assign(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let a = random_vec(&mut rng, N);
    let b = random_vec(&mut rng, N);
    let mut g = c.benchmark_group("mul_assign");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("2^20", |bench| {
        bench.iter_batched_ref(
            || a.clone(),
            |d| kernels::mul_assign(d, black_box(&b)),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn mul_latency(c: &mut Criterion) {
    const CHAIN: u64 = 1024;
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let x = Fp::random(&mut rng);
    let y = Fp::random(&mut rng);
    let mut g = c.benchmark_group("scalar_mul");
    g.throughput(Throughput::Elements(CHAIN));
    g.bench_function("latency_chain_1024", |bench| {
        bench.iter(|| {
            // Each product depends on the previous one, so this measures
            // latency rather than throughput.
            let mut acc = black_box(x);
            let y = black_box(y);
            for _ in 0..CHAIN {
                acc *= y;
            }
            acc
        })
    });
    g.finish();
}

criterion_group!(benches, inner_product, mul_assign, mul_latency);
criterion_main!(benches);
