"""Clouds for tests of code built on the SDK. :class:`DevCloud` starts a real local one
(`ephemeral dev`). :class:`FakeCloud` is a fake one: the client crate's own
(``client::testing``), N in-process HTTP parties on loopback ports that speak the Ephemeral
API and compute honest shares, one of which may tamper.

The fake keeps secrets in clear and does not run programs: a game's outputs are the values of
its input secrets in order, followed by their sum; code containing ``fail`` does not compile.

>>> from ephemeral.testing import FakeCloud
>>> with FakeCloud(2, tamper=("download_share", 1)) as cloud:   # doctest: +SKIP
...     c = cloud.client()
...     s = c.secrets.create([1, 2])
...     c.secrets.get(s)          # raises ephemeral.IntegrityError
"""

from __future__ import annotations

import os
import pathlib
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Any, List, Optional, Tuple

from . import _native
from ._client import Client
from .errors import EphemeralError

TAMPERINGS: List[str] = list(_native.NativeFakeCloud.tamperings())
"""What a tampering party can do: ``mask_share`` (+1 on its share of an input mask),
``download_share`` and ``download_w`` (+1 on its share of a value or of w in a download),
``secret_id`` (another id for a new secret), ``game_share`` (+1 on its share of a game's
output), ``plaintext`` (another plaintext output), ``program_hash``, ``output_ids``,
``party_id`` (claims to be another party)."""


class FakeCloud:
    """``parties`` fake parties; ``tamper=(what, party)`` makes one of them cheat (see
    :data:`TAMPERINGS`). Stops when closed (or at the end of a ``with`` block)."""

    def __init__(self, parties: int = 2, *, tamper: Optional[Tuple[str, int]] = None) -> None:
        self._cloud = _native.NativeFakeCloud(parties, tamper)
        self.parties = parties
        self.tamper = tamper

    @property
    def urls(self) -> List[str]:
        """The parties' base URLs."""
        return list(self._cloud.urls)

    @property
    def cloud_toml(self) -> str:
        """A cloud file for this fake cloud (for ``Client.from_cloud_file`` or the CLI)."""
        return str(self._cloud.cloud_toml)

    def client(self, **kw: Any) -> Client:
        """A :class:`ephemeral.Client` of this fake cloud (``f``, ``k`` as for Client)."""
        return Client([], _native_client=self._cloud.client(), **kw)

    def close(self) -> None:
        """Stops the parties."""
        self._cloud.close()

    def __enter__(self) -> "FakeCloud":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


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
    """A real local cloud: one ``ephemeral dev`` process with ``parties`` nodes in a temporary
    directory, on free loopback ports, with HOME pointed there (so that the user's
    ``~/.config/ephemeral/cloud.toml`` stays untouched). MASCOT preprocessing unless
    ``insecure_dealer``. Waits until every party is healthy; stops (SIGINT) on ``stop`` or at
    the end of a ``with`` block. ``binary`` defaults to ``$EPHEMERAL_BIN``, else ``ephemeral``
    on PATH."""

    def __init__(
        self,
        parties: int = 2,
        *,
        insecure_dealer: bool = False,
        binary: Optional[str] = None,
        timeout: float = 120.0,
    ) -> None:
        self.parties = parties
        self.tmp = tempfile.TemporaryDirectory(prefix="ephemeral-dev-")
        self.dir = pathlib.Path(self.tmp.name) / "dev"
        self.cloud_file = self.dir / "cloud.toml"
        self.log_path = pathlib.Path(self.tmp.name) / "dev.log"
        binary = binary or os.environ.get("EPHEMERAL_BIN") or shutil.which("ephemeral")
        if not binary:
            raise FileNotFoundError(
                "no ephemeral binary: pass binary=, set EPHEMERAL_BIN or put ephemeral on PATH"
            )
        args = [binary, "dev", "-N", str(parties), "--dir", str(self.dir),
                "--port", str(free_base_port(parties))]
        if insecure_dealer:
            args.append("--insecure-dealer")
        env = dict(os.environ, HOME=self.tmp.name)
        env.pop("EPHEMERAL_CLOUD", None)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     stdin=subprocess.DEVNULL)
        self._wait_up(timeout)

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
                except EphemeralError:
                    pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"ephemeral dev did not come up within {timeout} s:\n{self.log_tail()}")

    def client(self, **kw: Any) -> Client:
        """A client of this cloud (arguments as for :class:`ephemeral.Client`)."""
        return Client.from_cloud_file(self.cloud_file, **kw)

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

    def __enter__(self) -> "DevCloud":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
