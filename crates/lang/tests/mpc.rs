//! Run-time types and operators: what they compile to.

mod common;
use common::*;

#[test]
fn sint_arithmetic_with_secrets_clears_and_constants() {
    let a = asm("a = sint(3)\nb = sint(4)\nc = cint(5)\nr = regint(6)\nx = a + b\ny = a * b\nz = a * c\nw = a - 1\nv = 2 - a\nu = a + r\nt = c - a\n");
    assert_seq(
        &a,
        &[
            "ldsi s0, 3",
            "ldsi s1, 4",
            "ldci c0, 5",
            "ldri r0, 6",
            "adds s2, s0, s1",
            "muls s3, s0, s1",
            "mulsc s4, s0, c0",
            "addsi s5, s0, -1",
            "negs s7, s0",
            "addsi s6, s7, 2",
            "convrc c1, r0",
            "addsc s8, s0, c1",
            "subcs s9, c0, s0",
        ],
    );
}

#[test]
fn comparisons_on_secrets_give_bits_via_kernels() {
    let a = asm("a = sint(3)\nb = sint(4)\nx = a < b\ny = a >= b\nz = a == b\nw = a != 5\n");
    assert_seq(
        &a,
        &[
            "subs s2, s0, s1",
            "ltz s3, s2, 65",
            "subs s4, s0, s1",
            "ltz s5, s4, 65",
            "negs s6, s5",
            "addsi s7, s6, 1",
            "subs s8, s0, s1",
            "eqz s9, s8, 65",
            "addsi s10, s0, -5",
            "eqz s11, s10, 65",
            "negs s12, s11",
            "addsi s13, s12, 1",
        ],
    );
    // The result is a sintbit: & | ^ ~ are bit operations.
    let a = asm(
        "a = sint(3)\nb = sint(4)\nx = (a < b) & (a > b)\ny = (a < b) ^ (b < a)\nz = ~(a < b)\n",
    );
    assert!(a.contains("muls"), "{a}");
}

#[test]
fn shifts_modulo_powers_and_division() {
    let a = asm("a = sint(100)\nx = a >> 3\ny = a << 4\nz = a % 16\nw = a ** 3\nq = a.int_div(sint(7), 32)\n");
    assert_seq(
        &a,
        &[
            "trunc s1, s0, 64, 3",
            "mulsi s2, s0, 16",
            "mod2m s3, s0, 64, 4",
            "muls s4, s0, s0",
            "muls s5, s0, s4",
            "intdiv s7, s0, s6, 32",
        ],
    );
    // sint / sint is fixed-point division.
    let a = asm("a = sint(10)\nb = sint(4)\nc = a / b\nprint_ln('%s', c.reveal())\n");
    assert_seq(
        &a,
        &[
            "mulsi s2, s0, 65536",
            "mulsi s3, s1, 65536",
            "fixdiv s4, s2, s3, 31, 16",
            "open c0, s4",
            "print [fix(c0, f=16, p=6), \"\\n\"]",
        ],
    );
}

#[test]
fn clear_and_regint_semantics() {
    let a = asm("c = cint(-13)\nx = c // 4\ny = c % 4\nz = c < 2\nr = regint(-13)\nq = r / 4\nm = r % 4\nt = r == 3\ns = c * r\n");
    assert_seq(
        &a,
        &[
            "ldci c0, -13",
            "copi intdiv, c1, c0, 4",
            "copi mod, c2, c0, 4",
            "ldci c3, 2",
            "ccmp lt, r0, c0, c3",
            "ldri r1, -13",
            "ropi div, r2, r1, 4",
            "ropi mod, r3, r1, 4",
            "rcmpi eq, r4, r1, 3",
            "convrc c4, r1",
            "cop mul, c5, c0, c4",
        ],
    );
}

#[test]
fn big_constants_are_reduced_mod_p() {
    let p = lang::DEFAULT_PRIME;
    let a = asm(&format!(
        "x = sint(1) + {}\ny = cint({})\n",
        p + 5,
        2u128.pow(127)
    ));
    assert!(a.contains("addsi s1, s0, 5"), "{a}");
    let expect = (2u128.pow(127) as i128 - p as i128).to_string();
    assert!(a.contains(&format!("ldci c0, {expect}")), "{a}");
}

