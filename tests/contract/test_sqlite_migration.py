"""The SQLite item-store driver: the migration of today's databases, and what only this driver has.

A database at the legacy schema is built with plain sqlite3 (the legacy DDL, and the rows the old
per-entity code wrote for entities made by the domain's constructors), then opened with
SqliteItemStore: every row must have become exactly the items DynamoDB holds for it. The port's
generic semantics are the cross-driver contract suite's.
"""

import json
import math
import os
import sqlite3
import threading
import time

import orjson
import pytest

from chalicelib.domain.errors import Unavailable
from chalicelib.domain.ids import utc_now
from chalicelib.domain.models import Application, Job, JobStatus, Principal, Role, User
from chalicelib.domain.pipeline import ApplicationStatus, legacy_stage_id, legacy_stages
from chalicelib.storage import items
from chalicelib.storage.drivers.sqlite import SCHEMA_VERSION, SqliteItemStore
from chalicelib.storage.entities import index_shard
from chalicelib.storage.legacy import LEGACY_MIGRATIONS
from chalicelib.storage.stores import Outbox

NOW = 2_000_000_000.25  # the counters' and idempotency records' clock: in the future, so nothing has expired


def _raw(path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    return conn


def _rows(path, table: str) -> list[dict]:
    with _raw(path) as conn:
        return [dict(row) for row in conn.execute(f"SELECT * FROM {table} ORDER BY rowid")]


def _dump(path) -> list[tuple]:
    with _raw(path) as conn:
        return [tuple(row) for row in conn.execute("SELECT * FROM items ORDER BY pk, sk")]


def _tables(path) -> list[str]:
    with _raw(path) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]


def _user_version(path) -> int:
    with _raw(path) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def _legacy_database(path: str, version: int) -> sqlite3.Connection:
    """A database at legacy schema `version`, as the old code left it (WAL, user_version), open for rows."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for script in LEGACY_MIGRATIONS[:version]:
        conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {version}")
    return conn


def _insert(conn: sqlite3.Connection, table: str, **row) -> None:
    """One row, with enum members as their plain values (as the old code bound them)."""
    values = [str(value) if isinstance(value, str) else value for value in row.values()]
    conn.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", values)


def _who(user: User) -> Principal:
    return Principal(user.id, user.role)


def _user(email: str, role: str = "candidate") -> User:
    return User.register(email=email, name=email.split("@")[0], role=Role(role), password_hash="hash")


@pytest.fixture
def old_database(tmp_path):
    """A database at user_version 5 holding the rows today's code writes, and what was written to it."""
    path = str(tmp_path / "state" / "ats.db")
    recruiter = _user("Rita.R@Example.COM", "recruiter")
    candidate = _user("carl@example.com")
    full = Job.publish(
        owner=_who(recruiter),
        title="Straße Engineer",
        description="",
        location="Berlin",
        department="Infra",
        employment_type="full-time",
    )
    bare = Job.publish(owner=_who(recruiter), title="Bare", status=JobStatus.DRAFT)
    gone = Job.publish(owner=_who(recruiter), title="Gone")
    gone.delete()
    application = Application.submit(job=full, candidate=_who(candidate), cover_letter="Hello")
    application.change_status(to=ApplicationStatus.SCREENING, actor=_who(recruiter), reason="fits", job=full)
    events = [*recruiter.events, *candidate.events, *application.events]  # in the order they were committed
    now = time.time()

    conn = _legacy_database(path, 5)
    for user in (recruiter, candidate):
        _insert(
            conn,
            "users",
            id=user.id,
            email=user.email,
            email_key=user.email_key,
            name=user.name,
            role=user.role,
            password_hash=user.password_hash,
            created_at=user.created_at,
        )
    for job in (full, bare, gone):
        _insert(
            conn,
            "jobs",
            id=job.id,
            owner_id=job.owner_id,
            title=job.title,
            title_key=job.title.casefold(),
            description=job.description,
            location=job.location,
            department=job.department,
            employment_type=job.employment_type,
            status=job.status,
            version=job.version,
            created_at=job.created_at,
            updated_at=job.updated_at,
            deleted_at=job.deleted_at,
        )
    a = application
    _insert(
        conn,
        "applications",
        id=a.id,
        job_id=a.job_id,
        candidate_id=a.candidate_id,
        recruiter_id=a.recruiter_id,
        status=a.status,
        cover_letter=a.cover_letter,
        version=a.version,
        created_at=a.created_at,
        updated_at=a.updated_at,
    )
    for entry in a.new_history:
        _insert(
            conn,
            "application_history",
            id=entry.id,
            application_id=entry.application_id,
            from_status=entry.from_status,
            to_status=entry.to_status,
            actor_id=entry.actor_id,
            reason=entry.reason,
            created_at=entry.created_at,
        )
    for number, event in enumerate(events):
        failed = number == 0  # marked failed after one attempt
        _insert(
            conn,
            "outbox",
            id=event.id,
            type=event.type,
            payload=json.dumps(event.payload()),
            status="failed" if failed else "pending",
            attempts=1 if failed else 0,
            last_error="boom" if failed else None,
            created_at=event.occurred_at,
            updated_at=utc_now() if failed else event.occurred_at,
        )
    for recipient, state in (("carl@example.com", "sent"), ("rita.r@example.com", "sending")):
        _insert(
            conn,
            "deliveries",
            event_id=events[1].id,
            recipient=recipient,
            state=state,
            lease_until=now + 60,
            updated_at=utc_now(),
        )
    _insert(conn, "counters", key="login:rita", hits=2, ends_at=NOW + 60)
    _insert(
        conn,
        "idempotency",
        key="key-1",
        fingerprint="fp-1",
        token="token-1",
        state="done",
        status=201,
        body='{"id": "1"}',
        headers=json.dumps({"Location": "/jobs/1"}),
        lease_until=NOW + 30,
        expires_at=NOW + 86400,
    )
    _insert(
        conn,
        "idempotency",
        key="key-2",
        fingerprint="fp-2",
        token="token-2",
        state="pending",
        status=None,
        body=None,
        headers="{}",
        lease_until=NOW + 30,
        expires_at=NOW + 86400,
    )
    conn.close()
    assert _user_version(path) == 5
    old = {table: _rows(path, table) for table in ("outbox", "deliveries")}
    return dict(
        path=path,
        recruiter=recruiter,
        candidate=candidate,
        full=full,
        bare=bare,
        gone=gone,
        application=application,
        old=old,
    )


