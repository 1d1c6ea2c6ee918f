"""Hand committed events to the broker, under a hard time bound.

Celery's `.delay()` can block without limit on a dead broker (celery#4296, #4556, #6911), so a
request publishes through its own connection with short socket timeouts and no retries, and
gives up at the first error: what is not published stays pending in the outbox for the relay.
After a failure the broker is left alone for a few seconds, so a dead broker costs one timeout,
not one per request. Celery, kombu and redis are imported here, on first publish only.
"""

import contextlib
import logging
import threading
from typing import TYPE_CHECKING

from ..backoff import Pause
from ..config import Settings
from ..domain.errors import ConfigurationError

if TYPE_CHECKING:
    from kombu import Producer

log = logging.getLogger("ats.outbox")

_pause = Pause(5.0)  # seconds during which publishing is not even tried after a failure

_lock = threading.Lock()  # a kombu connection is not thread-safe; chalice local serves threads
_producers: dict[str, "Producer"] = {}


def _broker_url(settings: Settings) -> str:
    if not settings.redis_url:
        raise ConfigurationError("No broker is configured (ATS_REDIS_URL).")
    return settings.redis_url


def _producer(settings: Settings) -> "Producer":
    url = _broker_url(settings)
    producer = _producers.get(url)
    if producer is None:
        from kombu import Connection

        from .celery_app import QUEUE, app

        timeout = settings.publish_timeout
        connection = Connection(
            url,
            connect_timeout=timeout,
            transport_options={
                "socket_connect_timeout": timeout,
                "socket_timeout": timeout,
                "retry_on_timeout": False,
                "max_retries": 0,
                "visibility_timeout": settings.celery_visibility_timeout,
            },
        )
        producer = app.amqp.Producer(connection)
        producer.declare()  # the queue exists even before a worker first starts
        app.amqp.queues[QUEUE].declare(channel=producer.channel)
        _producers[url] = producer
    return producer


def _drop(url: str) -> None:
    producer = _producers.pop(url, None)
    if producer is not None:
        with contextlib.suppress(Exception):
            producer.connection.close()


def publish(settings: Settings, event_ids: list[str], *, force: bool = False) -> list[str]:
    """Publish a task per event; return the ids published (a prefix of event_ids).

    `force` (the relay) tries even during the pause that follows a failure.
    """
    url = _broker_url(settings)
    done: list[str] = []
    if not event_ids or (not force and _pause.active(url)):
        return done
    with _lock:
        try:
            from .celery_app import TASK_DELIVER, app

            producer = _producer(settings)
            for event_id in event_ids:
                app.send_task(
                    TASK_DELIVER, args=[event_id], task_id=event_id, producer=producer, retry=False, add_to_parent=False
                )
                done.append(event_id)
        except Exception as error:  # any failure: leave the rest to the relay
            _drop(url)
            _pause.start(url)
            log.warning(
                "broker unreachable (%s: %s); %d event(s) left pending for the relay",
                type(error).__name__,
                error,
                len(event_ids) - len(done),
            )
    return done


def reset() -> None:
    """Forget connections and pauses (tests, and the relay before a fresh pass)."""
    with _lock:
        for url in list(_producers):
            _drop(url)
        _pause.clear()


def ping(settings: Settings) -> None:
    """Raise if the broker cannot be reached within the publish timeout (for /health)."""
    import redis

    client = redis.Redis.from_url(
        _broker_url(settings),
        socket_connect_timeout=settings.publish_timeout,
        socket_timeout=settings.publish_timeout,
        retry=None,
    )
    try:
        client.ping()
    finally:
        client.close()
