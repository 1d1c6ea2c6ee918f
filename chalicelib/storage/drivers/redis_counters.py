"""Fixed-window counters in Redis (login throttling across processes), and the fallback on storage.

One key per counter: INCR on a key made with SET NX EX, in one MULTI, so it expires when its window
ends. Short socket timeouts and no retries: when Redis cannot be reached, the storage's counters
serve, with a warning logged, and Redis is left alone for a few seconds so a dead server costs
one timeout, not one per login. `redis` is imported when the first client is made.
"""

import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING

from ...backoff import Pause
from ...domain.errors import DomainError
from ..items import Delete
from ..records import Window
from ..stores import CounterStore

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger("ats.auth")

REDIS_TIMEOUT = 0.25  # seconds to connect to / hear from Redis before falling back to storage
REDIS_PREFIX = "ats:throttle:"
PAUSE_SECONDS = 5.0  # during which Redis is not tried after it failed


class RedisCounters:
    """The counter interface over one Redis client."""

    def __init__(self, client: "Redis", clock=time.time):
        self._client = client
        self._clock = clock

    def hit(self, key: str, *, window_seconds: int) -> Window:
        name = REDIS_PREFIX + key
        pipe = self._client.pipeline(transaction=True)
        pipe.set(name, 0, ex=window_seconds, nx=True)  # a new window, unless one runs
        pipe.incr(name)
        pipe.pttl(name)
        _, count, ttl_ms = pipe.execute()
        if ttl_ms < 0:  # no expiry (set by hand?): give it this window
            self._client.expire(name, window_seconds)
            ttl_ms = window_seconds * 1000
        return Window(int(count), self._clock() + ttl_ms / 1000)

    def peek(self, key: str) -> Window:
        name = REDIS_PREFIX + key
        pipe = self._client.pipeline(transaction=True)
        pipe.get(name)
        pipe.pttl(name)
        count, ttl_ms = pipe.execute()
        if count is None or ttl_ms < 0:
            return Window(0, 0.0)
        return Window(int(count), self._clock() + ttl_ms / 1000)

    def clearing(self, key: str) -> None:
        self._client.delete(REDIS_PREFIX + key)  # Redis is no part of a storage transaction: cleared now


def redis_client(url: str) -> "Redis":
    import redis  # only when Redis is configured
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url,
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=30,
    )


class RedisOrStorage:
    """Redis at `url`, or the storage's counters while Redis cannot be reached."""

    def __init__(self, url: str, storage: CounterStore):
        self._url = url
        self._storage = storage
        self._client: Redis | None = None
        self._lock = threading.Lock()
        self._pause = Pause(PAUSE_SECONDS)

    def _redis(self) -> RedisCounters:
        with self._lock:
            if self._client is None:
                self._client = redis_client(self._url)
            return RedisCounters(self._client)

    def _call(self, operation: str, *args, **kwargs):
        if not self._pause.active(self._url):
            try:
                return getattr(self._redis(), operation)(*args, **kwargs)
            except DomainError:
                raise
            except Exception as error:  # unreachable, timed out, refused, not installed: use storage
                self._pause.start(self._url)
                log.warning(
                    "login throttling: Redis unavailable (%s: %s); counting in storage for %.0f s",
                    type(error).__name__,
                    error,
                    self._pause.seconds,
                )
        return getattr(self._storage, operation)(*args, **kwargs)

    def hit(self, key: str, *, window_seconds: int) -> Window:
        return self._call("hit", key, window_seconds=window_seconds)

    def peek(self, key: str) -> Window:
        return self._call("peek", key)

    def clearing(self, key: str) -> "Delete | None":
        return self._call("clearing", key)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
