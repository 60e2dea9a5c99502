//! The instruction set. See docs/LANG.md for the semantics of each instruction.

use super::encode::{DecodeError, Reader};
use super::operand::*;

macro_rules! instructions {
    ($(
        $(#[$m:meta])*
        $op:literal $name:ident $mn:literal { $($field:ident : $ty:ty),* $(,)? }
    )*) => {
        /// One bytecode instruction. Every register operand of an instruction with a vector
        /// size `n` holds `n` elements, and the operation acts element-wise.
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum Instr {
            $($(#[$m])* $name { $($field: $ty),* },)*
        }

        impl Instr {
            /// The opcode byte.
            pub fn opcode(&self) -> u8 {
                match self { $(Instr::$name { .. } => $op,)* }
            }

            /// The disassembler mnemonic.
            pub fn mnemonic(&self) -> &'static str {
                match self { $(Instr::$name { .. } => $mn,)* }
            }

            /// Appends the encoding: the opcode byte, then each operand little-endian.
            pub fn encode(&self, w: &mut Vec<u8>) {
                w.push(self.opcode());
                match self {
                    $(Instr::$name { $($field),* } => { $(Operand::enc($field, w);)* })*
                }
            }

            pub fn decode(r: &mut Reader<'_>) -> Result<Instr, DecodeError> {
                let op = r.u8()?;
                match op {
                    $($op => Ok(Instr::$name { $($field: <$ty as Operand>::dec(r)?),* }),)*
                    _ => Err(r.error(&format!("unknown opcode 0x{op:02x}"))),
                }
            }

            /// Calls `f` on every register operand (sources and destinations).
            pub fn for_each_reg(&self, f: &mut dyn FnMut(AnyReg)) {
                match self {
                    $(Instr::$name { $($field),* } => { $(Operand::visit_regs($field, f);)* })*
                }
            }

            /// Calls `f` on every string-table operand.
            pub fn for_each_str(&self, f: &mut dyn FnMut(u32)) {
                match self {
                    $(Instr::$name { $($field),* } => { $(Operand::visit_strs($field, f);)* })*
                }
            }

            /// Disassembly, with string operands resolved through `strings`.
            pub fn text(&self, strings: &[String]) -> String {
                let mut parts: Vec<String> = Vec::new();
                match self {
                    $(Instr::$name { $($field),* } => {
                        $(if let Some(t) = Operand::text($field, strings) { parts.push(t); })*
                    })*
                }
                if parts.is_empty() {
                    self.mnemonic().to_string()
                } else {
                    format!("{} {}", self.mnemonic(), parts.join(", "))
                }
            }
        }
    };
}

instructions! {
    // ---- immediates and moves -------------------------------------------------------------
    /// dst[i] = imm (a field element; negative values are p - |imm|).
    0x01 LdiS "ldsi" { dst: S, imm: i128, n: Size }
    0x02 LdiC "ldci" { dst: C, imm: i128, n: Size }
    0x03 LdiR "ldri" { dst: R, imm: i64, n: Size }
    /// Register copy (also how `.update()` writes a loop-carried value).
    0x04 Mov "mov" { dst: AnyReg, src: AnyReg, n: Size }

    // ---- local secret arithmetic (no communication) -------------------------------------
    0x10 AddS "adds" { dst: S, a: S, b: S, n: Size }
    0x11 SubS "subs" { dst: S, a: S, b: S, n: Size }
    /// secret + clear
    0x12 AddSC "addsc" { dst: S, a: S, b: C, n: Size }
    /// secret - clear
    0x13 SubSC "subsc" { dst: S, a: S, b: C, n: Size }
    /// clear - secret
    0x14 SubCS "subcs" { dst: S, a: C, b: S, n: Size }
    /// secret * clear
    0x15 MulSC "mulsc" { dst: S, a: S, b: C, n: Size }
    0x16 AddSI "addsi" { dst: S, a: S, imm: i128, n: Size }
    0x17 MulSI "mulsi" { dst: S, a: S, imm: i128, n: Size }
    0x18 NegS "negs" { dst: S, a: S, n: Size }

    // ---- clear (field) and regint arithmetic -------------------------------------------
    0x20 ClearBin "cop" { op: ClearOp, dst: C, a: C, b: C, n: Size }
    0x21 ClearBinI "copi" { op: ClearOp, dst: C, a: C, imm: i128, n: Size }
    /// Signed comparison of clear values; dst is a regint 0/1.
    0x22 ClearCmp "ccmp" { op: CmpOp, dst: R, a: C, b: C, n: Size }
    0x23 NegC "negc" { dst: C, a: C, n: Size }
    0x28 IntBin "rop" { op: IntOp, dst: R, a: R, b: R, n: Size }
    0x29 IntBinI "ropi" { op: IntOp, dst: R, a: R, imm: i64, n: Size }
    0x2a IntCmp "rcmp" { op: CmpOp, dst: R, a: R, b: R, n: Size }
    0x2b IntCmpI "rcmpi" { op: CmpOp, dst: R, a: R, imm: i64, n: Size }
    0x2c NegR "negr" { dst: R, a: R, n: Size }

    // ---- conversions ------------------------------------------------------------------
    /// regint -> clear
    0x30 ConvRC "convrc" { dst: C, src: R, n: Size }
    /// clear (signed) -> regint, wrapping to 64 bits
    0x31 ConvCR "convcr" { dst: R, src: C, n: Size }
    /// clear -> secret (a public value as a sharing)
    0x32 ConvCS "convcs" { dst: S, src: C, n: Size }
    /// regint -> secret
    0x33 ConvRS "convrs" { dst: S, src: R, n: Size }

    // ---- vector shaping -----------------------------------------------------------------
    /// dst[i] = base + ((i / repeat) mod wrap) * step; wrap = 0 means no wrap (`regint.inc`).
    0x38 IncR "incr" { dst: R, base: i64, step: i64, repeat: u32, wrap: u32, n: Size }
    /// dst[0..n] = src[start..start+n]
    0x39 VecSlice "vslice" { dst: AnyReg, src: AnyReg, start: u32, n: Size }
    /// dst = srcs[0] ++ srcs[1] ++ ...; sizes[j] is the length of srcs[j].
    0x3a VecConcat "vconcat" { dst: AnyReg, srcs: Vec<AnyReg>, sizes: Vec<u32> }
    /// dst[i] = src[0] for i < n
    0x3b VecSplat "vsplat" { dst: AnyReg, src: AnyReg, n: Size }
    /// dst[i] = sum(src[i*chunk .. (i+1)*chunk]) for i < n (local for secrets).
    0x3c VecSum "vsum" { dst: AnyReg, src: AnyReg, chunk: u32, n: Size }
    /// dst[i] = src[indices[i]] for i < n = len(indices).
    0x3d VecGather "vgather" { dst: AnyReg, src: AnyReg, indices: Vec<u32>, n: Size }

    // ---- memory -----------------------------------------------------------------------
    /// dst[i] = mem[addr + i] (the memory of dst's kind)
    0x40 LdM "ldm" { dst: AnyReg, addr: u64, n: Size }
    /// mem[addr + i] = src[i]
    0x41 StM "stm" { src: AnyReg, addr: u64, n: Size }
    /// dst[i] = mem[addr[0] + i], address from a regint; out of memory is a run-time error.
    0x42 LdMI "ldmi" { dst: AnyReg, addr: R, n: Size }
    0x43 StMI "stmi" { src: AnyReg, addr: R, n: Size }
    /// Run-time error "index out of range" (naming the source site) unless 0 <= idx < bound.
    0x44 CheckIndex "chkidx" { idx: R, bound: u64, site: Str }

    // ---- communication: vector kernels of the engine ----------------------------------
    /// secret x secret (Beaver; one triple per element)
    0x50 MulS "muls" { dst: S, a: S, b: S, n: Size }
    /// Reveal to all, MAC-checked before the value is used outside the engine.
    0x51 Open "open" { dst: C, src: S, n: Size }
    /// Reveal to one party only; the others get 0 in dst.
    0x52 OpenTo "opento" { dst: C, src: S, player: u32, n: Size }
    /// Private input of n values from `player`'s input source; f > 0: decimals scaled by 2^f.
    0x53 Input "input" { dst: S, player: u32, f: u32, n: Size }
    /// [src < 0] for signed k-bit src.
    0x54 Ltz "ltz" { dst: S, src: S, k: u32, n: Size }
    /// [src == 0] for signed k-bit src.
    0x55 Eqz "eqz" { dst: S, src: S, k: u32, n: Size }
    /// floor(src / 2^m), exact, for signed k-bit src.
    0x56 Trunc "trunc" { dst: S, src: S, k: u32, m: u32, n: Size }
    /// floor(src / 2^m) + u, u in {0,1} probabilistic (fixed-point multiplication).
    0x57 TruncPr "truncpr" { dst: S, src: S, k: u32, m: u32, n: Size }
    /// src mod 2^m in [0, 2^m) for signed k-bit src.
    0x58 Mod2m "mod2m" { dst: S, src: S, k: u32, m: u32, n: Size }
    /// The m = len(dsts) low bits of signed k-bit src (two's complement), LSB first.
    0x59 BitDec "bitdec" { dsts: Vec<S>, src: S, k: u32, n: Size }
    /// Fixed-point division a/b, both with f fractional bits and k bits in total (sfix /).
    0x5a FixDiv "fixdiv" { dst: S, a: S, b: S, k: u32, f: u32, n: Size }
    /// Integer division a/b truncated toward zero, for signed k-bit a and b (`int_div`).
    0x5b IntDiv "intdiv" { dst: S, a: S, b: S, k: u32, n: Size }
    /// A uniformly random secret bit per element.
    0x5c RandBit "randbit" { dst: S, n: Size }
    /// A uniformly random secret integer in [0, 2^bits) per element.
    0x5d RandInt "randint" { dst: S, bits: u32, n: Size }
    /// A multiplication triple (a, b, c = ab) per element.
    0x5e Triple "triple" { a: S, b: S, c: S, n: Size }
    /// A secure shuffle of n units: every party inputs the switch bits of its own uniformly
    /// random permutation as a Beneš network (bits checked, docs/PROTOCOL.md); dst is a
    /// handle for `applyshuffle` (`sint.get_secure_shuffle(n)`).
    0x5f GenShuffle "genshuffle" { dst: R, units: u32 }
    /// dst = src permuted by shuffle `handle` (units of `unit` consecutive elements; reverse
    /// != 0 applies the inverse); n = units * unit elements.
    0x60 ApplyShuffle "applyshuffle" { dst: S, src: S, handle: R, unit: u32, reverse: u32, n: Size }

    // ---- control flow -----------------------------------------------------------------
    0x70 Jmp "jmp" { target: Label }
    /// Jump if cond[0] != 0.
    0x71 JmpNz "jmpnz" { cond: R, target: Label }
    /// Jump if cond[0] == 0.
    0x72 JmpZ "jmpz" { cond: R, target: Label }
    /// Call function `func` with a fresh register frame: args are copied into its params,
    /// and on return its results are copied into rets.
    0x73 Call "call" { func: u32, args: Vec<AnyReg>, rets: Vec<AnyReg> }
    /// Return from the function (from `main`: end the program).
    0x74 Return "ret" { }

    // ---- input/output and environment -------------------------------------------------
    /// Print one line (or part of one): text and clear values.
    0x80 Print "print" { target: PrintTarget, parts: Vec<PrintPart> }
    /// n public values from the public input source (`public_input()`).
    0x81 PublicInput "pubinput" { dst: C, n: Size }
    0x82 PlayerId "playerid" { dst: R }
    0x83 NumPlayers "nplayers" { dst: R }
    /// Stop the program with an error carrying msg (`crash`, `runtime_error`).
    0x84 Crash "crash" { msg: Str }
    /// start = 1: start timer id; start = 0: stop it and report.
    0x85 Timer "timer" { start: u32, id: u32 }
    /// Start accepting clients on the host-supplied socket interface.
    0x86 Listen "listen" { port: R }
    /// Wait for the next client on port; dst = its client id.
    0x87 Accept "accept" { dst: R, port: R }
    0x88 CloseClient "closeclient" { client: R }
    /// Read one message: for j < n, for each dst: dst[j] (interleaved by vector index).
    0x89 SockRead "sockread" { kind: SockKind, client: R, dsts: Vec<AnyReg>, n: Size }
    /// Write one message in the same order; msg_type != 0 is prepended as 4 bytes LE.
    0x8a SockWrite "sockwrite" { kind: SockKind, client: R, msg_type: i64, srcs: Vec<AnyReg>, n: Size }
}

impl Instr {
    /// The jump target, if this is a jump.
    pub fn target_mut(&mut self) -> Option<&mut Label> {
        match self {
            Instr::Jmp { target } | Instr::JmpNz { target, .. } | Instr::JmpZ { target, .. } => {
                Some(target)
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for Instr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text(&[]))
    }
}
