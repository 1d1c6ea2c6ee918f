"""free_port: parallel test workers each hand out ports from their own range."""

import socket

import pytest

from chalicelib.localports import free_port


def test_ports_come_from_the_range_and_skip_a_taken_one(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        monkeypatch.setenv("ATS_FREE_PORTS", f"{port}-{port + 19}")
        given = [free_port() for _ in range(40)]
    assert set(given) <= set(range(port + 1, port + 20))  # never the taken one, never outside
    assert len(set(given[:10])) == 10  # handed out in turn, not the same one again


def test_a_full_range_is_an_error_that_names_it(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        monkeypatch.setenv("ATS_FREE_PORTS", f"{port}-{port}")
        with pytest.raises(RuntimeError, match=f"ATS_FREE_PORTS={port}-{port}"):
            free_port()


def test_without_a_range_the_kernel_picks(monkeypatch):
    monkeypatch.delenv("ATS_FREE_PORTS", raising=False)
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # it was free