#[test]
fn sfix_arithmetic_and_printing() {
    let a = asm("x = sfix(1.5)\ny = sfix.get_input_from(0)\nz = x * y\nw = x + 2\nv = x * 3\nu = x / 4\nprint_float_precision(3)\nprint_ln('%s', z.reveal())\n");
    assert_seq(
        &a,
        &[
            "ldsi s0, 98304",
            "input s1, 0, 16",
            "muls s2, s0, s1",
            "truncpr s3, s2, 47, 16",
            "addsi s4, s0, 131072",
            "mulsi s5, s0, 3",
            "mulsi s6, s0, 16384",
            "truncpr s7, s6, 47, 16",
            "open c0, s3",
            "print [fix(c0, f=16, p=3), \"\\n\"]",
        ],
    );
    let a = asm("sfix.set_precision(20, 40)\nx = sfix(0.25)\nc = cfix(2.0)\nprint_ln('%s', (x.reveal() * c))\nprint_ln('%s', (x < 1).reveal())\n");
    assert_seq(
        &a,
        &[
            "ldsi s0, 262144",
            "ldci c0, 2097152",
            "open c1, s0",
            "cop mul, c2, c1, c0",
            "copi shr, c3, c2, 20",
            "ltz s3, s2, 41",
        ],
    );
}

#[test]
fn conversions() {
    let a =
        asm("r = regint(5)\nc = cint(r)\ns = sint(r)\nt = sint(c)\nu = regint(c)\nf = sfix(s)\n");
    assert_seq(
        &a,
        &[
            "ldri r0, 5",
            "convrc c0, r0",
            "convrs s0, r0",
            "convcs s1, c0",
            "convcr r1, c0",
            "mulsi s2, s0, 65536",
        ],
    );
    let e = err("s = sint(5)\nc = cint(s)\n");
    assert_eq!(e.kind, lang::ErrorKind::Type);
    assert!(e.to_string().contains(".reveal()"), "{e}");
}

#[test]
fn vectors() {
    let a = asm("v = sint(2, size=4)\nw = v * v\nr = regint.inc(4, 10, 2, 1, 0)\nx = v + r\nfirst = w[0]\npart = w[1:3]\ntotal = w.sum()\nl = sint([1, 2, 3])\nprint_ln('%s', l.reveal())\n");
    assert_seq(
        &a,
        &[
            "ldsi s0, 2, n=4",
            "muls s1, s0, s0, n=4",
            "incr r0, 10, 2, 1, 0, n=4",
            "convrc c0, r0, n=4",
            "addsc s2, s0, c0, n=4",
            "vslice s3, s1, 0",
            "vslice s4, s1, 1, n=2",
            "vsum s5, s1, 4",
            "vconcat s9, [s6, s7, s8], [1, 1, 1]",
            "open c1, s9, n=3",
            "print [c1[n=3], \"\\n\"]",
        ],
    );
    let e = err("a = sint(1, size=3)\nb = sint(1, size=4)\nc = a + b\n");
    assert!(
        e.message.contains("vector sizes do not match: 3 and 4"),
        "{e}"
    );
}

#[test]
fn arrays_static_and_runtime_indices() {
    let a = asm("a = sint.Array(5)\nb = Array(3, cint)\na[2] = sint(7)\nx = a[2]\n@for_range(5)\ndef _(i):\n    a[i] = a[i] + 1\nprint_ln('%s', b)\n");
    assert_seq(
        &a,
        &[
            "ldsi s0, 7",
            "stm s0, 2",
            "ldm s1, 2",
            "chkidx r0, 5, \"test.mpc:7:12\"",
            "ldmi s2, r0",
            "addsi s3, s2, 1",
            "chkidx r0, 5, \"test.mpc:7:5\"",
            "stmi s3, r0",
            "ldm c0, 0, n=3",
            "print [c0[n=3], \"\\n\"]",
        ],
    );
    assert!(a.contains("; memory: secret=5 clear=3 int=0"), "{a}");
    let e = err("a = sint.Array(3)\nx = a[3]\n");
    assert_eq!(e.kind, lang::ErrorKind::Index);
    assert_eq!(e.location.as_ref().unwrap().line, 2);
}

