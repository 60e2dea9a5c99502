//! Times repeated compilation of a file: `cargo run --release -p lang --example bench_compile -- prog.mpc [n]`
fn main() {
    let mut argv = std::env::args().skip(1);
    let path = argv.next().expect("usage: bench_compile prog.mpc [n]");
    let n: usize = argv.next().map(|s| s.parse().expect("n")).unwrap_or(100);
    let src = std::fs::read_to_string(&path).expect("read source");
    let opts = lang::CompileOptions::default();
    let mut times = Vec::new();
    for _ in 0..n {
        let t = std::time::Instant::now();
        let p = lang::compile(&src, &path, &[], &opts).unwrap_or_else(|e| panic!("{e}"));
        times.push(t.elapsed());
        std::hint::black_box(p);
    }
    times.sort();
    println!(
        "{path}: {n} compiles, min {:?}, median {:?}, max {:?}",
        times[0],
        times[n / 2],
        times[n - 1]
    );
}