def _user_items(user: User) -> list[items.Item]:
    return [
        {
            "PK": f"USER#{user.id}",
            "SK": "USER",
            "type": "User",
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "role": str(user.role),
            "password_hash": "hash",
            "created_at": user.created_at,
            # What the user entity holds and derives today: its list index, its lookups, its revocation.
            "GSI1PK": f"USERS#{user.role}#active",
            "GSI1SK": user.id,
            "email_key": user.email_key,
            "name_key": user.name.casefold(),
            "token_generation": 0,
            "revoked_sessions": "{}",
        },
        {"PK": f"EMAIL#{user.email_key}", "SK": "EMAIL", "type": "EmailGuard", "user_id": user.id},
    ]


def _pipeline_of(job_id: str, owner_id: str) -> dict:
    """What a job from before pipelines holds once written again: the default pipeline under its
    derived ids, its creator as recruiter."""
    stages = legacy_stages(job_id)
    return {
        "stages": orjson.dumps([stage.as_dict() for stage in stages]).decode(),  # JSON text, compact
        "stage_ids": " ".join(stage.id for stage in stages),
        "team": orjson.dumps([{"user_id": owner_id, "role": "recruiter"}]).decode(),
    }


def test_a_version_5_database_becomes_the_items_dynamodb_holds(old_database):
    db = old_database
    recruiter, candidate, full, bare, gone = (db[name] for name in ("recruiter", "candidate", "full", "bare", "gone"))
    application = db["application"]
    store = SqliteItemStore(db["path"])

    # Users, and the guards of their emails (under the casefolded email).
    for user in (recruiter, candidate):
        for item in _user_items(user):
            assert store.get(items.key_of(item)) == item
    assert store.get(("EMAIL#rita.r@example.com", "EMAIL")) == {
        "PK": "EMAIL#rita.r@example.com",
        "SK": "EMAIL",
        "type": "EmailGuard",
        "user_id": recruiter.id,
    }

    # Jobs: the casefolded keys, the list indexes only while live, no attribute without a value.
    assert store.get((f"JOB#{full.id}", "JOB")) == {
        "PK": f"JOB#{full.id}",
        "SK": "JOB",
        **_pipeline_of(full.id, recruiter.id),
        "type": "Job",
        "id": full.id,
        "owner_id": recruiter.id,
        "title": "Straße Engineer",
        "title_words": " strasse engineer",
        "description": "",
        "location": "Berlin",
        "location_key": "berlin",
        "department": "Infra",
        "department_key": "infra",
        "employment_type": "full-time",
        "status": "open",
        "version": 1,
        "created_at": full.created_at,
        "updated_at": full.updated_at,
        "GSI1PK": "JOBS#open",
        "GSI1SK": full.id,
        "GSI2PK": f"OWNER#{recruiter.id}#open",
        "GSI2SK": full.id,
        "GSI4PK": "LOCATION#open#berlin",
        "GSI4SK": full.id,
        "GSI5PK": "DEPARTMENT#open#infra",
        "GSI5SK": full.id,
    }
    assert store.get((f"JOB#{bare.id}", "JOB")) == {
        "PK": f"JOB#{bare.id}",
        "SK": "JOB",
        **_pipeline_of(bare.id, recruiter.id),
        "type": "Job",
        "id": bare.id,
        "owner_id": recruiter.id,
        "title": "Bare",
        "title_words": " bare",
        "status": "draft",
        "version": 1,
        "created_at": bare.created_at,
        "updated_at": bare.updated_at,
        "GSI1PK": "JOBS#draft",
        "GSI1SK": bare.id,
        "GSI2PK": f"OWNER#{recruiter.id}#draft",
        "GSI2SK": bare.id,
    }
    assert store.get((f"JOB#{gone.id}", "JOB")) == {
        "PK": f"JOB#{gone.id}",
        "SK": "JOB",
        **_pipeline_of(gone.id, recruiter.id),
        "type": "Job",
        "id": gone.id,
        "owner_id": recruiter.id,
        "title": "Gone",
        "title_words": " gone",
        "status": "open",
        "version": 2,
        "created_at": gone.created_at,
        "updated_at": gone.updated_at,
        "deleted_at": gone.deleted_at,
    }
    assert gone.deleted_at is not None
    assert [item["id"] for item in store.query("JOBS#open", index="GSI1")] == [full.id]
    assert [item["id"] for item in store.query(f"OWNER#{recruiter.id}#draft", index="GSI2")] == [bare.id]
    # Its title's word items, the live jobs' only: q finds a migrated job.
    assert [item["GSI3SK"] for item in store.query("WORDS#open#str", index="GSI3")] == [full.id]
    assert [item["GSI3SK"] for item in store.query("WORDS#draft#bar", index="GSI3")] == [bare.id]
    assert store.query("WORDS#open#gon", index="GSI3") == []

    # The application in all six of its indexes, its guard, its history.
    a = application
    assert store.get((f"APP#{a.id}", "APP")) == {
        "PK": f"APP#{a.id}",
        "SK": "APP",
        # From before pipelines: in the stage of its status, since its last change.
        "stage_id": legacy_stage_id(a.job_id, str(a.status)),
        "stage_entered_at": a.updated_at,
        "entered_stages": "[]",
        "type": "Application",
        "id": a.id,
        "job_id": full.id,
        "candidate_id": candidate.id,
        "recruiter_id": recruiter.id,
        "status": "screening",
        "version": 2,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
        "GSI1PK": f"JOBAPPS#{full.id}",
        "GSI1SK": a.id,
        "GSI2PK": f"JOBAPPS#{full.id}#screening",
        "GSI2SK": a.id,
        "GSI3PK": f"CANDAPPS#{candidate.id}",
        "GSI3SK": a.id,
        "GSI4PK": f"ALLAPPS#{index_shard(a.id)}",  # on its id's shard
        "GSI4SK": a.id,
        "GSI6PK": f"APPS#screening#{index_shard(a.id)}",
        "GSI6SK": a.id,
    }
    # Its cover letter in an item of its own, out of the indexes.
    assert store.get((f"APP#{a.id}", "LETTER")) == {
        "PK": f"APP#{a.id}",
        "SK": "LETTER",
        "type": "CoverLetter",
        "application_id": a.id,
        "text": "Hello",
    }
    assert store.get((f"APPLIED#{candidate.id}#{full.id}", "APPLIED")) == {
        "PK": f"APPLIED#{candidate.id}#{full.id}",
        "SK": "APPLIED",
        "type": "ApplicationGuard",
        "application_id": a.id,
    }
    history = store.query(f"APP#{a.id}", prefix="HIST#")
    assert [{k: v for k, v in entry.items() if k not in ("id", "created_at")} for entry in history] == [
        {
            "PK": f"APP#{a.id}",
            "SK": f"HIST#{history[0]['id']}",
            "type": "History",
            "application_id": a.id,
            "to_status": "applied",
            "actor_id": candidate.id,
        },
        {
            "PK": f"APP#{a.id}",
            "SK": f"HIST#{history[1]['id']}",
            "type": "History",
            "application_id": a.id,
            "from_status": "applied",
            "to_status": "screening",
            "actor_id": recruiter.id,
            "reason": "fits",
        },
    ]
    assert all(isinstance(entry["created_at"], str) for entry in history)

    # The outbox: event_type for the old `type`, the payload still JSON text, the status index.
    events = db["old"]["outbox"]
    assert [event["type"] for event in events] == [
        "UserRegistered",
        "UserRegistered",
        "ApplicationSubmitted",
        "ApplicationStatusChanged",
    ]
    failed = events[0]
    assert store.get((f"EVENT#{failed['id']}", "EVENT")) == {
        "PK": f"EVENT#{failed['id']}",
        "SK": "EVENT",
        "type": "Event",
        "id": failed["id"],
        "event_type": "UserRegistered",
        "payload": failed["payload"],
        "status": "failed",
        "attempts": 1,
        "last_error": "boom",
        "created_at": failed["created_at"],
        "updated_at": failed["updated_at"],
        "GSI1PK": f"OUTBOX#failed#{index_shard(failed['id'])}",
        "GSI1SK": failed["id"],
    }
    for event in events[1:]:
        assert store.get((f"EVENT#{event['id']}", "EVENT")) == {
            "PK": f"EVENT#{event['id']}",
            "SK": "EVENT",
            "type": "Event",
            "id": event["id"],
            "event_type": event["type"],
            "payload": event["payload"],
            "status": "pending",
            "attempts": 0,
            "created_at": event["created_at"],
            "updated_at": event["updated_at"],
            "GSI1PK": f"OUTBOX#pending#{index_shard(event['id'])}",
            "GSI1SK": event["id"],
        }
    assert [record.id for record in Outbox(store).list(status="pending")] == [e["id"] for e in events[1:]]

    # The delivery ledger.
    for delivery in db["old"]["deliveries"]:
        assert store.get((f"DELIVERY#{delivery['event_id']}", f"TO#{delivery['recipient']}")) == {
            "PK": f"DELIVERY#{events[1]['id']}",
            "SK": f"TO#{delivery['recipient']}",
            "type": "Delivery",
            "event_id": events[1]["id"],
            "recipient": delivery["recipient"],
            "state": {"carl@example.com": "sent", "rita.r@example.com": "sending"}[delivery["recipient"]],
            "lease_until": delivery["lease_until"],
            "updated_at": delivery["updated_at"],
        }
    assert len(db["old"]["deliveries"]) == 2

    # Counters and idempotency records, with the table's ttl (whole seconds, rounded up).
    counter = store.get(("COUNTER#login:rita", "COUNTER"))
    assert counter == {
        "PK": "COUNTER#login:rita",
        "SK": "COUNTER",
        "type": "Counter",
        "hits": 2,
        "ends_at": NOW + 60,
        "ttl": math.ceil(NOW + 60),
    }
    assert isinstance(counter["ttl"], int) and isinstance(counter["hits"], int)
    assert store.get(("IDEMPOTENCY#key-1", "IDEMPOTENCY")) == {
        "PK": "IDEMPOTENCY#key-1",
        "SK": "IDEMPOTENCY",
        "type": "Idempotency",
        "fingerprint": "fp-1",
        "token": "token-1",
        "state": "done",
        "status": 201,
        "body": '{"id": "1"}',
        "headers": '{"Location": "/jobs/1"}',
        "lease_until": NOW + 30,
        "expires_at": NOW + 86400,
        "ttl": 2_000_086_401,
    }
    assert store.get(("IDEMPOTENCY#key-2", "IDEMPOTENCY")) == {
        "PK": "IDEMPOTENCY#key-2",
        "SK": "IDEMPOTENCY",
        "type": "Idempotency",
        "fingerprint": "fp-2",
        "token": "token-2",
        "state": "pending",
        "headers": "{}",
        "lease_until": NOW + 30,
        "expires_at": NOW + 86400,
        "ttl": 2_000_086_401,
    }

    # Nothing else: 2 users + 2 email guards, 3 jobs + 3 word items of the live ones, an application
    # + its letter + its guard + 2 history entries, 4 events, 2 deliveries, 1 counter, 2 idempotency
    # records.
    assert len(_dump(db["path"])) == 4 + 3 + 3 + 5 + 4 + 2 + 1 + 2
    assert _tables(db["path"]) == ["items"]
    assert _user_version(db["path"]) == SCHEMA_VERSION


