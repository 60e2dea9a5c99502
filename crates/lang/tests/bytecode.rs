//! The bytecode: encoding round trip, determinism, hashing, validation, disassembly, and the
//! seed example.

mod common;
use common::*;
use lang::bytecode::*;

const SEED: &str = include_str!("programs/seed.mpc");

#[test]
fn seed_example_compiles_unchanged() {
    let p = ok(SEED);
    let asm = p.bytecode.to_string();
    assert_seq(
        &asm,
        &[
            "ldri r0, 10000",
            "listen r0",
            "ldri r1, 0",
            "ldri r2, 10000",
            "accept r1, r2",
            "sockread share+mac, r1, [s0, s1]",
            "adds s2, s0, s1",
            "stm s2, 0",
            "ldm s3, 0",
            "sockwrite share+mac, r1, 0, [s3]",
            "ret",
        ],
    );
    assert_eq!(p.summary.instructions, 11);
    assert!(p.summary.fixed.is_empty());
    assert!(p.summary.is_static());
    assert_eq!(p.bytecode.memory.secret, 1);
}

#[test]
fn encoding_round_trips() {
    for src in [SEED, include_str!("programs/tour.mpc")] {
        let p = ok(src);
        let bytes = p.bytecode.encode();
        let back = Bytecode::decode(&bytes).expect("decode");
        assert_eq!(back, p.bytecode);
        assert_eq!(back.encode(), bytes);
        assert_eq!(back.hash(), p.hash);
    }
}

#[test]
fn compiling_twice_gives_identical_bytes_and_hash() {
    let src = include_str!("programs/tour.mpc");
    let a = ok(src);
    let b = ok(src);
    assert_eq!(a.bytecode.encode(), b.bytecode.encode());
    assert_eq!(a.hash, b.hash);
    assert_eq!(a.hash, *blake3::hash(&a.bytecode.encode()).as_bytes());
    assert_eq!(a.hash_hex().len(), 64);
}

#[test]
fn dict_and_set_iteration_order_is_deterministic() {
    let src = "d = {}\nfor k in ['z', 'a', 'm', 'b']:\n    d[k] = sint(len(k))\ns = set(['q', 'w', 'e'])\nfor k in d:\n    print_ln(k + ' %s', d[k].reveal())\nprint(s)\n";
    let first = ok(src);
    for _ in 0..5 {
        let again = ok(src);
        assert_eq!(again.hash, first.hash);
        assert_eq!(again.log, first.log);
    }
    assert_eq!(first.log, vec!["{'q', 'w', 'e'}"]);
}

#[test]
fn arguments_and_options_change_the_hash() {
    let src = "n = int(program.args[1])\nprint_ln('%s', sint(n).reveal())\n";
    let a = lang::compile(
        src,
        "p.mpc",
        &["3".into()],
        &lang::CompileOptions::default(),
    )
    .unwrap();
    let b = lang::compile(
        src,
        "p.mpc",
        &["4".into()],
        &lang::CompileOptions::default(),
    )
    .unwrap();
    assert_ne!(a.hash, b.hash);
    let opts = lang::CompileOptions {
        bit_length: 32,
        ..Default::default()
    };
    let c = lang::compile(src, "p.mpc", &["3".into()], &opts).unwrap();
    assert_ne!(a.hash, c.hash);
    assert_eq!(c.bytecode.params.bit_length, 32);
}

#[test]
fn header_layout() {
    let p = ok("x = sint(1)\n");
    let bytes = p.bytecode.encode();
    assert_eq!(&bytes[0..4], b"EPHB");
    assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 1);
    assert_eq!(u32::from_le_bytes(bytes[6..10].try_into().unwrap()), 64);
    assert_eq!(u32::from_le_bytes(bytes[10..14].try_into().unwrap()), 40);
    assert_eq!(
        u128::from_le_bytes(bytes[14..30].try_into().unwrap()),
        lang::DEFAULT_PRIME
    );
}

#[test]
fn decode_rejects_bad_input() {
    let p = ok(SEED);
    let bytes = p.bytecode.encode();
    assert!(Bytecode::decode(b"nope")
        .unwrap_err()
        .message
        .contains("magic"));
    let mut v2 = bytes.clone();
    v2[4] = 9;
    assert!(Bytecode::decode(&v2)
        .unwrap_err()
        .message
        .contains("version 9"));
    assert!(Bytecode::decode(&bytes[..bytes.len() - 1]).is_err());
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(Bytecode::decode(&trailing)
        .unwrap_err()
        .message
        .contains("trailing"));
    // Every truncation fails cleanly (no panic).
    for i in 0..bytes.len() {
        assert!(Bytecode::decode(&bytes[..i]).is_err());
    }
}

#[test]
fn validation_catches_bad_registers_jumps_and_calls() {
    let mut bc = ok("x = sint(1)\n").bytecode;
    assert!(bc.validate().is_ok());
    bc.functions[0].code.insert(
        0,
        Instr::AddS {
            dst: S(0),
            a: S(7),
            b: S(0),
            n: Size(1),
        },
    );
    assert!(bc.validate().unwrap_err().contains("register s7"));
    let mut bc = ok("x = sint(1)\n").bytecode;
    bc.functions[0]
        .code
        .insert(0, Instr::Jmp { target: Label(99) });
    assert!(bc.validate().unwrap_err().contains("jump target"));
    let mut bc = ok("x = sint(1)\n").bytecode;
    bc.functions[0].code.insert(
        0,
        Instr::Call {
            func: 5,
            args: vec![],
            rets: vec![],
        },
    );
    assert!(bc.validate().unwrap_err().contains("unknown function"));
    let mut bc = ok("@function\ndef f(x):\n    return x + 1\nf(sint(1))\n").bytecode;
    if let Instr::Call { args, .. } = &mut bc.functions[0].code[1] {
        args.clear();
    } else {
        panic!("expected a call:\n{bc}");
    }
    assert!(bc.validate().unwrap_err().contains("signature"));
}

