"""Versioned writes: If-Match, and the one retry of a read-modify-write that lost a race."""

import time
from collections.abc import Callable
from typing import TypeVar

from ..backoff import jittered
from ..domain.errors import ConcurrencyError, PreconditionFailed

T = TypeVar("T")
WRITE_ATTEMPTS = 10  # a write without If-Match is decided at most this often, each time on a fresh read
# The pause after a conflict is drawn below a bound (full jitter) that starts at 20 ms and doubles up to
# half a second, so that writers who collided spread out: of twenty writers of one item, the last needs
# 5 to 7 attempts on DynamoDB Local.
RETRY_PAUSE, RETRY_PAUSE_MAX = 0.02, 0.5


def check_version(current: int, expected: int | None) -> None:
    """If-Match: refuse the write when the client's copy is not the current one."""
    if expected is not None and expected != current:
        raise PreconditionFailed(f"The resource is at version {current}, not {expected}.")


def versioned_write(write: Callable[[], T], *, if_match: int | None = None, retry: bool = True) -> T:
    """Run a read-modify-write (`write` reads, decides and commits) until no conflict stops it.

    Another writer committing between its read and its commit fails its version condition (or,
    on DynamoDB, collides with its transaction). With If-Match the client's copy is then stale:
    412. Without, nobody asked for that version: the write is decided again on a fresh read (a
    bounded number of times, after a jittered pause, so that racing writers spread out) unless
    `retry` is off.
    """
    for attempt in range(WRITE_ATTEMPTS - 1):
        try:
            return write()
        except ConcurrencyError:
            if if_match is not None:
                raise PreconditionFailed(f"The resource was changed after version {if_match}; reload it.") from None
            if not retry:
                raise
        time.sleep(jittered(attempt, base=RETRY_PAUSE, cap=RETRY_PAUSE_MAX))
    return write()  # the last attempt: a conflict now is the caller's (409)
