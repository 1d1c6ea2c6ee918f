"""Deliver one outbox event: every email it owes, each at most once per (event, recipient).

Framework-free: the Celery task calls it in the worker, and the embedded default calls it right
after commit. The ledger (Outbox.claim/complete/release_delivery, in storage/stores.py) makes a repeat a
no-op: a redelivered task finds its emails complete and sends nothing.
"""

import logging
from collections.abc import Callable
from datetime import datetime

from ..backoff import jittered
from ..config import Settings
from ..domain.ids import utc_at
from ..domain.states import FINISHED, WAITING, DeliveryState, OutboxStatus
from ..storage import UnitOfWork
from ..storage.records import OutboxRecord
from .emails import emails_for, links
from .senders import PermanentSendError

log = logging.getLogger("ats.email")

# Seconds left in the function that delivers (a Lambda's remaining time); None: no deadline.
Remaining = Callable[[], float] | None
SAFETY_SECONDS = 1.0  # beyond the longest SMTP exchange: to record the send and return


class TryLater(Exception):
    """No failure: the event cannot be delivered now; try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class DeliveryBusy(TryLater):
    """Another worker holds a claim on one of the emails: try again once its lease is over."""

    def __init__(self, event_id: str, recipient: str, retry_after: float):
        super().__init__(f"delivery of {event_id} to {recipient} is claimed by another worker", retry_after)


class NotDue(TryLater):
    """The event is still scheduled, or its deliver_after is ahead (a relay whose clock ran ahead)."""

    def __init__(self, event_id: str, retry_after: float):
        super().__init__(f"event {event_id} is not due yet", retry_after)


class OutOfTime(TryLater):
    """The function delivering is near its end: what is left waits, untried, for its next run."""

    def __init__(self, event_id: str):
        super().__init__(f"no time left to deliver {event_id} in this run", retry_after=0.0)


class EventMissing(LookupError):
    """The task names an event the outbox does not hold (yet): retried, then given up."""


def out_of_time(remaining: Remaining, settings: Settings) -> bool:
    """Whether too little time is left to start a send: one SMTP exchange may take the whole SMTP
    timeout, so a send starts only while that and a second are left (and so never with a timeout
    beyond the time left)."""
    return remaining is not None and remaining() < settings.smtp_timeout + SAFETY_SECONDS


def deliver(uow: UnitOfWork, settings: Settings, event_id: str, *, sender=None, remaining: Remaining = None) -> int:
    """Send what the event still owes and mark it sent; returns the number of emails sent now.

    Raises on a failed send (after releasing its claim), so the caller can retry the whole
    event: the emails already sent are skipped by the ledger. With `remaining`, starts no send
    once out_of_time (OutOfTime: the rest is for the next run).
    """
    record = uow.outbox.get(event_id)
    if record is None:
        raise EventMissing(f"no outbox event {event_id}")
    if record.status in FINISHED:
        return 0
    # Only what the relay promoted is sent, and never before its time: a cancel is decided against
    # the promotion alone, and a retry waits its turn.
    now = uow.outbox.clock()
    if record.status in WAITING or (record.deliver_after or "") > utc_at(now):
        due = record.due_at or record.deliver_after
        due_at = datetime.fromisoformat(due).timestamp() if due else now
        raise NotDue(event_id, retry_after=max(1.0, due_at - now))
    with uow:
        emails = emails_for(record, uow.users.get_many, links(settings.jwt_secret, settings.public_url))
    sender = sender or uow.sender
    outbox, sent = uow.outbox, 0
    for mail in emails:
        if out_of_time(remaining, settings):
            raise OutOfTime(event_id)
        if not outbox.claim_delivery(event_id, mail.recipient, lease_seconds=settings.email_lease_seconds):
            if outbox.delivery_state(event_id, mail.recipient) == DeliveryState.SENT:
                continue  # a repeat of a delivery already made
            raise DeliveryBusy(event_id, mail.recipient, retry_after=settings.email_lease_seconds)
        try:
            sender.send(mail)
        except BaseException:
            outbox.release_delivery(event_id, mail.recipient)
            raise
        outbox.complete_delivery(event_id, mail.recipient)
        sent += 1
    outbox.mark(event_id, status=OutboxStatus.SENT)
    return sent


def describe(error: BaseException) -> str:
    """A failure as last_error keeps it."""
    return f"{type(error).__name__}: {error}"[:1000]


def record_attempt(uow: UnitOfWork, event_id: str, error: BaseException, *, final: bool) -> None:
    """Note a failed attempt of a task the broker retries (the event stays published); the final one
    marks it failed, for an operator to see."""
    message = describe(error)
    if uow.outbox.get(event_id) is None:
        return
    status = OutboxStatus.FAILED if final else OutboxStatus.PUBLISHED
    uow.outbox.mark(event_id, status=status, error=message, attempted=True)
    if final:
        log.error("event %s failed for good: %s", event_id, message)
    else:
        log.warning("event %s: attempt failed, will retry: %s", event_id, message)


def retry_later(uow: UnitOfWork, settings: Settings, record: OutboxRecord, error: str) -> None:
    """Note a failed attempt that no broker retries (a delivery in-process, a relay's publish):
    the event waits, retrying, until the backoff of its attempts so far is over, so an outage of a
    few seconds costs a few attempts, not one per relay pass."""
    at = uow.outbox.clock() + backoff(record.attempts, settings)
    if uow.outbox.retry_later(record.id, at=utc_at(at), error=error):
        log.warning("event %s: attempt %d failed, next at %s: %s", record.id, record.attempts + 1, utc_at(at), error)


def is_permanent(error: BaseException) -> bool:
    return isinstance(error, PermanentSendError)


def backoff(retries: int, settings: Settings) -> float:
    """Exponential backoff with jitter: half fixed, half random, capped well under visibility."""
    return jittered(retries, base=settings.email_retry_base, cap=settings.email_retry_max, fixed=0.5)


def wait_again(later: TryLater, settings: Settings) -> float:
    """How long a task held back by `later` waits before it looks again: the wait it was given, at
    most the retry cap, three quarters of it fixed and the rest at random, so the tasks one claim
    or one moment held back do not all come back at once (never later: the cap keeps a waiting task
    under the visibility timeout)."""
    wait = min(later.retry_after, settings.email_retry_max)
    return jittered(0, base=wait, cap=wait, fixed=0.75)


def deliver_in_process(uow: UnitOfWork, settings: Settings, event_id: str, *, remaining: Remaining = None) -> bool:
    """The embedded default's delivery, right after commit, and the relay's without a broker:
    never raises into its caller.

    A failure counts an attempt and leaves the event retrying after its backoff (retry_later),
    for the relay (or a server's delivery thread) to try again then; the last allowed attempt, or
    a permanent refusal, marks it failed. A claim another sender holds is no failure: the event
    waits for the claim's lease, its attempts unchanged (no broker comes back for it, and the
    relay's next pass must not). An event not due, or no time left: it stays as it is.
    """
    try:
        deliver(uow, settings, event_id, remaining=remaining)
        return True
    except DeliveryBusy as busy:
        failure: Exception = busy
    except TryLater:
        return False
    except Exception as error:
        failure = error
    try:
        _hold_back(uow, settings, event_id, failure)
    except Exception:
        log.exception("event %s: could not record the failed attempt", event_id)
    return False


def _hold_back(uow: UnitOfWork, settings: Settings, event_id: str, error: Exception) -> None:
    """What deliver_in_process does after a failure, or after a claim another sender holds."""
    if isinstance(error, DeliveryBusy):  # no attempt of ours: wait out the claim's lease
        at = utc_at(uow.outbox.clock() + wait_again(error, settings))
        uow.outbox.retry_later(event_id, at=at, error=str(error), attempted=False)
        return
    record = uow.outbox.get(event_id)
    if record is None:
        return
    if is_permanent(error) or record.attempts + 1 >= settings.email_max_retries:
        record_attempt(uow, event_id, error, final=True)
    else:
        retry_later(uow, settings, record, describe(error))