def test_reopening_a_migrated_database_changes_nothing(old_database):
    path = old_database["path"]
    SqliteItemStore(path).close()
    before = _dump(path)
    again = SqliteItemStore(path)
    assert _dump(path) == before
    assert _tables(path) == ["items"] and _user_version(path) == SCHEMA_VERSION
    assert again.get((f"USER#{old_database['recruiter'].id}", "USER")) is not None


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_an_older_database_takes_the_old_migrations_first(tmp_path, version):
    path = str(tmp_path / "ats.db")
    conn = _legacy_database(path, version)
    conn.execute(
        "INSERT INTO users (id, email, email_key, name, role, password_hash, created_at) "
        "VALUES ('U1', 'Ann@X.org', 'ann@x.org', 'Ann', 'admin', 'h', '2024-01-01T00:00:00Z')"
    )
    conn.close()
    store = SqliteItemStore(path)
    assert store.get(("USER#U1", "USER")) == {
        "PK": "USER#U1",
        "SK": "USER",
        "type": "User",
        "id": "U1",
        "email": "Ann@X.org",
        "name": "Ann",
        "role": "admin",
        "password_hash": "h",
        "created_at": "2024-01-01T00:00:00Z",
        "GSI1PK": "USERS#admin#active",
        "GSI1SK": "U1",
        "email_key": "ann@x.org",
        "name_key": "ann",
        "token_generation": 0,
        "revoked_sessions": "{}",
    }
    assert store.get(("EMAIL#ann@x.org", "EMAIL")) == {
        "PK": "EMAIL#ann@x.org",
        "SK": "EMAIL",
        "type": "EmailGuard",
        "user_id": "U1",
    }
    assert _tables(path) == ["items"] and _user_version(path) == SCHEMA_VERSION


