"""The embedded default's delivery: one thread of the serving process sends right after commit.

A request only queues its event ids, so it never waits on rendering or writing mail; and it
queues them once it has answered (`hold`, `release`), so the thread never takes the GIL from the
request its emails came from: woken at commit, it ran in the request's every pause for I/O and
kept the GIL for up to the switch interval each time, about half an apply's time on SQLite. What
a crash leaves undelivered is still pending in the outbox, for the relay.
"""

import contextvars
import logging
import queue
import threading
from collections.abc import Callable

from ..config import Settings
from ..storage import UnitOfWork

log = logging.getLogger("ats.email")

_queue: "queue.Queue[tuple[Callable[[], UnitOfWork], Settings, str]]" = queue.Queue()
_start_lock = threading.Lock()
_thread: threading.Thread | None = None
# What was submitted since `hold` (None when nothing holds), for `release` to queue.
_held: "contextvars.ContextVar[list[tuple[Callable[[], UnitOfWork], Settings, list[str]]] | None]" = (
    contextvars.ContextVar("ats_held_deliveries", default=None)
)


def hold() -> "contextvars.Token":
    """From now on, submissions in this context wait for `release` (a request's, until it answered)."""
    return _held.set([])


def release(token: "contextvars.Token") -> None:
    """Queue what was submitted since `hold`; submissions are queued at once again."""
    submitted = _held.get() or []
    _held.reset(token)
    for args in submitted:
        submit(*args)


def submit(new_uow: Callable[[], UnitOfWork], settings: Settings, event_ids: list[str]) -> None:
    """Queue the events for delivery; `new_uow` makes a unit of work on the thread that delivers."""
    holding = _held.get()
    if holding is not None:
        holding.append((new_uow, settings, event_ids))
        return
    global _thread
    with _start_lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="ats-email", daemon=True)
            _thread.start()
    for event_id in event_ids:
        _queue.put((new_uow, settings, event_id))


def wait_idle() -> None:
    """Block until everything submitted so far was delivered (or its failure recorded)."""
    _queue.join()


def _run() -> None:
    from .delivery import deliver_in_process

    while True:
        new_uow, settings, event_id = _queue.get()
        try:
            deliver_in_process(new_uow(), settings, event_id)
        except Exception:  # the thread outlives any one event; the outbox keeps it pending
            log.exception("in-process delivery of %s failed", event_id)
        finally:
            _queue.task_done()
