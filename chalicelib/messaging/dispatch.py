"""How committed events are handed on for delivery: to the broker (Celery on Redis), or, when no
broker is configured, to a thread of this process (the embedded default), or in a Lambda to the
relay functions alone. The composition root picks one per process; the services and the relay
only call it.
"""

from typing import TYPE_CHECKING, Protocol

from ..config import Settings
from ..storage import UnitOfWork
from ..storage.records import OutboxRecord

if TYPE_CHECKING:  # the broker's modules load only where one is configured; delivery's at first use
    from .delivery import Remaining
    from .publisher import Publisher


class Dispatcher(Protocol):
    def after_commit(self, uow: UnitOfWork, settings: Settings, event_ids: list[str]) -> None:
        """Hand on the events a request just committed, due now (none, when it only scheduled some:
        uow.scheduled); never waits long, may leave them pending."""

    def relay(
        self,
        uow: UnitOfWork,
        settings: Settings,
        pending: list[OutboxRecord],
        stale: list[OutboxRecord],
        remaining: "Remaining" = None,
    ) -> tuple[int, int]:
        """Hand on what the relay found (pending, and published long ago but not sent), starting no
        send once out of time (delivery.out_of_time): (published, delivered in-process)."""

    def checks(self, settings: Settings) -> dict[str, str]:
        """Readiness of what it depends on, by name ('ok' or why not)."""


class BrokerDispatcher:
    """Publish to the broker; the request never waits on a dead one (publisher.py)."""

    def __init__(self, publisher: "Publisher"):
        self.publisher = publisher

    def after_commit(self, uow: UnitOfWork, settings: Settings, event_ids: list[str]) -> None:
        uow.outbox.mark_published(self.publisher.publish(settings, event_ids))

    def relay(
        self,
        uow: UnitOfWork,
        settings: Settings,
        pending: list[OutboxRecord],
        stale: list[OutboxRecord],
        remaining: "Remaining" = None,
    ) -> tuple[int, int]:
        # Publishing is bounded by the publish timeout, not a send: `remaining` was checked before.
        from ..domain.states import OutboxStatus
        from .delivery import retry_later

        found = pending + stale
        published = set(self.publisher.publish(settings, [record.id for record in found], force=True))
        uow.outbox.mark_published([record.id for record in pending if record.id in published])
        for record in stale:  # a republished event starts a fresh wait
            if record.id in published:
                uow.outbox.mark(record.id, status=OutboxStatus.PUBLISHED)
        for record in found:  # the broker is down: the next pass waits for the backoff, not the next minute
            if record.id not in published:
                retry_later(uow, settings, record, "not published: the broker was unreachable")
        return len(published), 0

    def checks(self, settings: Settings) -> dict[str, str]:
        try:
            self.publisher.ping(settings)
            return {"broker": "ok"}
        except Exception as error:  # readiness reports any failure instead of raising it
            return {"broker": f"unavailable: {type(error).__name__}"}


class InProcessDispatcher:
    """No broker: a thread of this process delivers (background.py), scheduled events too once
    they are due; the relay delivers itself."""

    def after_commit(self, uow: UnitOfWork, settings: Settings, event_ids: list[str]) -> None:
        from . import background

        background.submit(uow.fresh, settings, event_ids, scheduled=bool(uow.scheduled))

    def relay(
        self,
        uow: UnitOfWork,
        settings: Settings,
        pending: list[OutboxRecord],
        stale: list[OutboxRecord],
        remaining: "Remaining" = None,
    ) -> tuple[int, int]:
        from .delivery import deliver_in_process, out_of_time

        delivered = 0
        for record in pending + stale:
            if out_of_time(remaining, settings):
                break  # the rest stays as it is, for the next run
            delivered += deliver_in_process(uow, settings, record.id, remaining=remaining)
        return 0, delivered

    def checks(self, settings: Settings) -> dict[str, str]:
        return {}


class RelayDispatcher(InProcessDispatcher):
    """No broker, in a Lambda: nothing after commit, as a thread would freeze with the function once
    it answered; the events stay pending, and the relay functions (on the table's stream, and every
    minute) deliver them in-process."""

    def after_commit(self, uow: UnitOfWork, settings: Settings, event_ids: list[str]) -> None:
        return None