def test_a_fresh_database_starts_at_the_items_schema(tmp_path):
    path = str(tmp_path / "new" / "dir" / "ats.db")  # the directory is made
    SqliteItemStore(path)
    assert _tables(path) == ["items"] and _user_version(path) == SCHEMA_VERSION


# Version 6, as that code created it: the items table clustered on its key.
_SCHEMA_6 = [
    "CREATE TABLE items (pk TEXT NOT NULL, sk TEXT NOT NULL, "
    + "".join(f"gsi{n}pk TEXT, gsi{n}sk TEXT, " for n in range(1, 7))
    + "ttl REAL, doc TEXT NOT NULL, PRIMARY KEY (pk, sk)) WITHOUT ROWID",
    *(f"CREATE INDEX items_gsi{n} ON items(gsi{n}pk, gsi{n}sk) WHERE gsi{n}pk IS NOT NULL" for n in range(1, 7)),
    "CREATE INDEX items_ttl ON items(ttl) WHERE ttl IS NOT NULL",
]


def test_a_version_6_database_keeps_every_item_in_the_rowid_table(tmp_path):
    path = str(tmp_path / "ats.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for statement in _SCHEMA_6:
        conn.execute(statement)
    job = {"PK": "JOB#J1", "SK": "JOB", "type": "Job", "GSI1PK": "JOBS#open", "GSI1SK": "J1", "title": "Straße"}
    token = {"PK": "RESET#h", "SK": "RESET", "type": "OneTimeToken", "ttl": 2_000_000_000}
    rows = [
        ("JOB#J1", "JOB", "JOBS#open", "J1", None, json.dumps(job)),
        ("RESET#h", "RESET", None, None, 2_000_000_000, json.dumps(token)),
    ]
    conn.executemany("INSERT INTO items (pk, sk, gsi1pk, gsi1sk, ttl, doc) VALUES (?, ?, ?, ?, ?, ?)", rows)
    conn.execute("PRAGMA user_version = 6")
    conn.close()

    store = SqliteItemStore(path)
    assert _user_version(path) == SCHEMA_VERSION == 7 and _tables(path) == ["items"]
    with _raw(path) as raw:
        ddl = raw.execute("SELECT sql FROM sqlite_master WHERE name = 'items'").fetchone()[0]
        indexes = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "WITHOUT ROWID" not in ddl
    assert indexes == {"items_key", "items_ttl", *(f"items_gsi{n}" for n in range(1, 7))}
    assert store.get(("JOB#J1", "JOB")) == job and store.get(("RESET#h", "RESET")) == token
    assert store.query("JOBS#open", index="GSI1") == [job]
    # The key is still unique: a put of a taken key, on the condition it is free, is refused.
    with pytest.raises(items.ConditionFailed):
        store.transact([items.Put({**job, "title": "Other"}, items.missing())])
    assert store.get(("JOB#J1", "JOB")) == job


def test_a_database_from_newer_code_is_refused(tmp_path):
    path = str(tmp_path / "ats.db")
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(Unavailable, match=f"schema version {SCHEMA_VERSION + 1}"):
        SqliteItemStore(path)


def test_a_file_that_is_not_a_database_is_unavailable_not_a_sqlite_error(tmp_path):
    path = tmp_path / "ats.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(Unavailable, match="Storage is unavailable"):
        SqliteItemStore(str(path))


def test_a_failed_migration_leaves_the_old_database_as_it_was(old_database, monkeypatch):
    from chalicelib.storage import legacy
    from chalicelib.storage.legacy import legacy_items

    def broken(conn):
        yield from legacy_items(conn)  # every row converted, then the disk fails before the commit
        raise sqlite3.OperationalError("disk I/O error")

    path = old_database["path"]
    monkeypatch.setattr(legacy, "legacy_items", broken)  # the driver loads it when it migrates
    with pytest.raises(Unavailable):
        SqliteItemStore(path)
    assert _user_version(path) == 5 and "items" not in _tables(path) and "users" in _tables(path)
    monkeypatch.undo()
    SqliteItemStore(path)
    assert _tables(path) == ["items"]


# --- The driver ---------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    store = SqliteItemStore(str(tmp_path / "items.db"))
    yield store
    store.close()


def _plans(store: SqliteItemStore, run) -> list[str]:
    """The query plans of the SELECTs `run` made (SQLite hands the trace the SQL with its values)."""
    conn = store._connection()
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        run()
    finally:
        conn.set_trace_callback(None)
    plans = []
    for statement in statements:
        if statement.lstrip().upper().startswith("SELECT"):
            plans.append(" / ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}")))
    return plans