#[test]
fn array_methods() {
    let a = asm("a = sint.Array(4)\na.assign_all(0)\na.input_from(1)\nv = a.get_vector(1, 2)\na.assign_vector(v, 2)\nr = a.reveal()\na.print_reveal_nested()\nx = a[:]\na[1:3] = sint(9, size=2)\n");
    assert_seq(
        &a,
        &[
            "ldsi s0, 0",
            "vsplat s1, s0, n=4",
            "stm s1, 0, n=4",
            "input s2, 1, 0, n=4",
            "stm s2, 0, n=4",
            "ldm s3, 1, n=2",
            "stm s3, 2, n=2",
            "ldm s4, 0, n=4",
            "open c0, s4, n=4",
            "stm c0, 0, n=4",
            "ldm s5, 0, n=4",
            "open c1, s5, n=4",
            "print [c1[n=4], \"\\n\"]",
            "ldm s6, 0, n=4",
            "ldsi s7, 9, n=2",
            "stm s7, 1, n=2",
        ],
    );
    let l = log("a = cint.Array(3)\nprint(len(a), a.length, a.total_size(), type(a[0]) == cint)\n");
    assert_eq!(l, "3 3 3 True");
}

#[test]
fn matrices() {
    let a = asm("m = sint.Matrix(2, 3)\nn = Matrix(3, 2, sint)\np = m * n\nx = m[1][2]\ny = m[1, 0]\nrow = m[1]\n@for_range(2)\ndef _(i):\n    m[i][0] = sint(1)\np.print_reveal_nested()\n");
    assert!(a.contains("muls s4, s2, s3, n=12"), "{a}");
    assert!(a.contains("vsum s5, s4, 3, n=4"), "{a}");
    assert!(a.contains("ldm s6, 5"), "{a}");
    assert!(a.contains("ldm s7, 3"), "{a}");
    assert!(a.contains("ropi mul, r2, r0, 3"), "{a}");
    assert!(
        a.contains("print [\"[\", c1[n=2], \", \", c2[n=2], \"]\\n\"]"),
        "{a}"
    );
    let m = asm("m = MultiArray([2, 2, 2], sint)\nm[1][0][1] = sint(3)\nx = m[1, 1, 1]\n");
    assert_seq(&m, &["stm s0, 5", "ldm s1, 7"]);
}

#[test]
fn sort_and_dot() {
    let a = ok("a = sint.Array(8)\na.sort()\n");
    let text = a.bytecode.to_string();
    // Batcher's network on 8 elements: 6 layers, one vectorised comparison each.
    assert_eq!(text.matches("ltz").count(), 6, "{text}");
    assert_eq!(a.summary.fixed.kernels.values().sum::<u64>(), 19);
    let d = asm("a = sint.Array(3)\nb = sint.Array(3)\nx = a.dot(b)\ny = sint.dot_product(a, b)\n");
    assert_seq(
        &d,
        &[
            "ldm s0, 0, n=3",
            "ldm s1, 3, n=3",
            "muls s2, s0, s1, n=3",
            "vsum s3, s2, 3",
        ],
    );
}

#[test]
fn memvalue() {
    let a = asm("m = MemValue(sint(0))\nm.iadd(5)\nm.write(m.read() * 2)\nx = m + 1\nc = MemValue(regint)\n");
    assert_seq(
        &a,
        &[
            "ldsi s0, 0",
            "stm s0, 0",
            "ldm s1, 0",
            "addsi s2, s1, 5",
            "stm s2, 0",
            "ldm s3, 0",
            "mulsi s4, s3, 2",
            "stm s4, 0",
            "ldm s5, 0",
            "addsi s6, s5, 1",
        ],
    );
    assert!(a.contains("; memory: secret=1 clear=0 int=1"), "{a}");
}

#[test]
fn private_inputs() {
    let a = asm("a = sint.get_input_from(0)\nb = sint.get_input_from(2, size=3)\nc = sfix.get_input_from(1)\nd = sint.Array(2)\nd.input_from(1)\n");
    assert_seq(
        &a,
        &[
            "input s0, 0, 0",
            "input s1, 2, 0, n=3",
            "input s2, 1, 16",
            "input s3, 1, 0, n=2",
        ],
    );
}

