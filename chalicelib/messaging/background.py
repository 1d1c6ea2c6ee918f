"""The embedded default's delivery: one thread of the serving process sends right after commit.

A request only queues its event ids, so it never waits on rendering or writing mail; and it
queues them once it has answered (`hold`, `release`), so the thread never takes the GIL from the
request its emails came from: woken at commit, it ran in the request's every pause for I/O and
kept the GIL for up to the switch interval each time, about half an apply's time on SQLite. What
a crash leaves undelivered is still pending in the outbox, for the relay.

Scheduled events fall due with no request to submit them, so once a process has scheduled one
(or a long-running server started: bootstrap.deliver_when_due), the thread also sweeps the
outbox every settings.scheduled_poll_seconds while it waits, and delivers what it promotes:
the retrying events too, whose last attempt failed, once their backoff is over.

Never in a Lambda (bootstrap.dispatcher): the function freezes once it answered, thread and all.
"""

import contextvars
import logging
import queue
import threading
import time
from collections.abc import Callable

from ..config import Settings
from ..storage import UnitOfWork

log = logging.getLogger("ats.email")

# An event to deliver, or None: a wake-up, so the thread sees a new sweep at once.
_queue: "queue.Queue[tuple[Callable[[], UnitOfWork], Settings, str] | None]" = queue.Queue()
_start_lock = threading.Lock()
_thread: threading.Thread | None = None
# What was submitted since `hold` (None when nothing holds), for `release` to queue.
_held: "contextvars.ContextVar[list[tuple[Callable[[], UnitOfWork], Settings, list[str], bool]] | None]" = (
    contextvars.ContextVar("ats_held_deliveries", default=None)
)
# Where the thread sweeps for due scheduled events (None: nowhere); the last one asked for.
_sweep: tuple[Callable[[], UnitOfWork], Settings] | None = None


def hold() -> "contextvars.Token":
    """From now on, submissions in this context wait for `release` (a request's, until it answered)."""
    return _held.set([])


def release(token: "contextvars.Token") -> None:
    """Queue what was submitted since `hold`; submissions are queued at once again."""
    submitted = _held.get() or []
    _held.reset(token)
    for new_uow, settings, event_ids, scheduled in submitted:
        submit(new_uow, settings, event_ids, scheduled=scheduled)


def submit(
    new_uow: Callable[[], UnitOfWork], settings: Settings, event_ids: list[str], *, scheduled: bool = False
) -> None:
    """Queue the events for delivery; `new_uow` makes a unit of work on the thread that delivers.
    `scheduled`: the change also scheduled events for later, so sweep where `new_uow` points."""
    holding = _held.get()
    if holding is not None:
        holding.append((new_uow, settings, event_ids, scheduled))
        return
    if scheduled:
        watch(new_uow, settings)
    _start()
    for event_id in event_ids:
        _queue.put((new_uow, settings, event_id))


def watch(new_uow: Callable[[], UnitOfWork], settings: Settings) -> None:
    """From now on, deliver the scheduled events of `new_uow`'s storage as they fall due."""
    global _sweep
    _sweep = (new_uow, settings)
    _start()
    _queue.put(None)


def stop_watching() -> None:
    """Sweep nowhere (tests: the storage of a test is gone after it)."""
    global _sweep
    _sweep = None


def wait_idle() -> None:
    """Block until everything submitted so far was delivered (or its failure recorded)."""
    _queue.join()


def _start() -> None:
    global _thread
    with _start_lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="ats-email", daemon=True)
            _thread.start()


def _run() -> None:
    from .delivery import deliver_in_process
    from .relay import promote_due

    next_sweep = 0.0  # monotonic seconds
    while True:
        sweep = _sweep
        wait = None if sweep is None else max(0.0, next_sweep - time.monotonic())
        try:
            entry = _queue.get(timeout=wait)
        except queue.Empty:
            entry = None
        else:
            if entry is not None:
                new_uow, settings, event_id = entry
                try:
                    deliver_in_process(new_uow(), settings, event_id)
                except Exception:  # the thread outlives any one event; the outbox keeps it pending
                    log.exception("in-process delivery of %s failed", event_id)
            _queue.task_done()
        sweep = _sweep
        if sweep is not None and time.monotonic() >= next_sweep:
            new_uow, settings = sweep
            next_sweep = time.monotonic() + settings.scheduled_poll_seconds
            try:
                for event_id in promote_due(new_uow()):
                    _queue.put((new_uow, settings, event_id))
            except Exception:  # storage unreachable: the next sweep tries again
                log.exception("the sweep for due scheduled events failed")
