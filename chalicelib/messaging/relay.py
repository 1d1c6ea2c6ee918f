"""The relay: hand to the broker what the requests could not (broker down, process crashed).

It publishes the outbox's pending events, and republishes those published long ago and still not
sent (a task lost with a Redis that restarted without persistence): the delivery ledger makes a
repeat harmless. "Long ago" is settings.relay_republish_seconds (an hour), well past the broker's
visibility timeout: a task whose worker died comes back from Redis itself by then, and a shorter
bound would queue a copy of every event waiting in a backlog, again at every bound while no worker
runs. With no broker configured it delivers them in-process instead. Run by
`python -m chalicelib.cli relay`, by a scheduled function and by a DynamoDB-stream function.

First it promotes the waiting events that are due (by the outbox's clock) to pending, each by a
conditional write: the scheduled ones, so a cancel racing it either comes first (the event is
never sent) or fails; and the retrying ones, whose last attempt failed, once their backoff is over.

The relay functions pass `remaining`, the seconds their Lambda has left: no pass and no send
starts once too little is left for one (delivery.out_of_time); the rest is for the next run. The
local relay daemon and `cli relay` have no deadline.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..config import Settings
from ..domain.ids import utc_at
from ..domain.states import OutboxStatus
from ..storage import UnitOfWork
from .delivery import Remaining, out_of_time

log = logging.getLogger("ats.outbox")


@dataclass
class RelayReport:
    """What one relay pass found, handed on and delivered."""

    found: int = 0
    published: int = 0
    delivered: int = 0
    promoted: int = 0  # waiting events found due, and so among those found

    @property
    def left(self) -> int:
        return self.found - self.published - self.delivered


def promote_due(uow: UnitOfWork, *, limit: int = 100) -> list[str]:
    """Move up to `limit` waiting events that are due now to pending, the scheduled ones first; the
    ids this call moved (another relay, or a cancel, may have taken one first)."""
    now = utc_at(uow.outbox.clock())
    due = uow.outbox.due(now=now, status=OutboxStatus.SCHEDULED, limit=limit)
    due += uow.outbox.due(now=now, status=OutboxStatus.RETRYING, limit=limit - len(due))
    return [record.id for record in due if uow.outbox.promote(record.id, now=now)]


def relay_once(uow: UnitOfWork, settings: Settings, *, limit: int = 100, remaining: Remaining = None) -> RelayReport:
    """One pass: the waiting events due now promoted, then up to `limit` pending events (and as
    many stale published ones) handed on; nothing at all once out of time."""
    if out_of_time(remaining, settings):
        return RelayReport()
    promoted = promote_due(uow, limit=limit)
    stale_before = utc_at(uow.outbox.clock() - settings.relay_republish_seconds)
    pending = uow.outbox.list(status=OutboxStatus.PENDING, limit=limit)
    stale = [
        record
        for record in uow.outbox.list(status=OutboxStatus.PUBLISHED, limit=limit)
        if record.updated_at < stale_before
    ]
    report = RelayReport(found=len(pending) + len(stale), promoted=len(promoted))
    if not report.found:
        return report
    report.published, report.delivered = uow.dispatcher.relay(uow, settings, pending, stale, remaining)
    log.info(
        "relay: %d found (%d promoted from waiting), %d published, %d delivered in-process",
        report.found,
        report.promoted,
        report.published,
        report.delivered,
    )
    return report


def relay_all(
    uow: UnitOfWork, settings: Settings, *, limit: int = 100, max_passes: int = 1000, remaining: Remaining = None
) -> RelayReport:
    """Passes until nothing is left that can be moved now, or no time is left for another."""
    total = RelayReport()
    for _ in range(max_passes):
        if out_of_time(remaining, settings):
            break
        report = relay_once(uow, settings, limit=limit, remaining=remaining)
        total.found += report.found
        total.published += report.published
        total.delivered += report.delivered
        total.promoted += report.promoted
        if (report.found < limit and report.promoted < limit) or report.left:
            break
    return total


def run_forever(
    settings_factory: Callable[[], Settings],
    new_uow: Callable[[Settings], UnitOfWork],
    *,
    interval: float = 5.0,
    limit: int = 100,
) -> None:
    """The local relay daemon: a pass every `interval` seconds, settings read afresh each time."""
    while True:
        try:
            settings = settings_factory()
            relay_all(new_uow(settings), settings, limit=limit)
        except Exception:
            log.exception("relay pass failed; trying again in %.0f s", interval)
        time.sleep(interval)
