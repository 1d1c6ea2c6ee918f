"""In-memory fakes of the storage interface (chalicelib/storage/base.py), for service tests.

Like cosmicpython's FakeRepository/FakeUnitOfWork: every write is staged and only reaches the
"committed" dictionaries on commit; rollback (or leaving the `with` block without committing)
drops it. Reads see committed state plus what this unit of work staged, like a transaction.
"""

import copy
import threading
import time
from collections.abc import Sequence

from chalicelib.config import Settings
from chalicelib.domain.errors import ConcurrencyError, Conflict, DomainError, UnknownActor
from chalicelib.domain.ids import utc_now
from chalicelib.domain.models import Application, HistoryEntry, Job, User, email_key
from chalicelib.storage.base import (
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


class FakeStore:
    """What a database would hold: shared by every unit of work made over it."""

    def __init__(self):
        self.users: dict[str, User] = {}
        self.jobs: dict[str, Job] = {}
        self.applications: dict[str, Application] = {}
        self.history: dict[str, HistoryEntry] = {}
        self.outbox: dict[str, OutboxRecord] = {}
        self.deliveries: dict[tuple[str, str], tuple[str, float]] = {}
        # Effective at once, like the ledger: key -> Window; key -> (record, token, lease_until, expires_at).
        self.counters: dict[str, Window] = {}
        self.idempotency: dict[str, tuple[IdempotencyRecord, str, float, float]] = {}
        self.lock = threading.Lock()  # each counter/idempotency write is atomic, as in a database


def _copy(entity):
    """A detached copy, as a real backend returns: changing it changes nothing stored."""
    clone = copy.copy(entity)
    for name in ("events", "new_history"):
        if hasattr(clone, name):
            setattr(clone, name, [])
    return clone


def _many(table: dict, ids) -> dict:
    return {key: _copy(table[key]) for key in set(ids) if key in table}


def _same_text(stored: str | None, wanted: str) -> bool:
    return stored is not None and stored.casefold() == wanted.casefold()


class _Repository:
    def __init__(self, uow: "FakeUnitOfWork"):
        self._uow = uow

    def _table(self, name: str) -> dict:
        return {**getattr(self._uow.store, name), **self._uow.staged[name]}


class FakeUsers(_Repository, UserRepository):
    def add(self, user: User) -> None:
        if any(existing.email_key == user.email_key for existing in self._table("users").values()):
            raise Conflict("An account with this email already exists.", code="email_taken")
        self._uow.staged["users"][user.id] = _copy(user)
        self._uow.track(user)

    def get(self, user_id: str) -> User | None:
        user = self._table("users").get(user_id)
        return user and _copy(user)

    def get_by_email(self, email: str) -> User | None:
        return next((_copy(user) for user in self._table("users").values() if user.email_key == email_key(email)), None)

    def get_many(self, user_ids) -> dict[str, User]:
        return _many(self._table("users"), user_ids)

    def require(self, user_id: str) -> None:
        if user_id not in self._table("users"):
            raise UnknownActor()


class FakeJobs(_Repository, JobRepository):
    def add(self, job: Job) -> None:
        self._uow.users.require(job.owner_id)
        self._uow.staged["jobs"][job.id] = _copy(job)
        self._uow.track(job)

    def get(self, job_id: str) -> Job | None:
        job = self._table("jobs").get(job_id)
        return job and _copy(job)

    def get_many(self, job_ids) -> dict[str, Job]:
        return _many(self._table("jobs"), job_ids)

    def save(self, job: Job) -> None:
        stored = self._table("jobs").get(job.id)
        if stored is None or stored.version != job.version - 1:
            raise ConcurrencyError("The job was changed by someone else.")
        self._uow.staged["jobs"][job.id] = _copy(job)
        self._uow.track(job)

    def require(self, job_id: str, *, statuses: tuple[str, ...] | None = None, failure: DomainError) -> None:
        job = self._table("jobs").get(job_id)
        if job is None or job.deleted_at is not None or (statuses is not None and job.status not in statuses):
            raise failure

    def page(self, query: JobQuery, *, limit: int, before: str | None = None) -> list[Job]:
        def matches(job: Job) -> bool:
            return (
                job.deleted_at is None
                and (query.statuses is None or job.status in query.statuses)
                and (query.owner_id is None or job.owner_id == query.owner_id)
                and (query.location is None or _same_text(job.location, query.location))
                and (query.department is None or _same_text(job.department, query.department))
                and (not query.q or query.q.casefold() in job.title.casefold())
                and (before is None or job.id < before)
            )

        found = sorted(
            (job for job in self._table("jobs").values() if matches(job)), key=lambda job: job.id, reverse=True
        )
        return [_copy(job) for job in found[:limit]]


class FakeApplications(_Repository, ApplicationRepository):
    def add(self, application: Application) -> None:
        if any(
            (other.candidate_id, other.job_id) == (application.candidate_id, application.job_id)
            for other in self._table("applications").values()
        ):
            raise Conflict("You have already applied to this job.", code="already_applied")
        self._uow.users.require(application.candidate_id)
        self._stage(application)

    def get(self, application_id: str) -> Application | None:
        application = self._table("applications").get(application_id)
        return application and _copy(application)

    def save(self, application: Application) -> None:
        stored = self._table("applications").get(application.id)
        if stored is None or stored.version != application.version - 1:
            raise ConcurrencyError("The application was changed by someone else.")
        self._stage(application)

    def _stage(self, application: Application) -> None:
        for entry in application.new_history:
            self._uow.users.require(entry.actor_id)
        self._uow.staged["applications"][application.id] = _copy(application)
        for entry in application.new_history:
            self._uow.staged["history"][entry.id] = entry
        self._uow.track(application)

    def page(self, query: ApplicationQuery, *, limit: int, before: str | None = None) -> list[Application]:
        def matches(application: Application) -> bool:
            return all(
                getattr(query, name) is None or getattr(application, name) == getattr(query, name)
                for name in ("job_id", "candidate_id", "recruiter_id", "status")
            ) and (before is None or application.id < before)

        found = sorted(
            (a for a in self._table("applications").values() if matches(a)), key=lambda a: a.id, reverse=True
        )
        return [_copy(a) for a in found[:limit]]

    def has_applied(self, candidate_id: str, job_id: str) -> bool:
        return any((a.candidate_id, a.job_id) == (candidate_id, job_id) for a in self._table("applications").values())

    def history(self, application_id: str, *, limit: int | None = None, after: str | None = None) -> list[HistoryEntry]:
        entries = sorted(
            (
                entry
                for entry in self._table("history").values()
                if entry.application_id == application_id and entry.id > (after or "")
            ),
            key=lambda entry: entry.id,
        )
        return entries[:limit]


class FakeOutbox(_Repository, OutboxRepository):
    def list(self, *, status: str, limit: int = 100) -> list[OutboxRecord]:
        records = sorted(self._table("outbox").values(), key=lambda record: record.id)
        return [record for record in records if record.status == status][:limit]

    def get(self, event_id: str) -> OutboxRecord | None:
        return self._table("outbox").get(event_id)

    def mark(self, event_id: str, *, status: str, error: str | None = None, attempted: bool = False) -> None:
        record = self._table("outbox")[event_id]
        self._uow.staged["outbox"][event_id] = OutboxRecord(
            **{
                **record.__dict__,
                "status": status,
                "last_error": error,
                "attempts": record.attempts + int(attempted),
                "updated_at": utc_now(),
            }
        )

    def claim_delivery(self, event_id: str, recipient: str, *, lease_seconds: int) -> bool:
        deliveries = self._uow.store.deliveries
        state = deliveries.get((event_id, recipient))
        if state is not None and (state[0] == "sent" or state[1] >= time.time()):
            return False
        deliveries[(event_id, recipient)] = ("sending", time.time() + lease_seconds)
        return True

    def complete_delivery(self, event_id: str, recipient: str) -> None:
        self._uow.store.deliveries[(event_id, recipient)] = ("sent", 0.0)

    def release_delivery(self, event_id: str, recipient: str) -> None:
        if self._uow.store.deliveries.get((event_id, recipient), ("",))[0] == "sending":
            del self._uow.store.deliveries[(event_id, recipient)]

    def mark_published(self, event_ids: Sequence[str]) -> None:
        for event_id in event_ids:
            record = self._uow.store.outbox.get(event_id)
            if record is not None and record.status == "pending":
                self._uow.store.outbox[event_id] = OutboxRecord(**{**record.__dict__, "status": "published"})

    def delivery_state(self, event_id: str, recipient: str) -> str | None:
        state = self._uow.store.deliveries.get((event_id, recipient))
        return state and state[0]


class FakeCounters(_Repository, CounterRepository):
    clock = staticmethod(time.time)  # tests move time by replacing it

    def hit(self, key: str, *, window_seconds: int) -> Window:
        store, now = self._uow.store, self.clock()
        with store.lock:
            window = store.counters.get(key)
            if window is None or window.ends_at <= now:
                window = Window(1, now + window_seconds)
            else:
                window = Window(window.count + 1, window.ends_at)
            store.counters[key] = window
            return window

    def peek(self, key: str) -> Window:
        window = self._uow.store.counters.get(key)
        return window if window is not None and window.ends_at > self.clock() else Window(0, 0.0)

    def clear(self, key: str) -> None:
        with self._uow.store.lock:
            self._uow.store.counters.pop(key, None)


class FakeIdempotency(_Repository, IdempotencyRepository):
    clock = staticmethod(time.time)  # tests move time by replacing it

    def claim(
        self, key: str, fingerprint: str, token: str, *, lease_seconds: int, ttl_seconds: int
    ) -> IdempotencyRecord | None:
        store, now = self._uow.store, self.clock()
        with store.lock:
            held = store.idempotency.get(key)
            if held is not None:
                record, _, lease_until, expires_at = held
                if expires_at > now and (record.state == "done" or lease_until > now):
                    return record
            store.idempotency[key] = (
                IdempotencyRecord(key, fingerprint, "pending", None, None, {}),
                token,
                now + lease_seconds,
                now + ttl_seconds,
            )
            return None

    def _holds(self, key: str, token: str) -> bool:
        held = self._uow.store.idempotency.get(key)
        return held is not None and held[1] == token and held[0].state == "pending"

    def complete(self, key: str, token: str, *, status: int, body: str, headers: dict) -> bool:
        store = self._uow.store
        with store.lock:
            if not self._holds(key, token):
                return False
            record, _, lease_until, expires_at = store.idempotency[key]
            done = IdempotencyRecord(key, record.fingerprint, "done", status, body, dict(headers))
            store.idempotency[key] = (done, token, lease_until, expires_at)
            return True

    def release(self, key: str, token: str) -> None:
        store = self._uow.store
        with store.lock:
            if self._holds(key, token):
                del store.idempotency[key]


TABLES = ("users", "jobs", "applications", "history", "outbox")


class FakeUnitOfWork(UnitOfWork):
    def __init__(self, store: FakeStore | None = None):
        super().__init__()
        self.store = store or FakeStore()
        self.staged = {name: {} for name in TABLES}
        self.committed = 0
        self.users = FakeUsers(self)
        self.jobs = FakeJobs(self)
        self.applications = FakeApplications(self)
        self.outbox = FakeOutbox(self)
        self.counters = FakeCounters(self)
        self.idempotency = FakeIdempotency(self)

    def fresh(self) -> "FakeUnitOfWork":
        return FakeUnitOfWork(self.store)

    def _commit(self, events) -> None:
        for event in events:
            self.staged["outbox"][event.id] = OutboxRecord(
                id=event.id,
                type=event.type,
                payload=event.payload(),
                status="pending",
                attempts=0,
                last_error=None,
                created_at=event.occurred_at,
                updated_at=event.occurred_at,
            )
        for name in TABLES:
            getattr(self.store, name).update(self.staged[name])
        self.staged = {name: {} for name in TABLES}
        self.committed += 1

    def rollback(self) -> None:
        self.staged = {name: {} for name in TABLES}

    def ping(self) -> None:
        return None


def fake_settings(**overrides) -> Settings:
    values = dict(
        stage="test",
        state_dir="/nonexistent",
        storage="fake",
        sqlite_path=":memory:",
        table_name="ats",
        jwt_secret_value="s" * 48,
        jwt_ttl_seconds=3600,
        jwt_issuer="ats",
        redis_url=None,
        email_backend="console",
        email_from="ATS <no-reply@ats.local>",
        allow_recruiter_signup=True,
        password_hash_profile="fast",
    )
    return Settings(**{**values, **overrides})