#[test]
fn if_else_cond_swap_bits_random() {
    let a = asm("a = sint(1)\nb = sint(2)\nc = a < b\nx = c.if_else(a, b)\ny, z = c.cond_swap(a, b)\nbits = a.bit_decompose(3)\nr = sint.get_random_bit()\nq = sint.get_random_int(16, size=2)\nw = if_else(c, 7, 9)\n");
    assert_seq(
        &a,
        &[
            "subs s4, s0, s1",
            "muls s5, s3, s4",
            "adds s6, s1, s5",
            "bitdec [s11, s12, s13], s0, 64",
            "randbit s14",
            "randint s15, 16, n=2",
        ],
    );
    // if_else with public constants: 9 + c * (7 - 9), folded at compile time.
    assert_seq(&a, &["mulsi s16, s3, -2", "addsi s17, s16, 9"]);
}

#[test]
fn reveal_and_print() {
    let a = asm("a = sint(5)\nc = a.reveal()\nr = regint(2)\nprint_ln('a=%s r=%s list=%s const=%s', c, r, [c, 1], 3)\nprint_str('no newline')\nprint_ln()\nprint_ln_if(r, 'maybe %s', c)\nprint_ln_to(1, 'yours %s', a)\nprint_ln('%s', a.reveal_to(0))\n");
    assert_seq(
        &a,
        &[
            "open c0, s0",
            "print [\"a=\", c0, \" r=\", r0, \" list=[\", c0, \", 1] const=3\\n\"]",
            "print [\"no newline\"]",
            "print [\"\\n\"]",
            "jmpz r0, @8",
            "print [\"maybe \", c0, \"\\n\"]",
            "opento c1, s0, 1",
            "print to=1, [\"yours \", c1, \"\\n\"]",
            "opento c2, s0, 0",
        ],
    );
}

#[test]
fn sockets_old_and_new_names() {
    let a = asm("listen(14000)\nc = regint()\nacceptclientconnection(c, 14000)\nx = cint.read_from_socket(c, 2)\ny = regint.read_from_socket(c)\nz = sfix.read_from_socket(c, 1)\ns = sint.read_from_socket(c, 1, size=3)\nsint.write_to_socket(c, [s, s])\nsint.write_shares_to_socket(c, [s[0]])\nsint.write_to_socket(c, s)\ncint.write_to_socket(c, x)\nregint.write_to_socket(c, [y], message_type=2)\nsfix.write_to_socket(c, [z])\ncloseclientconnection(c)\nlisten_for_clients(15000)\nd = accept_client_connection(15000)\n");
    assert_seq(
        &a,
        &[
            "ldri r0, 14000",
            "listen r0",
            "ldri r1, 0",
            "ldri r2, 14000",
            "accept r1, r2",
            "sockread clear, r1, [c0, c1]",
            "sockread int, r1, [r3]",
            "sockread share+mac, r1, [s0]",
            "sockread share+mac, r1, [s1], n=3",
            "sockwrite share+mac, r1, 0, [s1, s1], n=3",
            "vslice s2, s1, 0",
            "sockwrite share, r1, 0, [s2]",
            "sockwrite share+mac, r1, 0, [s1], n=3",
            "sockwrite clear, r1, 0, [c0, c1]",
            "sockwrite int, r1, 2, [r3]",
            "sockwrite share+mac, r1, 0, [s0]",
            "closeclient r1",
            "listen r4",
            "accept r6, r5",
        ],
    );
}

#[test]
fn client_input_and_output_protocols() {
    let a = asm("c = accept_client_connection(1)\nv = sint.receive_from_client(3, c)\nsint.reveal_to_clients([c], v)\n");
    assert_seq(
        &a,
        &[
            "triple s0, s1, s2, n=3",
            "sockwrite share, r1, 0, [s0, s1, s2], n=3",
            "sockread clear, r1, [c0], n=3",
            "subcs s3, c0, s0, n=3",
            "triple s8, s9, s10, n=3",
            "muls s11, s7, s8, n=3",
            "sockwrite share, r1, 0, [s7, s8, s11], n=3",
        ],
    );
}

