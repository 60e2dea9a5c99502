"""Games against a real `ephemeral dev` cloud: code and deployed functions, every output mode,
game ids, public and private input, fixed-point programs, progress callbacks, errors."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

import ephemeral as eph
from conftest import SEED
from programs import LONG, MEAN_AND_COUNT, PUBLIC_PRIVATE, SFIX


@pytest.fixture(scope="module")
def ab(dev) -> tuple:
    c = dev.client()
    return c.secrets.create([42], tags={"name": "a"}), c.secrets.create([17], tags={"name": "b"})


def test_the_seed_example_in_every_output_mode(client: eph.Client, ab: tuple) -> None:
    a, b = ab
    r = client.execute(SEED, inputs=[a, b])
    assert r.output == "plaintext" and r.values == [59]
    assert len(r.program_hash) == 64 and len(r.stats) == 2
    assert r.array().tolist() == [59] and r.array().dtype == np.int64
    r = client.execute(SEED, inputs=[a, b], output="shares")
    assert r.output == "shares" and r.values == [59]
    r = client.execute(SEED, [a, b], "secret", tags={"kind": "sum"})
    assert r.output == "secret"
    s = r.secret_id
    assert client.secrets.get(s) == [59]
    assert client.secrets.tags(s)["kind"] == "sum"
    with pytest.raises(eph.UsageError, match="stored as secrets"):
        r.values
    with pytest.raises(eph.UsageError, match="unknown output"):
        client.execute(SEED, [a, b], "csv")
    with pytest.raises(eph.UsageError, match="output=\"secret\""):
        client.execute(SEED, [a, b], tags={"k": "v"})


def test_functions_deploy_list_execute_by_name_and_delete(client: eph.Client, ab: tuple) -> None:
    a, b = ab
    name = f"py-sum-{uuid.uuid4().hex[:8]}"
    info = client.functions.deploy(name, SEED)
    assert info.name == name and info.version == 1 and len(info.program_hash) == 64
    assert isinstance(info.requires, dict)  # the tuples one run consumes
    assert any(f.name == name for f in client.functions.list())
    assert [f.version for f in client.functions.list(name)] == [1]
    r = client.execute(name, inputs=[a, b], output="shares")
    assert r.values == [59] and r.program_hash == info.program_hash
    assert client.execute(function=name, inputs=[a, b]).values == [59]
    client.functions.delete(name)
    with pytest.raises(eph.NotFoundError):
        client.execute(name, inputs=[a, b])
    with pytest.raises(eph.NotFoundError):
        client.functions.list(name)


def test_game_ids_and_game_status(client: eph.Client, ab: tuple) -> None:
    gid = f"py-game-{uuid.uuid4()}"
    r = client.execute(SEED, inputs=list(ab), game_id=gid)
    assert r.game_id == gid
    statuses = client.game_status(gid)
    assert [s.game_id for s in statuses] == [gid, gid]
    assert all(s.status == "succeeded" for s in statuses)
    # A game id is used once.
    with pytest.raises(eph.PartyError) as e:
        client.execute(SEED, inputs=list(ab), game_id=gid)
    assert e.value.code == "conflict"


def test_public_and_private_inputs(client: eph.Client) -> None:
    r = client.execute(PUBLIC_PRIVATE, public_input="6", private_inputs={1: "7"})
    assert "product: 42" in r.printed
    r = client.execute(PUBLIC_PRIVATE, public_input=[5], private_inputs=[None, [9]])
    assert "product: 45" in r.printed
    with pytest.raises(eph.UsageError, match="parties are 0..1"):
        client.execute(PUBLIC_PRIVATE, public_input="1", private_inputs={2: "1"})


def test_a_program_reads_fixed_point_secrets_as_sfix(client: eph.Client) -> None:
    x = client.secrets.create([3.25])
    y = client.secrets.create([-0.5])
    r = client.execute(SFIX, inputs=[x, y], fixed=True)
    total, doubled, mean = r.values
    assert total == 2.75 and doubled == 6.5
    assert abs(mean - 1.375) <= 2**-15
    assert "above three: 1" in r.printed
    assert r.array().dtype == np.float64
    # Shares come back decoded the same way; the raw sfix integers are there too.
    r = client.execute(SFIX, inputs=[x, y], output="shares", fixed=True)
    assert r.values[:2] == [2.75, 6.5] and r.ints[0] == round(2.75 * 2**16)


def test_the_walk_through_mean_and_count(client: eph.Client) -> None:
    ages = np.array([34, 51, 29, 62, 45])
    salaries = np.array([52000.5, 61000.25, 48000.0, 75000.75, 58000.0]) / 1000
    a = client.secrets.create(ages, tags={"column": "age"})
    s = client.secrets.create(salaries, tags={"column": "salary_k"})
    r = client.execute(MEAN_AND_COUNT, inputs=[a, s], args=[len(ages)], fixed=True)
    mean, older = r.values
    assert abs(mean - salaries.mean()) < 1e-3
    assert older == 3.0


def test_compile_errors_are_party_errors_with_a_code(client: eph.Client) -> None:
    with pytest.raises(eph.PartyError) as e:
        client.execute("this is not python(")
    assert e.value.code == "compile_error" and e.value.party in (0, 1)
    assert e.value.node_message
    with pytest.raises(eph.UsageError, match="needs a program"):
        client.execute()


def test_progress_callbacks_see_the_game_and_their_exceptions_stop_waiting(
    client: eph.Client,
) -> None:
    seen = []
    r = client.execute(LONG, public_input="3000", on_progress=seen.append, progress_interval=0.01)
    assert r.printed.strip() == "1"
    assert seen, "a game of 3000 rounds lasts more than one 10 ms interval"
    assert all(isinstance(s, eph.GameStatus) and s.game_id == r.game_id for s in seen)
    assert {s.status for s in seen} <= {"registering", "waiting_for_tuples", "running", "succeeded"}

    class Stop(Exception):
        pass

    def stop(_: eph.GameStatus) -> None:
        raise Stop()

    with pytest.raises(Stop):
        client.execute(LONG, public_input="3000", on_progress=stop, progress_interval=0.02)


def test_a_signal_interrupts_a_waiting_call(client: eph.Client) -> None:
    """Ctrl-C (here: SIGINT with a handler of our own) reaches Python while a call waits."""
    import os
    import signal
    import threading
    import time

    class Interrupted(Exception):
        pass

    def handler(signum, frame):  # type: ignore[no-untyped-def]
        raise Interrupted()

    old = signal.signal(signal.SIGINT, handler)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    try:
        t = time.monotonic()
        timer.start()
        with pytest.raises(Interrupted):
            client.execute(LONG, public_input="30000")
        assert time.monotonic() - t < 2.0, "the signal was handled while the game ran"
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, old)
