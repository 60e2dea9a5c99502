"""Helpers for the deployment tests: the `ephemeral` CLI on the host, Docker, and timing.

Used by containers.py (the Compose cloud) and helm_check.py (the chart's rendered configs).
Standard library only. Every command has a timeout; a failure raises with the command's output.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("EPHEMERAL_BIN", str(ROOT / "target/debug/ephemeral"))
SEED = ROOT / "examples/seed.mpc"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class CommandFailed(Exception):
    def __init__(self, cmd: list[str], rc: int, out: str, err: str):
        super().__init__(f"{' '.join(cmd)} exited {rc}\nstdout: {out[-3000:]}\nstderr: {err[-3000:]}")
        self.rc, self.out, self.err = rc, out, err


def sh(cmd: list[str], timeout: float = 120, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env, cwd=ROOT)
    except subprocess.TimeoutExpired as e:
        raise CommandFailed(cmd, -1, str(e.stdout or ""), f"timed out after {timeout} s") from None
    if check and p.returncode != 0:
        raise CommandFailed(cmd, p.returncode, p.stdout, p.stderr)
    return p


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports on 127.0.0.1 (bound, then released)."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Cloud:
    """The CLI against one cloud file."""

    def __init__(self, cloud_file: Path):
        self.cloud = str(cloud_file)
        self.parties = tomllib.loads(Path(cloud_file).read_text())["parties"]

    def cli(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        return sh([BIN, *args, "--cloud", self.cloud, "--json"], timeout=timeout, check=check)

    def health(self) -> list[dict] | None:
        p = self.cli("health", timeout=20, check=False)
        if p.returncode != 0:
            return None
        return json.loads(p.stdout)

    def wait_ok(self, limit: float, what: str) -> float:
        """Waits until every party reports status ok (all peers connected); the seconds taken."""
        t0 = time.monotonic()
        last = None
        while time.monotonic() - t0 < limit:
            h = self.health()
            if h is not None and all(x["status"] == "ok" for x in h):
                return time.monotonic() - t0
            last = h
            time.sleep(0.5)
        raise AssertionError(f"{what}: the cloud was not healthy within {limit} s; last health: {last}")

    def create(self, *values: int, tag: str | None = None) -> str:
        args = ["secret", "create", *[str(v) for v in values]]
        if tag:
            args += ["--tag", tag]
        return json.loads(self.cli(*args).stdout)["id"]

    def get(self, sid: str) -> list[int]:
        return [int(v) for v in json.loads(self.cli("secret", "get", sid).stdout)["values"]]

    def list_ids(self) -> set[str]:
        page = json.loads(self.cli("secret", "list").stdout)
        return {item["id"] for item in page["items"]}

    def seed(self, a: str, b: str, timeout: float = 300) -> list[int]:
        """Runs examples/seed.mpc (a + b) on secrets a and b; the plaintext outputs."""
        p = self.cli("execute", str(SEED), "--input", a, "--input", b, "--output", "plaintext", timeout=timeout)
        return plaintext(json.loads(p.stdout))

    def seed_fails(self, a: str, b: str, parties: list[int], limit: float) -> tuple[float, str]:
        """Sends the seed game straight to `parties` (the ones still reachable) and requires
        every one of them to answer with an error within `limit` seconds: the nodes themselves
        fail the game, whatever the client does. Returns (slowest answer's seconds, an error)."""
        game = str(uuid.uuid4())
        body = json.dumps({"gameID": game, "code": SEED.read_text(), "amphoraParams": [a, b],
                           "output": {"type": "PLAINTEXT"}}).encode()
        results: dict[int, tuple[float, int, str]] = {}

        def post(i: int) -> None:
            t0 = time.monotonic()
            code, text = self.http(i, "POST", "/v1/games", body, timeout=limit + 30)
            results[i] = (time.monotonic() - t0, code, text)

        threads = [threading.Thread(target=post, args=(i,)) for i in parties]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i in parties:
            took, code, text = results[i]
            if code == 200:
                raise AssertionError(f"party {i} ran the game although a party was out: {text[:300]}")
            if took > limit:
                raise AssertionError(f"party {i} failed the game only after {took:.1f} s (limit {limit} s): {text[:300]}")
        slowest = max(results.values())
        return slowest[0], f"HTTP {slowest[1]}: {slowest[2][:240]}"

    def http(self, i: int, method: str, path: str, body: bytes | None, timeout: float) -> tuple[int, str]:
        """One HTTPS request to party i, as the cloud file says (URL, token, pinned certificate)."""
        p = self.parties[i]
        ctx = ssl.create_default_context(cafile=p["ca_cert"])
        req = urllib.request.Request(p["url"].rstrip("/") + path, data=body, method=method,
                                     headers={"Authorization": f"Bearer {p['token']}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")
        except (urllib.error.URLError, OSError) as e:
            return -1, str(e)


def plaintext(result: dict) -> list[int]:
    """The plaintext values of `ephemeral execute --json` output."""
    out = result["outputs"]
    # Outputs serialise as {"plaintext": [...]} (or a list directly in older versions).
    if isinstance(out, dict):
        for key in ("plaintext", "Plaintext", "values"):
            if key in out:
                out = out[key]
                break
    if not isinstance(out, list):
        raise AssertionError(f"no plaintext outputs in {result}")
    return [int(v) for v in out]


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    return sh(["docker", *args], timeout=timeout, check=check)


def container_state(name: str) -> dict:
    return json.loads(docker("inspect", "-f", "{{json .State}}", name).stdout)


def fail(msg: str) -> None:
    log(f"FAILED: {msg}")
    sys.exit(1)
