"""Storage: the repository + unit-of-work interface and its backends."""

from ..config import Settings
from ..domain.errors import ConfigurationError
from .base import ApplicationQuery, JobQuery, UnitOfWork

__all__ = ["ApplicationQuery", "JobQuery", "UnitOfWork", "unit_of_work"]


def unit_of_work(settings: Settings) -> UnitOfWork:
    """A new unit of work on the configured backend; use it as a context manager."""
    if settings.storage == "sqlite":
        from .sqlite import Database, SqliteUnitOfWork

        return SqliteUnitOfWork(Database.at(settings.sqlite_path))
    if settings.storage == "dynamodb":
        from .dynamodb import DynamoUnitOfWork

        return DynamoUnitOfWork.for_settings(settings)
    raise ConfigurationError(f"Unknown ATS_STORAGE {settings.storage!r}: use sqlite or dynamodb.")
