"""The default, maliciously secure preprocessing (MASCOT): uploads, the seed example, and a
game that needs more tuples than the pools hold, followed through its progress callbacks."""

from __future__ import annotations

import ephemeral as eph
from conftest import SEED
from programs import MANY_TRIPLES


def test_mascot_cloud_runs_the_seed_example_and_reports_preprocessing_progress(
    secure_dev,
) -> None:
    c = secure_dev.client()
    assert all(s.generator.lower().startswith("mascot") for s in c.tuple_stats())
    a = c.secrets.create([42])
    b = c.secrets.create([17])
    assert c.execute(SEED, inputs=[a, b]).values == [59]
    assert c.execute(SEED, inputs=[a, b], output="shares").values == [59]

    seen = []
    r = c.execute(MANY_TRIPLES, public_input="1", on_progress=seen.append,
                  progress_interval=0.2)
    assert r.printed.strip() == "9"
    waiting = [s.preprocessing for s in seen if s.status == "waiting_for_tuples"]
    assert waiting and all(p is not None for p in waiting), [s.status for s in seen]
    last = waiting[-1]
    assert last.needed > 0 and 0 <= last.made <= last.needed and last.kind
    assert 0.0 <= last.fraction <= 1.0