def test_wal_and_one_partial_index_per_gsi(store):
    with _raw(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        indexes = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))
    conn.close()
    assert sorted(indexes) == [f"items_gsi{n}" for n in range(1, 7)] + ["items_key", "items_ttl"]
    assert indexes["items_key"] == "CREATE UNIQUE INDEX items_key ON items(pk, sk)"
    for n in range(1, 7):
        assert indexes[f"items_gsi{n}"].endswith(f"(gsi{n}pk, gsi{n}sk, pk, sk) WHERE gsi{n}pk IS NOT NULL")
    assert store._connection().execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_queries_search_an_index_never_the_table(store):
    store.transact(
        [items.Put({"PK": f"P#{n}", "SK": "X", "type": "T", "GSI3PK": "G", "GSI3SK": f"S{n:03}"}) for n in range(50)]
    )
    plans = _plans(store, lambda: store.query("G", index="GSI3", prefix="S0", after="S001", limit=5, descending=True))
    assert len(plans) == 1 and "SEARCH items USING INDEX items_gsi3 (gsi3pk=? AND gsi3sk>? AND gsi3sk<?)" in plans[0]
    assert "TEMP B-TREE" not in plans[0]  # the index gives the order: no sort
    plans = _plans(store, lambda: store.query("G", index="GSI3", filter=items.equals("type", "T"), limit=3))
    assert "USING INDEX items_gsi3" in plans[0] and "TEMP B-TREE" not in plans[0]
    plans = _plans(store, lambda: store.query("P#1", prefix="X", before="Y"))
    assert "SEARCH items USING INDEX items_key (pk=? AND sk>? AND sk<?)" in plans[0] and "TEMP B-TREE" not in plans[0]
    plans = _plans(store, lambda: store.get_many([(f"P#{n}", "X") for n in range(10)]))
    assert "SEARCH items USING INDEX items_key (pk=? AND sk=?)" in plans[0] and "SCAN items" not in plans[0]


