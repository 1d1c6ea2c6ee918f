"""Committing a unit of work together with its outbox events, then handing them on for delivery.

After commit the events go to the unit of work's dispatcher (messaging/dispatch.py): with a broker
configured they are published under a hard time bound and marked published, whatever is not
stays pending for the relay, and the request never waits on a dead broker; with none (the
embedded default) a thread of this process delivers them right away. Either way a delivery
problem never fails the change: it is committed. Events scheduled for later (deliver_after) are
not handed on: the relay promotes them when due, or without a broker the delivery thread does.
"""

import logging

from ..config import Settings
from ..domain.errors import PermissionDenied, ValidationFailed
from ..domain.events import Event
from ..domain.states import OutboxStatus
from ..storage import UnitOfWork
from ..storage.records import OutboxRecord
from .context import SignedIn

log = logging.getLogger("ats.outbox")


def commit(uow: UnitOfWork, settings: Settings) -> list[Event]:
    """Commit the change with its events in the outbox, then dispatch them (never raises for that)."""
    events = uow.commit()
    if events or uow.scheduled:  # scheduled only: the in-process dispatcher starts its sweep
        try:
            dispatch(uow, settings, [event.id for event in events])
        except Exception:
            log.exception("dispatch after commit failed; the relay will pick the events up")
    return events


def dispatch(uow: UnitOfWork, settings: Settings, event_ids: list[str]) -> None:
    """Hand the events on as the composition root chose: to the broker, or to a thread of this process."""
    uow.dispatcher.after_commit(uow, settings, event_ids)


def list_events(ctx: SignedIn, *, status: str, limit: int = 100) -> list[OutboxRecord]:
    """Outbox events in a status, oldest first: an admin's view of email delivery."""
    if not ctx.who.is_admin:
        raise PermissionDenied("Only admins see the outbox.")
    if status not in tuple(OutboxStatus):
        raise ValidationFailed(
            "Unknown outbox status.", details=[{"field": "status", "message": f"one of {', '.join(OutboxStatus)}"}]
        )
    return ctx.uow.outbox.list(status=status, limit=limit)
