"""Storage: the item-store port and its drivers, the entity declarations, and the repositories and
stores written once over them."""

from .records import ApplicationQuery, JobQuery
from .repositories import UnitOfWork

__all__ = ["ApplicationQuery", "JobQuery", "UnitOfWork", "unit_of_work"]


def unit_of_work(settings) -> UnitOfWork:
    """A new unit of work on the configured backend (built by the composition root)."""
    from ..bootstrap import unit_of_work as build

    return build(settings)
