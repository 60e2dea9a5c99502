"""Latency of the seed example through the Python SDK, beside the Rust SDK's, in one run.

Starts a 2-party `ephemeral dev` cloud (INSECURE dealer tuples, as the node benchmarks of
`ephemeral bench`, so that preprocessing stays out of the online latency), uploads 42 and 17,
and then times `examples/seed.mpc` with plaintext output, warm (the compile cache holds the
program, the connections stand), sequentially, in alternating blocks:

- Python: `client.execute(SEED, inputs=[a, b])`, timed around the Python call;
- Rust: the same loop as crates/cli/src/bench_node.rs, run by the Rust SDK inside the same
  process (`ephemeral._native.rust_seed_latencies`), on the same client and cloud.

    python python/bench/bench_latency.py [--runs 300] [--write docs/BENCHMARKS.md]

needs the wheel installed (scripts/suites/10-python.sh leaves one in target/py-venv) and the
`ephemeral` binary ($EPHEMERAL_BIN, default target/debug/ephemeral). With --write, it replaces
its own section ("## Python SDK") of the file, or appends it.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import statistics
import sys
import time
from typing import List

import ephemeral as eph
from ephemeral import _native
from ephemeral.testing import DevCloud

REPO = pathlib.Path(__file__).resolve().parents[2]
SEED = (REPO / "examples" / "seed.mpc").read_text()
HEADING = "## Python SDK"


def pct(sorted_v: List[float], p: float) -> float:
    return sorted_v[round((len(sorted_v) - 1) * p)]


def python_latencies(c: eph.Client, a: str, b: str, runs: int) -> List[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        r = c.execute(SEED, inputs=[a, b])
        out.append(time.perf_counter() - t)
        if r.values != [59]:
            raise SystemExit(f"the seed example returned {r.values}, not [59]")
    return out


def section(
    py: List[float], rs: List[float], runs: int, warm: int, blocks: int, load: float
) -> str:
    py, rs = sorted(py), sorted(rs)
    ratio = statistics.median(py) / statistics.median(rs)
    ms = lambda x: f"{x * 1e3:.2f} ms"  # noqa: E731
    return "\n".join([
        HEADING,
        "",
        "The seed example (`examples/seed.mpc`, 42 + 17, plaintext output) on a 2-party "
        "`ephemeral dev` cloud (INSECURE dealer tuples, HTTPS API, mutual-TLS gateway on "
        "loopback), warm, sequential: through the Python SDK (`client.execute`, timed around "
        "the Python call: argument conversion, GIL release, JSON result, dataclasses) and "
        "through the Rust SDK in the same process on the same client and cloud (the loop of "
        "`ephemeral bench`'s node benchmark), in alternating blocks of the same run. "
        f"{warm} warm-up games, then {runs} timed games each, in {blocks} blocks. Python "
        f"{platform.python_version()}; the wheel of `scripts/suites/10-python.sh` (dev profile: "
        "dependencies at opt-level 2, the SDK's crates at 0; both SDKs run the same compiled "
        f"client crate); {os.cpu_count()} cores, load average {load:.1f} during the run; "
        f"{time.strftime('%Y-%m-%d', time.gmtime())}. "
        "Command: `target/py-venv/bin/python python/bench/bench_latency.py --write "
        "docs/BENCHMARKS.md` (after `scripts/test --suite python`).",
        "",
        "| SDK | median | p90 | p99 | target |",
        "|---|---|---|---|---|",
        f"| Rust | {ms(statistics.median(rs))} | {ms(pct(rs, 0.9))} | {ms(pct(rs, 0.99))} | – |",
        f"| Python | {ms(statistics.median(py))} | {ms(pct(py, 0.9))} | {ms(pct(py, 0.99))} | "
        f"within 20% of Rust: {ratio:.2f}× ({'met' if ratio <= 1.2 else 'NOT met'}) |",
        "",
    ])


def write_section(path: pathlib.Path, text: str) -> None:
    md = path.read_text() if path.exists() else "# Benchmarks\n\n"
    start = md.find(HEADING + "\n")
    if start < 0:
        md = md.rstrip("\n") + "\n\n" + text
    else:
        end = md.find("\n## ", start + len(HEADING))
        md = md[:start] + text + ("" if end < 0 else md[end + 1:])
    path.write_text(md)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=300, help="timed games per SDK")
    ap.add_argument("--warm", type=int, default=20, help="untimed games first")
    ap.add_argument("--blocks", type=int, default=6, help="alternating blocks")
    ap.add_argument("--bin", default=os.environ.get("EPHEMERAL_BIN")
                    or str(REPO / "target" / "debug" / "ephemeral"))
    ap.add_argument("--write", type=pathlib.Path, help="the markdown file to write the section to")
    args = ap.parse_args()
    with DevCloud(2, insecure_dealer=True, binary=args.bin) as cloud:
        c = cloud.client()
        a, b = c.secrets.create([42]), c.secrets.create([17])
        python_latencies(c, a, b, args.warm)
        _native.rust_seed_latencies(c._native, SEED, a, b, [59], args.warm, 0)
        per = max(1, args.runs // args.blocks)
        py: List[float] = []
        rs: List[float] = []
        for _ in range(args.blocks):
            rs += _native.rust_seed_latencies(c._native, SEED, a, b, [59], 0, per)
            py += python_latencies(c, a, b, per)
    load = os.getloadavg()[0]
    text = section(py, rs, len(py), args.warm, args.blocks, load)
    print(text)
    if args.write:
        write_section(args.write, text)
        print(f"wrote {args.write}", file=sys.stderr)


if __name__ == "__main__":
    main()