def test_the_ttl_sweep_deletes_expired_items_at_most_once_a_minute(store):
    def put(name, ttl=None):
        return items.Put({"PK": name, "SK": "X", "type": "T", **({} if ttl is None else {"ttl": ttl})})

    store.transact([put("old", 1_000), put("now", 5_000), put("later", 9_000), put("never")])
    store.clock = lambda: 5_000.0
    store.write(put("other"))  # the first write of the minute sweeps, before it writes
    assert {item["PK"] for item in store.get_many([(n, "X") for n in ("old", "now", "later", "never", "other")])} == {
        "later",
        "never",
        "other",
    }
    store.transact([put("stale", 10)])
    store.clock = lambda: 5_059.0
    store.write(put("other"))
    assert store.get(("stale", "X")) is not None  # within the minute: not swept again
    store.clock = lambda: 5_060.0
    store.write(items.Delete(("other", "X")))
    assert store.get(("stale", "X")) is None
    assert store.get(("later", "X")) is not None


@pytest.mark.parametrize(
    "failing",
    [
        items.Update(("B", "X"), set={"x": "1"}, condition=items.exists()),
        items.Put({"PK": "A", "SK": "X", "type": "T"}, condition=items.missing()),  # one INSERT, no read
        items.Check(("A", "X"), condition=items.equals("n", 2)),
    ],
)
def test_a_transaction_failing_on_its_second_operation_writes_nothing_and_names_it(store, failing):
    store.transact([items.Put({"PK": "A", "SK": "X", "type": "T", "n": 1}), items.Put({"PK": "D", "SK": "X"})])
    first = items.Update(("C", "X"), set={"type": "T"}, add={"n": 1})
    third = items.Delete(("D", "X"))
    with pytest.raises(items.ConditionFailed) as raised:
        store.transact([first, failing, third])
    assert raised.value.operation is failing
    assert store.get(("C", "X")) is None and store.get(("B", "X")) is None
    assert store.get(("A", "X")) == {"PK": "A", "SK": "X", "type": "T", "n": 1}
    assert store.get(("D", "X")) == {"PK": "D", "SK": "X"}
    store.transact([first])  # and the store goes on
    assert store.get(("C", "X")) == {"PK": "C", "SK": "X", "type": "T", "n": 1}


