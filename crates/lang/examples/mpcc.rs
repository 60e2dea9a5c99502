//! Compile a .mpc file and print its disassembly and cost summary:
//! `cargo run -p lang --example mpcc -- prog.mpc [args...]`
fn main() {
    let mut argv = std::env::args().skip(1);
    let Some(path) = argv.next() else {
        eprintln!("usage: mpcc prog.mpc [args...]");
        std::process::exit(2);
    };
    let args: Vec<String> = argv.collect();
    let src = std::fs::read_to_string(&path).expect("read source");
    let t = std::time::Instant::now();
    match lang::compile(&src, &path, &args, &lang::CompileOptions::default()) {
        Ok(p) => {
            let dt = t.elapsed();
            print!("{}", p.bytecode);
            print!("{}", p.summary);
            for l in &p.log {
                println!("log: {l}");
            }
            println!(
                "hash {} ({} bytes) compiled in {:?}",
                p.hash_hex(),
                p.bytecode.encode().len(),
                dt
            );
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
