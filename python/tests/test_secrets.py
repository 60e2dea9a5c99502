"""Secrets against a real `ephemeral dev` cloud: integers, fixed point, numpy, tags, listing
with filters and paging, deletion, and the errors of bad input."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

import ephemeral as eph


def test_integers_round_trip_at_the_64_bit_bounds(client: eph.Client) -> None:
    values = [42, -5, 0, 2**63 - 1, -(2**63)]
    s = client.secrets.create(values)
    uuid.UUID(s)
    assert client.secrets.get(s) == values
    assert client.secrets.get(uuid.UUID(s)) == values
    assert client.secrets.create(7) and client.secrets.get(client.secrets.create(True)) == [1]


@pytest.mark.parametrize("bad", [2**63, -(2**63) - 1, 10**30])
def test_integers_outside_64_bits_are_refused_before_anything_is_sent(
    client: eph.Client, bad: int
) -> None:
    with pytest.raises(eph.UsageError, match=r"value 1: .* not a signed 64-bit integer"):
        client.secrets.create([1, bad])


def test_fixed_point_round_trips_with_the_default_and_a_chosen_precision(
    client: eph.Client, dev
) -> None:
    s = client.secrets.create([3.25, -0.5, 1e-4])
    back = client.secrets.get(s, fixed=True)
    assert back[:2] == [3.25, -0.5]
    assert abs(back[2] - 1e-4) <= 2**-17
    # The stored representation is sfix's: round(x * 2^16).
    assert client.secrets.get(s)[:2] == [3 * 65536 + 16384, -32768]
    s = client.secrets.create([0.1], f=20)
    assert client.secrets.get(s)[0] == round(0.1 * 2**20)
    assert abs(client.secrets.get(s, fixed=True, f=20)[0] - 0.1) <= 2**-21
    c20 = dev.client(f=20)
    assert c20.secrets.get(c20.secrets.create([2.5]), fixed=True) == [2.5]
    # Explicit fixed=True stores ints as fixed point too.
    assert client.secrets.get(client.secrets.create([3], fixed=True)) == [3 * 65536]


def test_fixed_point_refuses_what_does_not_fit(client: eph.Client) -> None:
    with pytest.raises(eph.UsageError, match=r"value 1: .*f = 16, k = 31"):
        client.secrets.create([1.0, 20000.0])
    with pytest.raises(eph.UsageError, match="not a finite number"):
        client.secrets.create([float("nan")])
    with pytest.raises(eph.UsageError, match="fixed=False"):
        client.secrets.create([1.5], fixed=False)
    with pytest.raises(eph.UsageError, match="precision"):
        client.secrets.create([1.5], f=0)
    # A wider k takes it (and a program using sfix.set_precision(16, 63) reads it).
    s = client.secrets.create([20000.0], k=63)
    assert client.secrets.get(s, fixed=True, k=63) == [20000.0]


def test_numpy_arrays_in_and_out(client: eph.Client) -> None:
    ints = np.array([1, -2, 3], dtype=np.int64)
    s = client.secrets.create(ints)
    out = client.secrets.get(s, array=True)
    assert out.dtype == np.int64 and out.tolist() == [1, -2, 3]
    floats = np.array([0.25, -1.5, 100.0], dtype=np.float32)
    s = client.secrets.create(floats)
    out = client.secrets.get(s, fixed=True, array=True)
    assert out.dtype == np.float64 and np.array_equal(out, [0.25, -1.5, 100.0])
    # numpy scalars in lists, unsigned dtypes, and bools.
    s = client.secrets.create([np.int32(5), np.uint8(7), np.bool_(True)])
    assert client.secrets.get(s) == [5, 7, 1]
    with pytest.raises(eph.UsageError, match="shape"):
        client.secrets.create(np.zeros((2, 2)))
    with pytest.raises(eph.UsageError, match="not a signed 64-bit integer"):
        client.secrets.create(np.array([2**64 - 1], dtype=np.uint64))


def test_tags_listing_filters_and_paging(client: eph.Client) -> None:
    run = uuid.uuid4().hex[:8]
    ids = [client.secrets.create([i], tags={"run": run, "i": i}) for i in range(5)]
    info = client.secrets.info(ids[3])
    assert info.id == ids[3] and info.len == 1
    assert info.tags["run"] == run and info.tags["i"] == 3
    assert "owner" in info.tags and "creation-date" in info.tags

    page = client.secrets.list({"run": run})
    assert sorted(page.ids) == sorted(ids) and page.total_items == 5
    assert sorted(client.secrets.list(f"run:{run},i>2").ids) == sorted(ids[3:])
    assert sorted(client.secrets.list({"run": run, "i": ("<", 2)}).ids) == sorted(ids[:2])
    p0 = client.secrets.list({"run": run}, page=0, size=2)
    p2 = client.secrets.list({"run": run}, page=2, size=2)
    assert (len(p0), len(p2), p0.total_pages, p0.total_items) == (2, 1, 3, 5)
    assert sorted(i.id for i in client.secrets.iterate({"run": run}, page_size=2)) == sorted(ids)

    s = ids[0]
    client.secrets.set_tag(s, "colour", "blue")
    client.secrets.add_tag(s, "n", 7)
    with pytest.raises(eph.PartyError) as e:
        client.secrets.add_tag(s, "n", 8)
    assert e.value.code == "conflict" and e.value.party is not None
    tags = client.secrets.tags(s)
    assert tags["colour"] == "blue" and tags["n"] == 7 and tags["run"] == run
    client.secrets.delete_tag(s, "colour")
    assert "colour" not in client.secrets.tags(s)
    client.secrets.replace_tags(s, {"only": "this"})
    user = {k: v for k, v in client.secrets.tags(s).items() if k not in ("owner", "creation-date")}
    assert user == {"only": "this"}
    with pytest.raises(eph.UsageError, match="tag 'x'"):
        client.secrets.set_tag(s, "x", 1.5)  # type: ignore[arg-type]


def test_delete_then_reading_is_not_found(client: eph.Client) -> None:
    s = client.secrets.create([1, 2, 3])
    client.secrets.delete(s)
    with pytest.raises(eph.NotFoundError) as e:
        client.secrets.get(s)
    assert e.value.code == "not_found" and isinstance(e.value, eph.PartyError)
    assert e.value.party in (0, 1)
    with pytest.raises(eph.NotFoundError):
        client.secrets.info(s)


def test_bad_arguments_are_usage_errors(client: eph.Client) -> None:
    with pytest.raises(eph.UsageError, match="at least one value"):
        client.secrets.create([])
    with pytest.raises(eph.UsageError, match="not a secret id"):
        client.secrets.get("nope")
    with pytest.raises(eph.UsageError):
        client.secrets.create("12")
    with pytest.raises(ValueError):  # UsageError is a ValueError
        client.secrets.create([1, "x"])
