"""Waiting after a failure: how long before the next try, and leaving a failed dependency alone for a while,
so a dead server costs one timeout, not one per request."""

import random
import time


def jittered(attempt: int, *, base: float, cap: float, fixed: float = 0.0) -> float:
    """Seconds to wait before try `attempt + 1`: base doubled per attempt up to `cap`, of which the
    `fixed` share is waited always and the rest drawn at random, so that colliding callers spread out."""
    ceiling = min(cap, base * 2**attempt)
    return ceiling * fixed + random.uniform(0, ceiling * (1 - fixed))


class Pause:
    """After a failure at `key` (a server's URL), no new attempt there for `seconds`."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._until: dict[str, float] = {}

    def active(self, key: str) -> bool:
        return self._until.get(key, 0.0) > time.monotonic()

    def start(self, key: str) -> None:
        self._until[key] = time.monotonic() + self.seconds

    def clear(self) -> None:
        self._until.clear()
