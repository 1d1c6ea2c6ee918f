"""The composition root: the one place that reads settings to decide which driver serves each
port, and that keeps what a process builds once.

- storage: SQLite or DynamoDB (ATS_STORAGE), one per file or table, shared by the threads;
- counters: in Redis when ATS_REDIS_URL is set (falling back on storage while it is down), else
  the storage's;
- dispatcher: the broker (Celery on Redis) when ATS_REDIS_URL is set, else a thread of this process
  (in a Lambda: none, the relay functions deliver);
- sender: file, console, SMTP or SES (ATS_EMAIL_BACKEND);
- secrets: the JWT secret from ATS_JWT_SECRET, an SSM parameter, or (dev) a generated file.

Entry points (the views' request context, the CLI, the worker, the scheduled functions) take
their settings from `settings()` and their unit of work from `unit_of_work(settings)`; services
get the ports with the unit of work and never choose them.
"""

import dataclasses
import os
import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

from .config import Settings, environment, get_settings
from .domain.errors import ConfigurationError
from .domain.models import Principal
from .secrets import SecretStore
from .services.context import Context, context_for
from .storage.items import ItemStore
from .storage.repositories import UnitOfWork
from .storage.stores import CounterStore, Storage

if TYPE_CHECKING:
    from .messaging.dispatch import Dispatcher
    from .storage.drivers.dynamodb import DynamoItemStore

T = TypeVar("T")

_lock = threading.RLock()  # held while building: a first burst of threads builds each thing once
_built: dict[tuple, Any] = {}
_secrets = SecretStore()


def _once(kind: str, key: Hashable, build: Callable[[], T]) -> T:
    with _lock:
        if (kind, key) not in _built:
            _built[kind, key] = build()
        return _built[kind, key]


# --- Settings and secrets -------------------------------------------------------------------------


def settings() -> Settings:
    """The settings of now (the environment, read afresh), with the JWT secret found.

    Made once per set of values of the variables they are read from (config.environment), so a
    request pays for reading those and a dict lookup, not for making settings or the search for
    the secret; a secret not found is searched for again on the next request.
    """
    env = environment()
    key = tuple(env.items())
    found = _built.get(("settings", key))
    if found is not None:
        return found
    current = get_settings(env)
    if current.jwt_secret_value:
        return _once("settings", key, lambda: current)
    try:
        secret = _jwt_secret(current)
    except ConfigurationError as error:  # said when the secret is used: /ping needs none
        return dataclasses.replace(current, jwt_secret_problem=error.message)
    return _once("settings", key, lambda: dataclasses.replace(current, jwt_secret_value=secret))


def secrets_held() -> list[str]:
    """The secrets this process fetched or made (for the tests' log check)."""
    return _secrets.held()


def _jwt_secret(settings: Settings) -> str:
    if settings.jwt_secret_parameter:
        value = _secrets.parameter(settings.jwt_secret_parameter, settings.aws_region)
        if len(value.encode()) < 32:
            raise ConfigurationError(f"The JWT secret in {settings.jwt_secret_parameter} must be at least 32 bytes.")
        return value
    if not settings.is_dev:
        raise ConfigurationError("ATS_JWT_SECRET is required outside the dev stage.")
    return _secrets.generated(os.path.join(settings.state_dir, "jwt-secret"))


# --- Storage ----------------------------------------------------------------------------------------


def _storage_key(settings: Settings) -> tuple:
    if settings.storage == "sqlite":
        return ("sqlite", os.path.abspath(settings.sqlite_path))
    return (
        settings.storage,
        settings.table_name,
        settings.dynamodb_endpoint,
        settings.aws_region,
        settings.dynamodb_connect_timeout,
        settings.dynamodb_read_timeout,
        settings.dynamodb_max_retries,
    )


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


def storage(settings: Settings) -> Storage:
    """The storage of the configured backend: built once per process, shared by its threads."""
    return _once("storage", _storage_key(settings), lambda: Storage.over(item_store(settings)))


def forget_storage(settings: Settings | None = None) -> None:
    """Build the storage afresh when next asked (tests that make a table or a file per test)."""
    with _lock:
        for kind, key in list(_built):
            if kind == "storage" and (settings is None or key == _storage_key(settings)):
                del _built[kind, key]


# --- Messaging and counters -----------------------------------------------------------------------


def counters(settings: Settings, stored: Storage) -> CounterStore:
    """Login throttling's counters: Redis when configured (storage while it is down), else storage."""
    if not settings.redis_url:
        return stored.counters
    from .storage.drivers.redis_counters import RedisOrStorage

    url = settings.redis_url
    return _once("counters", (url, id(stored)), lambda: RedisOrStorage(url, stored.counters))


def dispatcher(settings: Settings) -> "Dispatcher":
    """How committed events are handed on: the broker when one is configured, else this process;
    in a Lambda, whose threads freeze once it answered, the relay functions alone."""
    from .messaging.dispatch import BrokerDispatcher, InProcessDispatcher, RelayDispatcher

    if not settings.redis_url:
        if settings.in_lambda:
            return _once("dispatcher", "lambda", RelayDispatcher)
        return _once("dispatcher", None, InProcessDispatcher)
    from .messaging.publisher import Publisher

    url = settings.redis_url
    return _once("dispatcher", url, lambda: BrokerDispatcher(Publisher(url)))


def deliver_when_due(settings: Settings) -> None:
    """A long-running server's start (make run): without a broker, this process's delivery thread
    sends scheduled events as they fall due from now on, those scheduled before a restart too, with
    no request needed; with a broker the relay hands them on."""
    if not settings.redis_url:
        from .messaging import background

        background.watch(lambda: unit_of_work(settings), settings)


def sender(settings: Settings):
    """The configured email sender, one per configuration (its connections are reused)."""
    from .messaging.senders import make_sender, sender_key

    return _once("sender", sender_key(settings), lambda: make_sender(settings, _secrets))


def unit_of_work(settings: Settings, stored: Storage | None = None) -> UnitOfWork:
    """A new unit of work on the configured storage (or `stored`), with the ports the settings choose."""
    stored = stored or storage(settings)
    return UnitOfWork(
        stored,
        counters=counters(settings, stored),
        dispatcher=lambda: dispatcher(settings),
        sender=lambda: sender(settings),
    )


def context(who: Principal | None = None) -> Context:
    """A use case's context outside a request (the CLI, a script): a new unit of work, the settings."""
    current = settings()
    return context_for(unit_of_work(current), current, who)


def reset() -> None:
    """Close and forget everything but the storages (tests): connections, pauses, senders, secrets."""
    with _lock:
        kept = {key: value for key, value in _built.items() if key[0] == "storage"}
        dropped = [value for key, value in _built.items() if key[0] != "storage"]
        _built.clear()
        _built.update(kept)
    for value in dropped:
        for closing in (getattr(value, "close", None), getattr(getattr(value, "publisher", None), "close", None)):
            if closing is not None:
                closing()
    _secrets.clear()