def test_concurrent_transactions_on_one_counter_all_land(store):
    key = ("COUNTER#hot", "COUNTER")
    start = threading.Barrier(20)
    errors: list[BaseException] = []

    def hit():
        start.wait()
        try:
            store.transact([items.Update(key, set={"type": "Counter"}, add={"hits": 1})])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=hit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.get(key) == {"PK": key[0], "SK": key[1], "type": "Counter", "hits": 20}


def test_a_filter_keeps_the_order_and_reads_no_further_than_the_last_kept(store, monkeypatch):
    for first in (0, 100, 200):
        store.transact(
            [
                items.Put({"PK": "P", "SK": f"{n:04}", "type": "T", "n": n, "GSI1PK": "G", "GSI1SK": f"{n % 7}"})
                for n in range(first, min(first + 100, 250))
            ]
        )
    every_7th = items.any_of(*(items.equals("n", n) for n in range(0, 250, 7)))
    found = store.query("P", descending=True, limit=30, filter=every_7th)
    assert [item["n"] for item in found] == list(range(245, 0, -7))[:30]
    assert [item["n"] for item in store.query("P", after="0100", before="0200", filter=every_7th)] == list(
        range(105, 200, 7)
    )
    from chalicelib.storage.drivers import sqlite as driver

    judged = []
    monkeypatch.setattr(driver, "holds", lambda condition, item: judged.append(item["n"]) or True)
    assert len(store.query("P", limit=3, filter=every_7th)) == 3 and judged == [0, 1, 2]
    monkeypatch.undo()
    # Within one index sort key, items come in the order of their keys.
    in_index = store.query("G", index="GSI1", prefix="3", filter=items.above("n", 200))
    assert [item["n"] for item in in_index] == [n for n in range(201, 250) if n % 7 == 3]


