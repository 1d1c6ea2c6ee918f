"""The composition root: the one place that reads settings to decide which driver serves a port,
and that keeps what a process builds once (the storage of each configured backend).
"""

import threading
from typing import TYPE_CHECKING

from .config import Settings
from .domain.errors import ConfigurationError
from .storage.items import ItemStore
from .storage.repositories import UnitOfWork
from .storage.stores import Storage

if TYPE_CHECKING:
    from .storage.drivers.dynamodb import DynamoItemStore

_lock = threading.Lock()
_storages: dict[tuple, Storage] = {}


def _storage_key(settings: Settings) -> tuple:
    if settings.storage == "sqlite":
        return ("sqlite", settings.sqlite_path)
    return (
        settings.storage,
        settings.table_name,
        settings.dynamodb_endpoint,
        settings.aws_region,
        settings.dynamodb_connect_timeout,
        settings.dynamodb_read_timeout,
        settings.dynamodb_max_retries,
    )


def item_store(settings: Settings) -> ItemStore:
    """A new item store on the configured backend (the drivers load on first use only)."""
    if settings.storage == "sqlite":
        from .storage.drivers.sqlite import SqliteItemStore

        return SqliteItemStore(settings.sqlite_path)
    if settings.storage == "dynamodb":
        store = _dynamodb(settings)
        if settings.dynamodb_create_tables:
            store.create_table()
        return store
    raise ConfigurationError(f"Unknown ATS_STORAGE {settings.storage!r}: use sqlite or dynamodb.")


def create_table(settings: Settings) -> bool:
    """Create the DynamoDB table unless it exists; True if this call created it."""
    return _dynamodb(settings).create_table()


def _dynamodb(settings: Settings) -> "DynamoItemStore":
    from .storage.drivers.dynamodb import DynamoItemStore

    return DynamoItemStore(
        settings.table_name,
        region=settings.aws_region,
        endpoint=settings.dynamodb_endpoint,
        connect_timeout=settings.dynamodb_connect_timeout,
        read_timeout=settings.dynamodb_read_timeout,
        max_retries=settings.dynamodb_max_retries,
    )


def storage(settings: Settings) -> Storage:
    """The storage of the configured backend: built once per process, shared by its threads."""
    key = _storage_key(settings)
    with _lock:  # held while building: the threads of a first burst must not each migrate a file or make a table
        found = _storages.get(key)
        if found is None:
            found = _storages[key] = Storage.over(item_store(settings))
    return found


def unit_of_work(settings: Settings) -> UnitOfWork:
    """A new unit of work on the configured storage; use it as a context manager."""
    return UnitOfWork(storage(settings))


def forget_storage(settings: Settings | None = None) -> None:
    """Build the storage afresh when next asked (tests that make a table or a file per test)."""
    with _lock:
        if settings is None:
            _storages.clear()
        else:
            _storages.pop(_storage_key(settings), None)
