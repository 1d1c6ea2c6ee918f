"""Hand committed events to the broker, under a hard time bound.

Celery's `.delay()` can block without limit on a dead broker (celery#4296, #4556, #6911), so a
request publishes through its own connection with short socket timeouts and no retries, and
gives up at the first error: what is not published stays pending in the outbox for the relay.
After a failure the broker is left alone for a few seconds, so a dead broker costs one timeout,
not one per request. Celery, kombu and redis are imported here, on first publish only. One
Publisher per broker per process, made by the composition root.
"""

import contextlib
import logging
import threading
from typing import TYPE_CHECKING

from ..backoff import Pause
from ..config import Settings

if TYPE_CHECKING:
    from kombu import Producer

log = logging.getLogger("ats.outbox")

PAUSE_SECONDS = 5.0  # during which publishing is not even tried after a failure


class Publisher:
    """Publishes delivery tasks to the broker at `url` over one connection (a kombu connection is
    not thread-safe, and a server serves threads: one at a time)."""

    def __init__(self, url: str):
        self.url = url
        self._producer: Producer | None = None
        self._lock = threading.Lock()
        self._pause = Pause(PAUSE_SECONDS)

    def _connected(self, settings: Settings) -> "Producer":
        if self._producer is None:
            from kombu import Connection

            from .celery_app import QUEUE, app

            timeout = settings.publish_timeout
            connection = Connection(
                self.url,
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
            self._producer = producer
        return self._producer

    def _drop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                producer.connection.close()

    def publish(self, settings: Settings, event_ids: list[str], *, force: bool = False) -> list[str]:
        """Publish a task per event; return the ids published (a prefix of event_ids).

        `force` (the relay) tries even during the pause that follows a failure.
        """
        done: list[str] = []
        if not event_ids or (not force and self._pause.active(self.url)):
            return done
        with self._lock:
            try:
                from .celery_app import TASK_DELIVER, app

                producer = self._connected(settings)
                for event_id in event_ids:
                    app.send_task(
                        TASK_DELIVER,
                        args=[event_id],
                        task_id=event_id,
                        producer=producer,
                        retry=False,
                        add_to_parent=False,
                    )
                    done.append(event_id)
            except Exception as error:  # any failure: leave the rest to the relay
                self._drop()
                self._pause.start(self.url)
                log.warning(
                    "broker unreachable (%s: %s); %d event(s) left pending for the relay",
                    type(error).__name__,
                    error,
                    len(event_ids) - len(done),
                )
        return done

    def ping(self, settings: Settings) -> None:
        """Raise if the broker cannot be reached within the publish timeout (for /health)."""
        import redis

        client = redis.Redis.from_url(
            self.url,
            socket_connect_timeout=settings.publish_timeout,
            socket_timeout=settings.publish_timeout,
            retry=None,
        )
        try:
            client.ping()
        finally:
            client.close()

    def close(self) -> None:
        """Forget the connection and the pause (tests, and the relay before a fresh pass)."""
        with self._lock:
            self._drop()
            self._pause.clear()