#[test]
fn disassembly_format() {
    let a = asm("x = sint(5, size=3)\ny = (x * x).reveal()\nprint_ln('y=%s', y)\n");
    assert!(
        a.starts_with("; ephemeral bytecode v1, bit_length=64 security=40\n"),
        "{a}"
    );
    assert!(
        a.contains("function 0 main() -> ()  ; regs s=2 c=1 r=0"),
        "{a}"
    );
    assert_seq(
        &a,
        &[
            "ldsi s0, 5, n=3",
            "muls s1, s0, s0, n=3",
            "open c0, s1, n=3",
            "print [\"y=\", c0[n=3], \"\\n\"]",
            "ret",
        ],
    );
}

#[test]
fn every_instruction_encodes_and_decodes() {
    // A program touching most of the instruction set.
    let p = ok(include_str!("programs/tour.mpc"));
    let mut ops = std::collections::BTreeSet::new();
    for f in &p.bytecode.functions {
        for i in &f.code {
            ops.insert(i.mnemonic());
            let mut w = Vec::new();
            i.encode(&mut w);
            let mut r = lang::bytecode::encode::Reader::new(&w);
            assert_eq!(&Instr::decode(&mut r).unwrap(), i);
        }
    }
    assert!(
        ops.len() >= 40,
        "only {} distinct instructions: {ops:?}",
        ops.len()
    );
}

#[test]
fn cost_summary_multiplies_static_loops_and_marks_dynamic_ones() {
    let p = ok("a = sint.Array(10)\n@for_range(10)\ndef _(i):\n    a[i] = a[i] * a[i]\n");
    assert_eq!(p.summary.fixed.multiplications, 10);
    assert!(p.summary.is_static());
    let p = ok("n = regint(5)\na = sint.Array(10)\n@for_range(n)\ndef _(i):\n    a[i] = a[i] * a[i]\n    x = a[i] < 3\n");
    assert_eq!(p.summary.fixed.multiplications, 0);
    let d = p.summary.runtime_dependent.as_ref().expect("dynamic");
    assert_eq!(d.multiplications, 1);
    assert_eq!(d.kernels.get(&Kernel::Ltz { k: 65 }), Some(&1));
    let text = p.summary.to_string();
    assert!(text.contains("runtime-dependent"), "{text}");
}

#[test]
fn cost_summary_counts_kernels_inputs_and_functions() {
    let src = "a = sint.get_input_from(0, size=4)\nb = sint.get_input_from(1)\nc = (a < b)\nd = a == b\ne = a >> 3\nf = a % 8\ng = sfix(1.5) * sfix.get_input_from(1)\n@function\ndef sq(x):\n    return x * x\nfor i in range(3):\n    sq(b)\nbits = b.bit_decompose(8)\nr = sint.get_random_bit(size=2)\n";
    let s = ok(src).summary;
    assert_eq!(s.fixed.inputs.get(&0), Some(&4));
    assert_eq!(s.fixed.inputs.get(&1), Some(&2));
    assert_eq!(s.fixed.kernels.get(&Kernel::Ltz { k: 65 }), Some(&4));
    assert_eq!(s.fixed.kernels.get(&Kernel::Eqz { k: 65 }), Some(&4));
    assert_eq!(
        s.fixed.kernels.get(&Kernel::Trunc { k: 64, m: 3 }),
        Some(&4)
    );
    assert_eq!(
        s.fixed.kernels.get(&Kernel::Mod2m { k: 64, m: 3 }),
        Some(&4)
    );
    assert_eq!(
        s.fixed.kernels.get(&Kernel::TruncPr { k: 47, m: 16 }),
        Some(&1)
    );
    assert_eq!(
        s.fixed.kernels.get(&Kernel::BitDec { k: 64, m: 8 }),
        Some(&1)
    );
    assert_eq!(
        s.fixed.multiplications, 4,
        "three calls of sq, one sfix product"
    );
    assert_eq!(s.fixed.random_bits, 2);
    assert_eq!(s.functions, 2);
}

#[test]
fn if_else_arms_count_the_larger_arm() {
    let src = "c = regint(1)\na = sint(1)\n@if_e(c)\ndef _():\n    x = a * a * a\n@else_\ndef _():\n    x = a * a\n";
    assert_eq!(ok(src).summary.fixed.multiplications, 2);
}

#[test]
fn decoding_mutated_bytecode_never_panics() {
    let bytes = ok(include_str!("programs/tour.mpc")).bytecode.encode();
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..3000 {
        let mut m = bytes.clone();
        for _ in 0..(next() % 4 + 1) {
            let i = (next() as usize) % m.len();
            m[i] = next() as u8;
        }
        if let Ok(bc) = Bytecode::decode(&m) {
            // Whatever decodes is structurally valid and re-encodes identically.
            assert!(bc.validate().is_ok());
            assert_eq!(bc.encode(), m);
        }
    }
}
