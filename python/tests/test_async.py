"""The async client against a real `ephemeral dev` cloud."""

from __future__ import annotations

import asyncio

import pytest

import ephemeral as eph
from conftest import SEED
from programs import LONG


def test_the_async_client_runs_calls_concurrently(dev) -> None:
    async def main() -> None:
        async with eph.AsyncClient.from_cloud_file(dev.cloud_file) as c:
            assert c.parties == 2
            a, b = await asyncio.gather(
                c.secrets.create([42], tags={"name": "a"}), c.secrets.create([17])
            )
            results = await asyncio.gather(
                *(c.execute(SEED, inputs=[a, b]) for _ in range(4)),
                c.execute(SEED, inputs=[a, b], output="shares"),
            )
            assert [r.values for r in results] == [[59]] * 5
            s = (await c.execute(SEED, [a, b], "secret")).secret_id
            assert await c.secrets.get(s) == [59]
            assert (await c.secrets.info(a)).tags["name"] == "a"
            assert s in (await c.secrets.list()).ids
            await c.secrets.set_tag(a, "k", 1)
            assert (await c.secrets.tags(a))["k"] == 1
            await c.secrets.delete(s)
            with pytest.raises(eph.NotFoundError):
                await c.secrets.get(s)
            f = await c.functions.deploy("py-async-sum", SEED)
            assert any(x.name == f.name for x in await c.functions.list())
            await c.functions.delete("py-async-sum")
            assert len(await c.health()) == 2 and len(await c.tuple_stats()) == 2

            # Progress callbacks may be coroutine functions, run on this loop.
            seen = []
            loop = asyncio.get_running_loop()

            async def progress(status: eph.GameStatus) -> None:
                assert asyncio.get_running_loop() is loop
                seen.append(status.status)

            r = await c.execute(LONG, public_input="3000", on_progress=progress,
                                progress_interval=0.01)
            assert r.printed.strip() == "1" and seen
            assert len(await c.game_status(r.game_id)) == 2

    asyncio.run(main())


def test_the_event_loop_runs_while_a_call_waits(dev) -> None:
    async def main() -> None:
        c = eph.AsyncClient.from_cloud_file(dev.cloud_file)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        t = asyncio.create_task(ticker())
        r = await c.execute(LONG, public_input="300")
        t.cancel()
        assert r.printed.strip() == "1"
        assert ticks > 3, "the loop was blocked while the game ran"
        await c.aclose()

    asyncio.run(main())