def test_a_prefix_is_exact_whatever_its_characters(store):
    names = [
        "a",
        "a\uffff",
        "a\U0010ffff",
        "a\U0010ffffb",
        "a\U0010ffff\U0010ffff",
        "b",
        "\U0010ffff",
        "\ud7ffx",
        "\ue000",
    ]
    store.transact([items.Put({"PK": "P", "SK": name, "type": "T"}) for name in names])
    for prefix in ["a", "a\U0010ffff", "\U0010ffff", "\ud7ff", "\ue000", "", "a\uffff", "c"]:
        assert [item["SK"] for item in store.query("P", prefix=prefix)] == sorted(
            n for n in names if n.startswith(prefix)
        )


def test_get_many_reads_in_chunks(store):
    for first in range(0, 600, 100):
        store.transact([items.Put({"PK": f"P#{n}", "SK": "X", "type": "T"}) for n in range(first, first + 100, 2)])
    keys = [(f"P#{n}", "X") for n in range(600)] * 2  # duplicates are read once
    assert sorted(item["PK"] for item in store.get_many(keys)) == sorted(f"P#{n}" for n in range(0, 600, 2))
    assert store.get_many([]) == []


def test_what_dynamodb_refuses_is_a_value_error(store):
    with pytest.raises(ValueError):
        store.transact([items.Update(("A", "X"), set={"PK": "B"})])
    with pytest.raises(ValueError):
        store.write(items.Put({"PK": 1, "SK": "X", "type": "T"}))  # type: ignore[dict-item]
    store.write(items.Put({"PK": "A", "SK": "X", "type": "T", "name": "text"}))
    with pytest.raises(ValueError):
        store.write(items.Update(("A", "X"), add={"name": 1}))
    assert store.get(("A", "X")) == {"PK": "A", "SK": "X", "type": "T", "name": "text"}


def test_write_returns_the_item_after_it(store):
    put = items.Put({"PK": "A", "SK": "X", "type": "T", "n": 1, "gone": None})  # type: ignore[dict-item]
    assert store.write(put) == {"PK": "A", "SK": "X", "type": "T", "n": 1}
    assert store.write(items.Update(("A", "X"), set={"n": None, "s": "x"}, add={"m": 1.5})) == {
        "PK": "A",
        "SK": "X",
        "type": "T",
        "s": "x",
        "m": 1.5,
    }
    assert store.write(items.Delete(("A", "X"), condition=items.exists())) is None
    with pytest.raises(items.ConditionFailed):
        store.write(items.Delete(("A", "X"), condition=items.exists()))


def test_a_busy_database_is_unavailable(tmp_path, monkeypatch):
    from chalicelib.storage.drivers import sqlite as driver

    monkeypatch.setattr(driver, "BUSY_TIMEOUT", 0.05)
    store = SqliteItemStore(str(tmp_path / "items.db"))
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Unavailable, match="locked"):
            store.transact([items.Put({"PK": "A", "SK": "X", "type": "T"})])
        assert store.get(("A", "X")) is None  # readers go on in WAL
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    store.transact([items.Put({"PK": "A", "SK": "X", "type": "T"})])
    store.close()
