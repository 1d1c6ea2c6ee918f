"""The per-entity SQLite schema of the first releases (versions 1..5), and its rows as items.

The SQLite driver migrates a database still at one of these versions in place, on first open:
every row becomes, through the entity declarations, the item(s) the entity is stored as now.
"""

import json
import sqlite3
from collections.abc import Iterator
from typing import Any, TypeVar

from ..domain.models import Application, HistoryEntry, Job, User
from .entities import (
    APPLICATION,
    EVENT,
    HISTORY,
    JOB,
    USER,
    application_guard,
    email_guard,
    letter_item,
    stored_fields,
    word_items,
)
from .items import Item
from .records import OutboxRecord
from .stores import counter_item, delivery_item, idempotency_item

LEGACY_MIGRATIONS = [
    # 1: the first schema
    """
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        email_key TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        owner_id TEXT NOT NULL REFERENCES users(id),
        title TEXT NOT NULL,
        title_key TEXT NOT NULL,
        description TEXT,
        location TEXT,
        department TEXT,
        employment_type TEXT,
        status TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        deleted_at TEXT
    );
    CREATE INDEX jobs_by_status ON jobs(status, id) WHERE deleted_at IS NULL;
    CREATE INDEX jobs_by_owner ON jobs(owner_id, id) WHERE deleted_at IS NULL;
    CREATE TABLE applications (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL REFERENCES jobs(id),
        candidate_id TEXT NOT NULL REFERENCES users(id),
        recruiter_id TEXT NOT NULL REFERENCES users(id),
        status TEXT NOT NULL,
        cover_letter TEXT,
        version INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (candidate_id, job_id)
    );
    CREATE INDEX applications_by_candidate ON applications(candidate_id, id);
    CREATE INDEX applications_by_job ON applications(job_id, id);
    CREATE INDEX applications_by_job_status ON applications(job_id, status, id);
    CREATE INDEX applications_by_recruiter ON applications(recruiter_id, id);
    CREATE INDEX applications_by_recruiter_status ON applications(recruiter_id, status, id);
    CREATE TABLE application_history (
        id TEXT PRIMARY KEY,
        application_id TEXT NOT NULL REFERENCES applications(id),
        from_status TEXT,
        to_status TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        reason TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX history_by_application ON application_history(application_id, id);
    CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX outbox_by_status ON outbox(status, id);
    """,
    # 2: the delivery ledger (one row per email of an event)
    """
    CREATE TABLE deliveries (
        event_id TEXT NOT NULL,
        recipient TEXT NOT NULL,
        state TEXT NOT NULL,
        lease_until REAL NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (event_id, recipient)
    );
    """,
    # 3: a recruiter's jobs of one status, newest first, from one index range
    """
    CREATE INDEX jobs_by_owner_status ON jobs(owner_id, status, id) WHERE deleted_at IS NULL;
    """,
    # 4: fixed-window counters (login throttling) and the first responses to Idempotency-Keys
    """
    CREATE TABLE counters (
        key TEXT PRIMARY KEY,
        hits INTEGER NOT NULL,
        ends_at REAL NOT NULL
    );
    CREATE INDEX counters_by_end ON counters(ends_at);
    CREATE TABLE idempotency (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        state TEXT NOT NULL,
        status INTEGER,
        body TEXT,
        headers TEXT NOT NULL,
        lease_until REAL NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE INDEX idempotency_by_expiry ON idempotency(expires_at);
    """,
    # 5: the token a claim is held under (only its holder completes or releases it)
    """
    ALTER TABLE idempotency ADD COLUMN token TEXT;
    """,
]
LEGACY_TABLES = (
    "users",
    "jobs",
    "applications",
    "application_history",
    "outbox",
    "deliveries",
    "counters",
    "idempotency",
)


T = TypeVar("T")


def _rows(conn: sqlite3.Connection, table: str) -> Iterator[sqlite3.Row]:
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    return cursor.execute(f"SELECT * FROM {table}")


def _records(conn: sqlite3.Connection, table: str, cls: type[T]) -> Iterator[T]:
    """The table's rows as the dataclass whose fields name its columns (extra columns left out;
    a field added since these tables were last written takes its default)."""
    columns = {column[1] for column in conn.execute(f"PRAGMA table_info({table})")}
    names = [name for name in stored_fields(cls) if name in columns]
    return (cls(**_columns(row, *names)) for row in _rows(conn, table))


def _columns(row: sqlite3.Row, *names: str) -> dict[str, Any]:
    """The row's columns of these names, as keyword arguments."""
    return {name: row[name] for name in names}


def legacy_items(conn: sqlite3.Connection) -> Iterator[Item]:
    """Every row of the legacy tables, as items."""
    for user in _records(conn, "users", User):
        yield from (USER.item(user), email_guard(user))
    for job in _records(conn, "jobs", Job):
        yield from (JOB.item(job), *word_items(job).values())
    for application in _records(conn, "applications", Application):
        yield from (APPLICATION.item(application), application_guard(application))
        letter = letter_item(application)
        if letter is not None:
            yield letter
    for entry in _records(conn, "application_history", HistoryEntry):
        yield HISTORY.item(entry)
    for row in _rows(conn, "outbox"):
        yield EVENT.item(OutboxRecord(**{**dict(row), "payload": json.loads(row["payload"])}))
    for row in _rows(conn, "deliveries"):
        yield delivery_item(**_columns(row, "event_id", "recipient", "state", "lease_until", "updated_at"))
    for row in _rows(conn, "counters"):
        yield counter_item(**_columns(row, "key", "hits", "ends_at"))
    for row in _rows(conn, "idempotency"):
        yield idempotency_item(
            **_columns(
                row, "key", "fingerprint", "token", "state", "lease_until", "expires_at", "status", "body", "headers"
            )
        )
