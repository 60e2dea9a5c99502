"""Tuple statistics, health, and the typed errors of authentication, timeouts, unreachable
parties and configuration."""

from __future__ import annotations

import re
import socket
import threading

import pytest

import ephemeral as eph


def test_tuple_stats_and_health(client: eph.Client) -> None:
    stats = client.tuple_stats()
    assert [s.party for s in stats] == [0, 1]
    assert all(s.generator for s in stats)
    assert all(s.kinds for s in stats)
    assert stats[0].available("triple") >= 0
    health = client.health()
    assert [h.party for h in health] == [0, 1]
    assert all(h.ok and h.parties == 2 for h in health)
    assert health[0].peers == {1: True}


def test_a_wrong_token_is_an_auth_error(dev, tmp_path) -> None:
    text = re.sub(r'token = "[^"]*"', 'token = "not-the-token"', dev.cloud_file.read_text())
    bad = tmp_path / "cloud.toml"
    bad.write_text(text)
    c = eph.Client.from_cloud_file(bad)
    with pytest.raises(eph.AuthError) as e:
        c.secrets.list()
    assert e.value.code == "unauthorized" and e.value.party in (0, 1)
    assert "token" in str(e.value)


def test_a_silent_party_is_a_timeout() -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    held = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])  # accepts, never answers
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        c = eph.Client([f"http://127.0.0.1:{srv.getsockname()[1]}"], timeout=1)
        with pytest.raises(eph.TimeoutError) as e:
            c.health()
        assert isinstance(e.value, TimeoutError)  # the built-in one too
        assert e.value.party == 0 and "timeout" in str(e.value)
    finally:
        stop.set()
        t.join()
        for s in held:
            s.close()
        srv.close()


def test_an_unreachable_party_and_bad_configuration() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(eph.UnreachableError) as e:
        eph.Client([f"http://127.0.0.1:{port}"]).health()
    assert isinstance(e.value, ConnectionError) and e.value.url.endswith(str(port))
    with pytest.raises(eph.ConfigError) as c:
        eph.Client.from_cloud_file("/nonexistent/cloud.toml")
    assert c.value.path == "/nonexistent/cloud.toml" and "ephemeral dev" in str(c.value)
    # A bearer token over plain http to another host is refused before any traffic.
    with pytest.raises(eph.ConfigError, match="https://"):
        eph.Client([{"url": "http://10.0.0.7:7100", "token": "t"}])
    with pytest.raises(eph.UsageError):
        eph.Client("http://127.0.0.1:1")  # type: ignore[arg-type]
    with pytest.raises(eph.UsageError, match="precision"):
        eph.Client(["http://127.0.0.1:1"], f=40)
