"""The client crate's fake cloud from Python: honest round trips, and every kind of tampering
detected as an IntegrityError."""

from __future__ import annotations

import pytest

import ephemeral as eph
from ephemeral.testing import TAMPERINGS, FakeCloud


def test_an_honest_fake_cloud_serves_the_whole_api(tmp_path) -> None:
    with FakeCloud(3) as cloud:
        c = cloud.client()
        assert c.parties == 3 and len(cloud.urls) == 3
        a = c.secrets.create([4, -5], tags={"name": "a"})
        assert c.secrets.get(a) == [4, -5]
        x = c.secrets.create([1.5])
        assert c.secrets.get(x, fixed=True) == [1.5]
        # The fake's programs output their inputs and then the sum.
        assert c.execute(code="anything", inputs=[a]).values == [4, -5, -1]
        assert c.execute(code="anything", inputs=[a], output="shares").values == [4, -5, -1]
        s = c.execute(code="anything", inputs=[a], output="secret").secret_id
        assert c.secrets.get(s) == [4, -5, -1]
        with pytest.raises(eph.PartyError) as e:
            c.execute("fail here")
        assert e.value.code == "compile_error"
        f = tmp_path / "cloud.toml"
        f.write_text(cloud.cloud_toml)
        assert eph.Client.from_cloud_file(f).secrets.get(a) == [4, -5]
        assert [h.party for h in c.health()] == [0, 1, 2]
    with pytest.raises(eph.UsageError, match="closed"):
        cloud.client()


def _attempt(c: eph.Client, tamper: str, stored: str) -> None:
    """The operation that the tampering `tamper` corrupts."""
    if tamper == "mask_share":
        c.secrets.create([1, 2, 3])
    elif tamper in ("download_share", "download_w"):
        c.secrets.get(stored)
    elif tamper == "secret_id":
        c.secrets.create([1])
    elif tamper == "game_share":
        c.execute(code="sum", inputs=[stored], output="shares")
    elif tamper == "plaintext":
        c.execute(code="sum", inputs=[stored])
    elif tamper == "program_hash":
        c.functions.deploy("sum", "sum")
    elif tamper == "output_ids":
        c.execute(code="sum", inputs=[stored], output="secret")
    elif tamper == "party_id":
        c.secrets.create([1])  # the mask deliveries name another party
    else:  # pragma: no cover
        raise AssertionError(tamper)


@pytest.mark.parametrize("tamper", TAMPERINGS)
@pytest.mark.parametrize("parties,cheater", [(2, 1), (3, 0)])
def test_a_tampering_party_raises_an_integrity_error(tamper: str, parties: int, cheater: int) -> None:
    with FakeCloud(parties, tamper=(tamper, cheater)) as cloud:
        c = cloud.client()
        # Uploads are only corrupted by mask_share and secret_id; store with an honest path.
        stored = None
        if tamper not in ("mask_share", "secret_id", "party_id"):
            stored = c.secrets.create([7, 8])
        with pytest.raises(eph.IntegrityError) as e:
            _attempt(c, tamper, stored or "00000000-0000-0000-0000-000000000000")
        assert "tamper" in str(e.value) or "disagree" in str(e.value), str(e.value)


def test_the_fake_cloud_refuses_bad_arguments() -> None:
    with pytest.raises(eph.UsageError, match="unknown tampering"):
        FakeCloud(2, tamper=("nothing", 0))
    with pytest.raises(eph.UsageError, match="not among"):
        FakeCloud(2, tamper=("plaintext", 2))
