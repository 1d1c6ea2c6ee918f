"""Storage: the item-store port and its drivers, the entity declarations, and the repositories and
stores written once over them. The composition root (chalicelib/bootstrap.py) builds them."""

from .records import ApplicationQuery, JobQuery
from .repositories import UnitOfWork

__all__ = ["ApplicationQuery", "JobQuery", "UnitOfWork"]
