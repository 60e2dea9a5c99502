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
from typing import Iterator

import pytest

import ephemeral as eph
from ephemeral.testing import DevCloud

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


@pytest.fixture(scope="session")
def dev() -> Iterator[DevCloud]:
    """A 2-party cloud on INSECURE dealer tuples (fast preprocessing: most API tests)."""
    c = DevCloud(2, insecure_dealer=True, binary=ephemeral_bin())
    yield c
    c.stop()


@pytest.fixture(scope="session")
def secure_dev() -> Iterator[DevCloud]:
    """A 2-party cloud on the default, maliciously secure MASCOT preprocessing."""
    c = DevCloud(2, insecure_dealer=False, binary=ephemeral_bin())
    yield c
    c.stop()


@pytest.fixture()
def client(dev: DevCloud) -> eph.Client:
    return dev.client()
