"""SQLite backend (stdlib sqlite3): WAL, foreign keys, a versioned schema, one connection per thread.

Reads run outside any transaction; the first write of a unit of work (or its `begin_write`,
before the reads a write is decided on) opens `BEGIN IMMEDIATE`, so two writers queue on
SQLite's lock instead of failing a lock upgrade, and a write that was decided on a stale read
is refused by its version condition. What `require` checks is read under that lock.
"""

import dataclasses
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from typing import ClassVar

from ..domain.errors import ConcurrencyError, Conflict, DomainError, Unavailable, UnknownActor
from ..domain.events import Event
from ..domain.ids import utc_now
from ..domain.models import Application, HistoryEntry, Job, User, email_key
from .base import (
    ApplicationQuery,
    ApplicationRepository,
    CounterRepository,
    IdempotencyRecord,
    IdempotencyRepository,
    JobQuery,
    JobRepository,
    OutboxRecord,
    OutboxRepository,
    UnitOfWork,
    UserRepository,
    Window,
)

MIGRATIONS = [
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

USER_COLUMNS = "id, email, name, role, password_hash, created_at"
JOB_COLUMNS = (
    "id, owner_id, title, description, location, department, employment_type, status, "
    "version, created_at, updated_at, deleted_at"
)
APPLICATION_COLUMNS = "id, job_id, candidate_id, recruiter_id, status, cover_letter, version, created_at, updated_at"
HISTORY_COLUMNS = "id, application_id, from_status, to_status, actor_id, reason, created_at"


class Database:
    """One SQLite file: migrated once per process, one connection per thread."""

    _instances: ClassVar[dict[str, "Database"]] = {}
    _instances_lock = threading.Lock()

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._migrate(self.connection())

    @classmethod
    def at(cls, path: str) -> "Database":
        with cls._instances_lock:
            if path not in cls._instances:
                cls._instances[path] = cls(path)
            return cls._instances[path]

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across app crashes
            conn.execute("PRAGMA foreign_keys=ON")
            # Python's casefold, for filters that ignore case beyond ASCII (SQLite's lower() does not).
            conn.create_function("casefold", 1, _casefold, deterministic=True)
            self._local.conn = conn
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
                for statement in filter(str.strip, script.split(";")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _casefold(value: str | None) -> str | None:
    return None if value is None else value.casefold()


def _placeholders(values) -> str:
    return ", ".join("?" * len(values))


class _Repository:
    def __init__(self, uow: "SqliteUnitOfWork"):
        self._uow = uow

    def _one(self, sql: str, params=()) -> sqlite3.Row | None:
        return self._uow.read(sql, params).fetchone()

    def _all(self, sql: str, params=()) -> list[sqlite3.Row]:
        return self._uow.read(sql, params).fetchall()

    def _many(self, columns: str, table: str, ids: Iterable[str]) -> list[sqlite3.Row]:
        """The rows of these ids, in one statement."""
        ids = sorted(set(ids))
        if not ids:
            return []
        return self._all(f"SELECT {columns} FROM {table} WHERE id IN ({_placeholders(ids)})", ids)


# Rows become entities positionally (7x cheaper than Job(**dict(row)), which lists feel): each
# *_COLUMNS names its entity's leading fields in declaration order, as checked here at import.
for _entity, _columns in ((User, USER_COLUMNS), (Job, JOB_COLUMNS), (Application, APPLICATION_COLUMNS)):
    if [f.name for f in dataclasses.fields(_entity)][: len(_columns.split(", "))] != _columns.split(", "):
        raise RuntimeError(f"{_entity.__name__}: the column list is not in the order of its fields")


def _user(row) -> User:
    return User(*row)


def _job(row) -> Job:
    return Job(*row)


def _application(row) -> Application:
    return Application(*row)


class SqliteUsers(_Repository, UserRepository):
    def add(self, user: User) -> None:
        try:
            self._uow.write(
                f"INSERT INTO users ({USER_COLUMNS}, email_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (user.id, user.email, user.name, user.role, user.password_hash, user.created_at, user.email_key),
            )
        except sqlite3.IntegrityError:
            raise Conflict("An account with this email already exists.", code="email_taken") from None
        self._uow.track(user)

    def get(self, user_id: str) -> User | None:
        row = self._one(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", (user_id,))
        return None if row is None else _user(row)

    def get_by_email(self, email: str) -> User | None:
        row = self._one(f"SELECT {USER_COLUMNS} FROM users WHERE email_key = ?", (email_key(email),))
        return None if row is None else _user(row)

    def get_many(self, user_ids: Iterable[str]) -> dict[str, User]:
        return {user.id: user for user in map(_user, self._many(USER_COLUMNS, "users", user_ids))}

    def require(self, user_id: str) -> None:
        self._uow.begin_write()  # read under the write lock: what it finds holds until commit
        if self._one("SELECT 1 FROM users WHERE id = ?", (user_id,)) is None:
            raise UnknownActor()


class SqliteJobs(_Repository, JobRepository):
    def add(self, job: Job) -> None:
        self._uow.users.require(job.owner_id)
        self._uow.write(
            f"INSERT INTO jobs ({JOB_COLUMNS}, title_key) VALUES ({_placeholders(range(13))})",
            (
                job.id,
                job.owner_id,
                job.title,
                job.description,
                job.location,
                job.department,
                job.employment_type,
                job.status,
                job.version,
                job.created_at,
                job.updated_at,
                job.deleted_at,
                job.title.casefold(),
            ),
        )
        self._uow.track(job)

    def get(self, job_id: str) -> Job | None:
        row = self._one(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        return None if row is None else _job(row)

    def get_many(self, job_ids: Iterable[str]) -> dict[str, Job]:
        return {job.id: job for job in map(_job, self._many(JOB_COLUMNS, "jobs", job_ids))}

    def save(self, job: Job) -> None:
        cursor = self._uow.write(
            "UPDATE jobs SET title = ?, title_key = ?, description = ?, location = ?, department = ?, "
            "employment_type = ?, status = ?, version = ?, updated_at = ?, deleted_at = ? "
            "WHERE id = ? AND version = ?",
            (
                job.title,
                job.title.casefold(),
                job.description,
                job.location,
                job.department,
                job.employment_type,
                job.status,
                job.version,
                job.updated_at,
                job.deleted_at,
                job.id,
                job.version - 1,
            ),
        )
        if cursor.rowcount != 1:
            raise ConcurrencyError("The job was changed by someone else; reload it and try again.")
        self._uow.track(job)

    def require(self, job_id: str, *, statuses: tuple[str, ...] | None = None, failure: DomainError) -> None:
        self._uow.begin_write()  # read under the write lock: what it finds holds until commit
        row = self._one("SELECT status, deleted_at FROM jobs WHERE id = ?", (job_id,))
        if row is None or row["deleted_at"] is not None or (statuses is not None and row["status"] not in statuses):
            raise failure

    def page(self, query: JobQuery, *, limit: int, before: str | None = None) -> list[Job]:
        # `deleted_at IS NULL` literally, so SQLite can use the partial indexes.
        where, params = ["deleted_at IS NULL"], []
        if query.owner_id is not None:
            where.append("owner_id = ?")
            params.append(query.owner_id)
        if query.statuses is not None:
            where.append(f"status IN ({_placeholders(query.statuses)})")
            params.extend(query.statuses)
        for column in ("location", "department"):
            if getattr(query, column) is not None:
                where.append(f"casefold({column}) = ?")
                params.append(getattr(query, column).casefold())
        if query.q:
            where.append("instr(title_key, ?) > 0")
            params.append(query.q.casefold())
        if before is not None:
            where.append("id < ?")
            params.append(before)
        rows = self._all(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?", (*params, limit)
        )
        return [_job(row) for row in rows]


class SqliteApplications(_Repository, ApplicationRepository):
    def add(self, application: Application) -> None:
        self._require_actors(application, application.candidate_id)
        try:
            self._uow.write(
                f"INSERT INTO applications ({APPLICATION_COLUMNS}) VALUES ({_placeholders(range(9))})",
                (
                    application.id,
                    application.job_id,
                    application.candidate_id,
                    application.recruiter_id,
                    application.status,
                    application.cover_letter,
                    application.version,
                    application.created_at,
                    application.updated_at,
                ),
            )
        except sqlite3.IntegrityError as error:
            if "UNIQUE" in str(error):
                raise Conflict("You have already applied to this job.", code="already_applied") from None
            raise
        self._write_history(application)

    def get(self, application_id: str) -> Application | None:
        row = self._one(f"SELECT {APPLICATION_COLUMNS} FROM applications WHERE id = ?", (application_id,))
        return None if row is None else _application(row)

    def save(self, application: Application) -> None:
        self._require_actors(application)
        cursor = self._uow.write(
            "UPDATE applications SET status = ?, cover_letter = ?, version = ?, updated_at = ? "
            "WHERE id = ? AND version = ?",
            (
                application.status,
                application.cover_letter,
                application.version,
                application.updated_at,
                application.id,
                application.version - 1,
            ),
        )
        if cursor.rowcount != 1:
            raise ConcurrencyError("The application was changed by someone else; reload it and try again.")
        self._write_history(application)

    def _require_actors(self, application: Application, *also: str) -> None:
        """Whoever made the new history entries (and `also`) has an account."""
        for user_id in sorted({*also, *(entry.actor_id for entry in application.new_history)}):
            self._uow.users.require(user_id)

    def _write_history(self, application: Application) -> None:
        for entry in application.new_history:
            self._uow.write(
                f"INSERT INTO application_history ({HISTORY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.id,
                    entry.application_id,
                    entry.from_status,
                    entry.to_status,
                    entry.actor_id,
                    entry.reason,
                    entry.created_at,
                ),
            )
        self._uow.track(application)

    def page(self, query: ApplicationQuery, *, limit: int, before: str | None = None) -> list[Application]:
        where, params = [], []
        for column in ("job_id", "candidate_id", "recruiter_id", "status"):
            if getattr(query, column) is not None:
                where.append(f"{column} = ?")
                params.append(getattr(query, column))
        if before is not None:
            where.append("id < ?")
            params.append(before)
        condition = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._all(
            f"SELECT {APPLICATION_COLUMNS} FROM applications {condition} ORDER BY id DESC LIMIT ?", (*params, limit)
        )
        return [_application(row) for row in rows]

    def has_applied(self, candidate_id: str, job_id: str) -> bool:
        return (
            self._one("SELECT 1 FROM applications WHERE candidate_id = ? AND job_id = ?", (candidate_id, job_id))
            is not None
        )

    def history(self, application_id: str, *, limit: int | None = None, after: str | None = None) -> list[HistoryEntry]:
        rows = self._all(
            f"SELECT {HISTORY_COLUMNS} FROM application_history "
            "WHERE application_id = ? AND id > ? ORDER BY id LIMIT ?",
            (application_id, after or "", -1 if limit is None else limit),
        )
        return [HistoryEntry(**dict(row)) for row in rows]


OUTBOX_COLUMNS = "id, type, payload, status, attempts, last_error, created_at, updated_at"


def _outbox_record(row) -> OutboxRecord:
    return OutboxRecord(**{**dict(row), "payload": json.loads(row["payload"])})


class SqliteOutbox(_Repository, OutboxRepository):
    def list(self, *, status: str, limit: int = 100) -> list[OutboxRecord]:
        rows = self._all(f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status = ? ORDER BY id LIMIT ?", (status, limit))
        return [_outbox_record(row) for row in rows]

    def get(self, event_id: str) -> OutboxRecord | None:
        row = self._one(f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = ?", (event_id,))
        return None if row is None else _outbox_record(row)

    def mark(self, event_id: str, *, status: str, error: str | None = None, attempted: bool = False) -> None:
        self._uow.write(
            "UPDATE outbox SET status = ?, last_error = ?, attempts = attempts + ?, updated_at = ? WHERE id = ?",
            (status, error, int(attempted), utc_now(), event_id),
        )

    def mark_published(self, event_ids: Sequence[str]) -> None:
        if event_ids:
            self._uow.write_now(
                f"UPDATE outbox SET status = 'published', updated_at = ? "
                f"WHERE status = 'pending' AND id IN ({_placeholders(event_ids)})",
                (utc_now(), *event_ids),
            )

    def claim_delivery(self, event_id: str, recipient: str, *, lease_seconds: int) -> bool:
        now = time.time()
        cursor = self._uow.write_now(
            "INSERT INTO deliveries (event_id, recipient, state, lease_until, updated_at) "
            "VALUES (?, ?, 'sending', ?, ?) "
            "ON CONFLICT (event_id, recipient) DO UPDATE SET lease_until = excluded.lease_until, "
            "updated_at = excluded.updated_at WHERE state = 'sending' AND lease_until < ?",
            (event_id, recipient, now + lease_seconds, utc_now(), now),
        )
        return cursor.rowcount == 1

    def complete_delivery(self, event_id: str, recipient: str) -> None:
        self._uow.write_now(
            "UPDATE deliveries SET state = 'sent', updated_at = ? WHERE event_id = ? AND recipient = ?",
            (utc_now(), event_id, recipient),
        )

    def release_delivery(self, event_id: str, recipient: str) -> None:
        self._uow.write_now(
            "DELETE FROM deliveries WHERE event_id = ? AND recipient = ? AND state = 'sending'", (event_id, recipient)
        )

    def delivery_state(self, event_id: str, recipient: str) -> str | None:
        row = self._one("SELECT state FROM deliveries WHERE event_id = ? AND recipient = ?", (event_id, recipient))
        return None if row is None else row["state"]


SWEEP_INTERVAL = 60.0  # seconds between deletions of expired counters and idempotency records
_swept_at: dict[tuple[str, str], float] = {}


def _sweep(uow: "SqliteUnitOfWork", table: str, column: str, now: float) -> None:
    """Delete a table's expired rows, at most once a minute per database (an index range)."""
    key = (uow.database_path, table)
    if _swept_at.get(key, 0.0) + SWEEP_INTERVAL > now:
        return
    _swept_at[key] = now
    uow.write_now(f"DELETE FROM {table} WHERE {column} <= ?", (now,))


class SqliteCounters(_Repository, CounterRepository):
    """One row per key; a hit is one upsert, atomic under SQLite's write lock."""

    clock = staticmethod(time.time)  # tests move time by replacing it

    def hit(self, key: str, *, window_seconds: int) -> Window:
        now = self.clock()
        _sweep(self._uow, "counters", "ends_at", now)
        row = self._uow.write_now(
            "INSERT INTO counters (key, hits, ends_at) VALUES (?, 1, ?) "
            "ON CONFLICT (key) DO UPDATE SET "
            "hits = CASE WHEN counters.ends_at <= ? THEN 1 ELSE counters.hits + 1 END, "
            "ends_at = CASE WHEN counters.ends_at <= ? THEN excluded.ends_at ELSE counters.ends_at END "
            "RETURNING hits, ends_at",
            (key, now + window_seconds, now, now),
        ).fetchall()[0]
        return Window(row["hits"], row["ends_at"])

    def peek(self, key: str) -> Window:
        row = self._one("SELECT hits, ends_at FROM counters WHERE key = ? AND ends_at > ?", (key, self.clock()))
        return Window(row["hits"], row["ends_at"]) if row else Window(0, 0.0)

    def clear(self, key: str) -> None:
        self._uow.write_now("DELETE FROM counters WHERE key = ?", (key,))


def _idempotency_record(row) -> IdempotencyRecord:
    return IdempotencyRecord(
        key=row["key"],
        fingerprint=row["fingerprint"],
        state=row["state"],
        status=row["status"],
        body=row["body"],
        headers=json.loads(row["headers"]),
    )


class SqliteIdempotency(_Repository, IdempotencyRepository):
    clock = staticmethod(time.time)  # tests move time by replacing it

    def claim(
        self, key: str, fingerprint: str, token: str, *, lease_seconds: int, ttl_seconds: int
    ) -> IdempotencyRecord | None:
        for _ in range(3):  # the holder may release or expire between our claim and our read
            now = self.clock()
            _sweep(self._uow, "idempotency", "expires_at", now)
            # New, forgotten (expired) or abandoned (pending past its lease): ours.
            cursor = self._uow.write_now(
                "INSERT INTO idempotency "
                "(key, fingerprint, token, state, status, body, headers, lease_until, expires_at) "
                "VALUES (?, ?, ?, 'pending', NULL, NULL, '{}', ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, token = excluded.token, "
                "state = 'pending', status = NULL, body = NULL, headers = '{}', lease_until = excluded.lease_until, "
                "expires_at = excluded.expires_at "
                "WHERE idempotency.expires_at <= ? OR (idempotency.state = 'pending' AND idempotency.lease_until <= ?)",
                (key, fingerprint, token, now + lease_seconds, now + ttl_seconds, now, now),
            )
            if cursor.rowcount == 1:
                return None
            row = self._one("SELECT * FROM idempotency WHERE key = ? AND expires_at > ?", (key, now))
            if row is not None:
                return _idempotency_record(row)
        raise Unavailable("The idempotency key could not be claimed; try again.")

    def complete(self, key: str, token: str, *, status: int, body: str, headers: dict) -> bool:
        cursor = self._uow.write_now(
            "UPDATE idempotency SET state = 'done', status = ?, body = ?, headers = ? "
            "WHERE key = ? AND token = ? AND state = 'pending'",
            (status, body, json.dumps(headers), key, token),
        )
        return cursor.rowcount == 1

    def release(self, key: str, token: str) -> None:
        self._uow.write_now("DELETE FROM idempotency WHERE key = ? AND token = ? AND state = 'pending'", (key, token))


class SqliteUnitOfWork(UnitOfWork):
    def __init__(self, database: Database):
        super().__init__()
        self._database = database
        self._conn = database.connection()
        self.users = SqliteUsers(self)
        self.jobs = SqliteJobs(self)
        self.applications = SqliteApplications(self)
        self.outbox = SqliteOutbox(self)
        self.counters = SqliteCounters(self)
        self.idempotency = SqliteIdempotency(self)

    @property
    def database_path(self) -> str:
        return self._database.path

    def fresh(self) -> "SqliteUnitOfWork":
        return SqliteUnitOfWork(self._database)

    def read(self, sql: str, params=()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.OperationalError as error:
            raise Unavailable(f"Storage is unavailable: {error}") from error

    def begin_write(self) -> None:
        if not self._conn.in_transaction:
            self.read("BEGIN IMMEDIATE")

    def write(self, sql: str, params=()) -> sqlite3.Cursor:
        self.begin_write()
        return self.read(sql, params)

    def write_now(self, sql: str, params=()) -> sqlite3.Cursor:
        """One statement in its own transaction, outside the unit of work's."""
        if self._conn.in_transaction:
            raise RuntimeError("write_now inside an open unit-of-work transaction")
        return self.read(sql, params)  # autocommit: the statement is its own transaction

    def _commit(self, events: list[Event]) -> None:
        for event in events:
            self.write(
                "INSERT INTO outbox (id, type, payload, status, created_at, updated_at) "
                "VALUES (?, ?, ?, 'pending', ?, ?)",
                (event.id, event.type, json.dumps(event.payload()), event.occurred_at, event.occurred_at),
            )
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")

    def rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def ping(self) -> None:
        self.read("SELECT 1").fetchone()
