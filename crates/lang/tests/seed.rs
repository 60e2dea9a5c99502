const SEED: &str = r#"# Open socket for I/O
listen(10000)
client_socket_id = regint()
acceptclientconnection(client_socket_id, 10000)
# Read all input data at once
v = sint.read_from_socket(client_socket_id, 2)
a = v[0]
b = v[1]
# Compute result
sum = a + b
# Pack result into array and write to socket
resp = Array(1, sint)
resp[0] = sum
sint.write_to_socket(client_socket_id, resp)
"#;

#[test]
fn seed_compiles() {
    let p = lang::compile(SEED, "seed.mpc", &[], &lang::CompileOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    println!("{}", p.bytecode);
    println!("{}", p.summary);
}
