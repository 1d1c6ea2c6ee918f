"""Development tooling: a free local port for a server the tests or benchmarks start.

Nothing in the deployed functions imports it. When ATS_FREE_PORTS names a range ("20000-20999",
set per pytest-xdist worker by tests/conftest.py), ports come from that range only, below the
kernel's ephemeral range, so parallel workers never hand out the same port; otherwise the kernel
picks one.
"""

import itertools
import os
import socket

_next_in_range = itertools.count()


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    span = os.environ.get("ATS_FREE_PORTS")
    if not span:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    low, high = (int(end) for end in span.split("-"))
    for _ in range(high - low + 1):
        port = low + next(_next_in_range) % (high - low + 1)
        if _bindable(port):
            return port
    raise RuntimeError(f"no free port left in ATS_FREE_PORTS={span}")