#[test]
fn max_min_sum_over_lists_of_secrets() {
    let p = ok("l = [sint(i) for i in range(8)]\nm = max(l)\nn = min(l[0], l[1])\ns = sum(l)\nt = tree_reduce(lambda a, b: a + b, l)\n");
    // max of 8: a tournament of 3 vectorised rounds (4 + 2 + 1 comparisons).
    let text = p.bytecode.to_string();
    assert_seq(
        &text,
        &[
            "vconcat s8, [s0, s1, s2, s3, s4, s5, s6, s7], [1, 1, 1, 1, 1, 1, 1, 1]",
            "vgather s9, s8, [0, 2, 4, 6], n=4",
            "vgather s10, s8, [1, 3, 5, 7], n=4",
            "ltz s12, s11, 65, n=4",
        ],
    );
    assert_eq!(text.matches("ltz").count(), 4, "{text}");
    assert_eq!(p.summary.fixed.kernels.values().sum::<u64>(), 8);
}

#[test]
fn bit_length_and_security_settings() {
    let a = asm("program.set_bit_length(20)\na = sint(1)\nb = a < 3\nc = a >> 2\n");
    assert_seq(&a, &["ltz s2, s1, 21", "trunc s3, s0, 20, 2"]);
    let e = err("program.set_bit_length(100)\n");
    assert!(e.message.contains("bit length 100 is not supported"), "{e}");
}

#[test]
fn create_from_nested_lists_and_views() {
    let a = asm("m = Matrix.create_from([[sint(1), sint(2)], [sint(3), sint(4)]])\nv = Array.create_from([cint(5), cint(6)])\nr = m[1].to_row_matrix()\nc = v.to_column_matrix()\nprint_ln('%s', m.reveal()[1][1])\n");
    assert_seq(
        &a,
        &[
            "vconcat s4, [s0, s1, s2, s3], [1, 1, 1, 1]",
            "stm s4, 0, n=4",
            "vconcat c2, [c0, c1], [1, 1]",
            "stm c2, 0, n=2",
        ],
    );
    let t = log("m = Matrix.create_from([[1, 2, 3], [4, 5, 6]])\nprint(m.sizes, m.to_array().sizes, m.value_type.__name__)\n");
    assert_eq!(t, "(2, 3) (6,) regint");
}

#[test]
fn get_sub_with_a_runtime_length_for_client_lists() {
    let a = asm("clients = Array(4, regint)\nn = MemValue(regint(2))\nx = sint(1)\nsint.reveal_to_clients(clients.get_sub(n), [x])\n");
    // One message per connected client, in a run-time loop up to n.
    assert_seq(
        &a,
        &[
            "ldm r1, 4",
            "triple s1, s2, s3",
            "muls s4, s0, s1",
            "rcmp lt, r4, r2, r3",
            "ldmi r5, r2",
            "sockwrite share, r5, 0, [s0, s1, s4]",
            "jmp @8",
        ],
    );
    let e = err("a = Array(4, regint)\nn = regint(2)\nb = a.get_sub(n)\nx = b[0]\n");
    assert!(e.message.contains("run-time length"), "{e}");
}

#[test]
fn round_and_tape_arguments() {
    let a = asm("x = sint(100)\ny = x.round(32, 4)\nz = x.round(32, 4, nearest=True)\n");
    assert_seq(
        &a,
        &[
            "truncpr s1, s0, 32, 4",
            "addsi s3, s0, 8",
            "trunc s2, s3, 33, 4",
        ],
    );
    let b = asm("def t():\n    print_ln('arg %s', get_arg())\ntape = program.new_tape(t)\nfor i in range(2):\n    program.run_tape(tape, i)\n");
    assert_seq(
        &b,
        &[
            "ldri r0, 0",
            "print [\"arg \", r0, \"\\n\"]",
            "ldri r1, 1",
            "print [\"arg \", r1, \"\\n\"]",
        ],
    );
}

#[test]
fn huge_matrix_products_hit_the_memory_budget() {
    let e = err("a = sint.Matrix(1000, 1000)\nb = a * a\n");
    assert_eq!(e.kind, lang::ErrorKind::Budget(lang::BudgetKind::Memory));
}
