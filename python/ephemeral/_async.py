"""The asynchronous client: :class:`AsyncClient`, the same API with ``await``.

Each call runs the synchronous client's call in a worker thread of the client's own pool;
the native code releases the GIL while the parties work, so the event loop keeps running and
calls from many tasks proceed at once. A cancelled ``await`` stops waiting, but a request
already sent completes at the parties.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, TypeVar, Union

from ._client import Client, PartySpec, SecretRef
from ._types import (
    ExecutionResult,
    FunctionInfo,
    GameStatus,
    Health,
    SecretInfo,
    SecretPage,
    TagValue,
    TupleStats,
)

T = TypeVar("T")


class _Runner:
    def __init__(self, workers: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ephemeral-async")

    async def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, functools.partial(fn, *args, **kwargs))


class AsyncSecrets:
    """``await client.secrets.create(...)`` and friends (see :class:`ephemeral.Secrets`)."""

    def __init__(self, client: Client, run: _Runner) -> None:
        self._s = client.secrets
        self._run = run

    async def create(self, values: Any, **kw: Any) -> str:
        return await self._run(self._s.create, values, **kw)

    async def get(self, secret: SecretRef, **kw: Any) -> Any:
        return await self._run(self._s.get, secret, **kw)

    async def list(
        self, filter: Union[None, str, Mapping[str, Any]] = None, **kw: Any
    ) -> SecretPage:
        return await self._run(self._s.list, filter, **kw)

    async def info(self, secret: SecretRef) -> SecretInfo:
        return await self._run(self._s.info, secret)

    async def delete(self, secret: SecretRef) -> None:
        await self._run(self._s.delete, secret)

    async def tags(self, secret: SecretRef) -> Dict[str, TagValue]:
        return await self._run(self._s.tags, secret)

    async def set_tag(self, secret: SecretRef, key: str, value: TagValue) -> None:
        await self._run(self._s.set_tag, secret, key, value)

    async def add_tag(self, secret: SecretRef, key: str, value: TagValue) -> None:
        await self._run(self._s.add_tag, secret, key, value)

    async def replace_tags(self, secret: SecretRef, tags: Mapping[str, TagValue]) -> None:
        await self._run(self._s.replace_tags, secret, tags)

    async def delete_tag(self, secret: SecretRef, key: str) -> None:
        await self._run(self._s.delete_tag, secret, key)


class AsyncFunctions:
    """``await client.functions.deploy(...)`` and friends (see :class:`ephemeral.Functions`)."""

    def __init__(self, client: Client, run: _Runner) -> None:
        self._f = client.functions
        self._run = run

    async def deploy(self, name: str, code: str, args: Sequence[str] = ()) -> FunctionInfo:
        return await self._run(self._f.deploy, name, code, args)

    async def list(self, name: Optional[str] = None) -> List[FunctionInfo]:
        return await self._run(self._f.list, name)

    async def delete(self, name: str) -> None:
        await self._run(self._f.delete, name)


class AsyncClient:
    """The asynchronous client, with the arguments of :class:`ephemeral.Client`.

    >>> async with eph.AsyncClient.from_cloud_file() as c:     # doctest: +SKIP
    ...     a, b = await asyncio.gather(c.secrets.create([42]), c.secrets.create([17]))
    ...     (await c.execute(SEED, inputs=[a, b])).values
    [59]

    ``workers`` bounds the calls in flight at once (default: 16). ``on_progress`` of
    :meth:`execute` may be a plain function (called in a worker thread) or a coroutine
    function (scheduled on the caller's event loop).
    """

    def __init__(
        self,
        parties: Sequence[PartySpec] = (),
        *,
        workers: int = 16,
        client: Optional[Client] = None,
        **kw: Any,
    ) -> None:
        self.sync = client if client is not None else Client(parties, **kw)
        self._run = _Runner(workers)
        self.secrets = AsyncSecrets(self.sync, self._run)
        self.functions = AsyncFunctions(self.sync, self._run)

    @classmethod
    def from_cloud_file(
        cls, path: Union[None, str, "os.PathLike[str]"] = None, *, workers: int = 16, **kw: Any
    ) -> "AsyncClient":
        """See :meth:`ephemeral.Client.from_cloud_file`."""
        return cls(client=Client.from_cloud_file(path, **kw), workers=workers)

    @property
    def parties(self) -> int:
        return self.sync.parties

    async def execute(self, program: Optional[str] = None, *args: Any, **kw: Any) -> ExecutionResult:
        """See :meth:`ephemeral.Client.execute`."""
        cb = kw.get("on_progress")
        if cb is not None and inspect.iscoroutinefunction(cb):
            loop = asyncio.get_running_loop()

            def in_thread(status: GameStatus) -> None:
                asyncio.run_coroutine_threadsafe(cb(status), loop).result()

            kw["on_progress"] = in_thread
        return await self._run(self.sync.execute, program, *args, **kw)

    async def game_status(self, game_id: str) -> List[GameStatus]:
        return await self._run(self.sync.game_status, game_id)

    async def tuple_stats(self) -> List[TupleStats]:
        return await self._run(self.sync.tuple_stats)

    async def health(self) -> List[Health]:
        return await self._run(self.sync.health)

    async def aclose(self) -> None:
        """Waits for calls in flight, then releases the worker threads."""
        await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(self._run.pool.shutdown, wait=True)
        )
        self.sync.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
