"""Leaving a failed dependency alone for a while, so a dead server costs one timeout, not one per request."""

import time


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
