"""Identifiers and timestamps made by the domain, identical on every storage backend."""

import os
import re
import threading
import time
from datetime import UTC, datetime

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [first + second for first in _CROCKFORD for second in _CROCKFORD]  # 10 bits -> 2 characters
# 48 time bits lead (the first character is at most 7), then 25 characters of _CROCKFORD: one match,
# an eighth of the time of a test per character (every id in a path is checked; a pipeline's too).
_ID = re.compile("[0-7][0-9A-HJKMNP-TV-Z]{25}")
_lock = threading.Lock()
_last_ms = 0
_last_random = 0


def new_id() -> str:
    """A monotonic ULID: 48-bit millisecond time + 80 random bits, 26 Crockford chars.

    Within one millisecond the random part is incremented, so ids made by one process
    sort in creation order; that order is what every list is sorted by.
    """
    global _last_ms, _last_random
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_ms:
            now_ms = _last_ms
            _last_random += 1
            if _last_random >> 80:  # 2^80 ids in one ms: borrow the next ms
                now_ms += 1
                _last_random = int.from_bytes(os.urandom(10), "big")
        else:
            _last_random = int.from_bytes(os.urandom(10), "big")
        _last_ms = now_ms
        value = (now_ms << 80) | _last_random
    return crockford(value, 26)


def crockford(value: int, length: int) -> str:
    """The low 5 x length bits of `value` in Crockford's base 32, as ULIDs write them: two
    characters (10 bits) a lookup, a third of the time of one a character (a write makes 4 to 7 ids)."""
    pairs = "".join([_PAIRS[(value >> shift) & 1023] for shift in range(10 * (length // 2 - 1), -1, -10)])
    return pairs if length % 2 == 0 else _CROCKFORD[(value >> 5 * (length - 1)) & 31] + pairs


def is_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def utc_now() -> str:
    """UTC ISO 8601 with millisecond precision and a Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def seconds_between(earlier: str, later: str) -> float:
    """The seconds from one utc_now() time to another (0 if `later` is not later)."""
    start = datetime.fromisoformat(earlier.replace("Z", "+00:00"))
    end = datetime.fromisoformat(later.replace("Z", "+00:00"))
    return max(0.0, (end - start).total_seconds())


def utc_at(epoch_seconds: float) -> str:
    """That moment (epoch seconds, as time.time and the stores' clocks give it) as utc_now writes it."""
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def as_utc(moment: str) -> str:
    """An ISO 8601 moment with a zone, written as utc_now writes it: moments in one format compare
    as strings (the outbox finds due events by a range of such strings)."""
    parsed = datetime.fromisoformat(moment)
    if parsed.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone: write it in UTC, with a Z")
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
