"""A fake virtual cloud for tests of code built on the SDK: the client crate's own
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

from typing import Any, List, Optional, Tuple

from . import _native
from ._client import Client

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
