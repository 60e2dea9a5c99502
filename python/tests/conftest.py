"""Fixtures: real `ephemeral dev` clouds (started once per session, stopped at its end) and the
client crate's fake cloud.

`$EPHEMERAL_BIN` names the `ephemeral` binary (scripts/test sets it; default: the workspace's
target/debug/ephemeral). Every cloud runs in a temporary directory, with HOME pointed there too
so that `ephemeral dev` does not write the user's ~/.config/ephemeral/cloud.toml, on free
loopback ports.
"""

from __future__ import annotations

import os
import pathlib
import random
import signal
import socket
import subprocess
import tempfile
import time
from typing import Iterator, List

import pytest

import ephemeral as eph

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SEED = (EXAMPLES / "seed.mpc").read_text()


def ephemeral_bin() -> str:
    b = os.environ.get("EPHEMERAL_BIN") or str(REPO / "target" / "debug" / "ephemeral")
    if not os.access(b, os.X_OK):
        pytest.fail(
            f"no ephemeral binary at {b}: set EPHEMERAL_BIN or run `cargo build -p cli`",
            pytrace=False,
        )
    return b


def _ports_free(ports: List[int]) -> bool:
    socks = []
    try:
        for p in ports:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def free_base_port(n: int) -> int:
    """A base port P with P..P+n-1 and P+100..P+100+n-1 free (as `ephemeral dev` uses them)."""
    for _ in range(200):
        base = random.randrange(20000, 60000)
        ports = [base + i for i in range(n)] + [base + 100 + i for i in range(n)]
        if _ports_free(ports):
            return base
    raise RuntimeError("no free loopback ports for an ephemeral dev cloud")


class DevCloud:
    """One `ephemeral dev` process: N parties in a temporary directory."""

    def __init__(self, parties: int, insecure_dealer: bool) -> None:
        self.parties = parties
        self.tmp = tempfile.TemporaryDirectory(prefix="ephemeral-pytest-")
        self.dir = pathlib.Path(self.tmp.name) / "dev"
        self.cloud_file = self.dir / "cloud.toml"
        self.log_path = pathlib.Path(self.tmp.name) / "dev.log"
        args = [ephemeral_bin(), "dev", "-N", str(parties), "--dir", str(self.dir),
                "--port", str(free_base_port(parties))]
        if insecure_dealer:
            args.append("--insecure-dealer")
        env = dict(os.environ, HOME=self.tmp.name)
        env.pop("EPHEMERAL_CLOUD", None)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     stdin=subprocess.DEVNULL)
        self._wait_up(timeout=120)

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text()[-4000:]
        except OSError:
            return ""

    def _wait_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ephemeral dev exited with {self.proc.returncode}:\n{self.log_tail()}")
            if "Stop with Ctrl-C" in self.log_tail() and self.cloud_file.exists():
                try:
                    if all(h.ok for h in self.client().health()):
                        return
                except eph.EphemeralError:
                    pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"ephemeral dev did not come up within {timeout} s:\n{self.log_tail()}")

    def client(self, **kw) -> eph.Client:
        return eph.Client.from_cloud_file(self.cloud_file, **kw)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        self.tmp.cleanup()


@pytest.fixture(scope="session")
def dev() -> Iterator[DevCloud]:
    """A 2-party cloud on INSECURE dealer tuples (fast preprocessing: most API tests)."""
    c = DevCloud(2, insecure_dealer=True)
    yield c
    c.stop()


@pytest.fixture(scope="session")
def secure_dev() -> Iterator[DevCloud]:
    """A 2-party cloud on the default, maliciously secure MASCOT preprocessing."""
    c = DevCloud(2, insecure_dealer=False)
    yield c
    c.stop()


@pytest.fixture()
def client(dev: DevCloud) -> eph.Client:
    return dev.client()
