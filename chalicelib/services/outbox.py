"""Committing a unit of work together with its outbox events."""
from ..config import Settings
from ..domain.events import Event
from ..storage import UnitOfWork


def commit(uow: UnitOfWork, settings: Settings) -> list[Event]:
    """Commit the change with its events in the outbox. Delivery reads the outbox afterwards."""
    return uow.commit()
