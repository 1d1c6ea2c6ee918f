"""DynamoDB backend (PynamoDB): one table, the behaviour of the SQLite backend.

Reads are strongly consistent where DynamoDB allows it (GetItem, base-table Query); lists are
Queries on sparse GSIs (see dynamodb_models.py for the key design), never Scans. Writes are
collected by the unit of work and committed as one TransactWriteItems: entity, history, guards
and outbox events together, with ConditionChecks on the items the write depends on (the job it
applies to, the accounts of its actors) at no extra round trip. Failed conditions become the
domain errors SQLite raises; no botocore or PynamoDB exception leaves this module.
"""

from __future__ import annotations  # the outbox's `list` method shadows the builtin in its class body

import json
import logging
import math
import random
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from ..config import Settings
from ..domain.errors import ConcurrencyError, Conflict, DomainError, Unavailable, UnknownActor
from ..domain.events import Event
from ..domain.ids import utc_now
from ..domain.models import Application, HistoryEntry, Job, JobStatus, User, email_key
from ..domain.pipeline import ApplicationStatus
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
from .dynamodb_models import build_models

log = logging.getLogger(__name__)

JOB_STATUSES = tuple(str(status) for status in JobStatus)
APPLICATION_STATUSES = tuple(str(status) for status in ApplicationStatus)
MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit for one TransactWriteItems
CONFLICT_RETRIES = 5  # a transaction cancelled only by another one in flight is tried again
FILTERED_PAGE_SIZE = 100  # items read per Query page when a filter no index serves is on


# --- Keys -----------------------------------------------------------------------------------------


def user_key(user_id):
    return f"USER#{user_id}", "USER"


def email_guard_key(key):
    return f"EMAIL#{key}", "EMAIL"


def job_key(job_id):
    return f"JOB#{job_id}", "JOB"


def application_key(application_id):
    return f"APP#{application_id}", "APP"


def application_guard_key(candidate_id, job_id):
    return f"APPLIED#{candidate_id}#{job_id}", "APPLIED"


def history_key(application_id, entry_id):
    return f"APP#{application_id}", f"HIST#{entry_id}"


def event_key(event_id):
    return f"EVENT#{event_id}", "EVENT"


def delivery_key(event_id, recipient):
    return f"DELIVERY#{event_id}", f"TO#{recipient}"


def counter_key(key):
    return f"COUNTER#{key}", "COUNTER"


def idempotency_key(key):
    return f"IDEMPOTENCY#{key}", "IDEMPOTENCY"


# --- Errors ---------------------------------------------------------------------------------------


def _code(error: Exception) -> str | None:
    """The DynamoDB error code of a PynamoDB or botocore error, if it has one."""
    if isinstance(error, PynamoDBException):
        return error.cause_response_code
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code")
    return None


@contextmanager
def storage_errors():
    """Whatever the storage raises becomes Unavailable (503), with the reason logged."""
    try:
        yield
    except DomainError:
        raise
    except (PynamoDBException, BotoCoreError, ClientError) as error:
        code = _code(error)
        log.warning("DynamoDB call failed: %s (%s)", code or type(error).__name__, error)
        if code == "ResourceNotFoundException":
            raise Unavailable(
                "The DynamoDB table does not exist: run `python -m chalicelib.cli create-tables`."
            ) from error
        raise Unavailable(f"Storage is unavailable: {code or type(error).__name__}") from error


# --- The table at an endpoint ---------------------------------------------------------------------


class DynamoStore:
    """The model classes, connection and table state of one table at one endpoint; one per process."""

    _instances: ClassVar[dict[tuple, DynamoStore]] = {}
    _instances_lock = threading.Lock()

    # The model classes build_models made for this table (set in __init__; made at run time, hence Any).
    Item: Any
    UserItem: Any
    EmailGuard: Any
    JobItem: Any
    ApplicationItem: Any
    ApplicationGuard: Any
    HistoryItem: Any
    OutboxItem: Any
    DeliveryItem: Any
    CounterItem: Any
    IdempotencyItem: Any

    def __init__(self, settings: Settings):
        self.table_name = settings.table_name
        self.models = build_models(
            table_name=settings.table_name,
            region=settings.aws_region,
            host=settings.dynamodb_endpoint,
            connect_timeout=settings.dynamodb_connect_timeout,
            read_timeout=settings.dynamodb_read_timeout,
            max_retries=settings.dynamodb_max_retries,
        )
        for name, model in self.models.items():
            setattr(self, name, model)
        self.connection: Connection = self.Item._get_connection().connection
        self._table_ready = False
        self._table_lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings: Settings) -> DynamoStore:
        key = (
            settings.table_name,
            settings.dynamodb_endpoint,
            settings.aws_region,
            settings.dynamodb_connect_timeout,
            settings.dynamodb_read_timeout,
            settings.dynamodb_max_retries,
        )
        with cls._instances_lock:
            if key not in cls._instances:
                cls._instances[key] = cls(settings)
            store = cls._instances[key]
        if settings.dynamodb_create_tables:
            store.ensure_table()
        return store

    @classmethod
    def forget(cls, table_name: str) -> None:
        """Drop the cached stores of a table (tests make one table per test)."""
        with cls._instances_lock:
            for key in [key for key in cls._instances if key[0] == table_name]:
                del cls._instances[key]

    def ensure_table(self) -> bool:
        """Create the table unless it exists (once per process); True if this call created it."""
        with self._table_lock:
            if self._table_ready:
                return False
            with storage_errors():
                created = not self.Item.exists()
                if created:
                    try:
                        self.Item.create_table(wait=True)
                    except PynamoDBException as error:
                        if _code(error) != "ResourceInUseException":  # another process created it
                            raise
                        created = False
                        self.Item.create_table(wait=True)  # exists now: waits for ACTIVE
            self._table_ready = True
            return created

    def delete_table(self) -> None:
        with storage_errors():
            if self.Item.exists():
                self.Item.delete_table()
        self._table_ready = False


# --- Entity <-> item ------------------------------------------------------------------------------


def _user(item) -> User:
    return User(
        id=item.id,
        email=item.email,
        name=item.name,
        role=item.role,
        password_hash=item.password_hash,
        created_at=item.created_at,
    )


def _job(item) -> Job:
    return Job(
        id=item.id,
        owner_id=item.owner_id,
        title=item.title,
        description=item.description,
        location=item.location,
        department=item.department,
        employment_type=item.employment_type,
        status=item.status,
        version=int(item.version),
        created_at=item.created_at,
        updated_at=item.updated_at,
        deleted_at=item.deleted_at,
    )


def _application(item) -> Application:
    return Application(
        id=item.id,
        job_id=item.job_id,
        candidate_id=item.candidate_id,
        recruiter_id=item.recruiter_id,
        status=item.status,
        cover_letter=item.cover_letter,
        version=int(item.version),
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _history(item) -> HistoryEntry:
    return HistoryEntry(
        id=item.id,
        application_id=item.application_id,
        from_status=item.from_status,
        to_status=item.to_status,
        actor_id=item.actor_id,
        reason=item.reason,
        created_at=item.created_at,
    )


def _outbox_record(item) -> OutboxRecord:
    return OutboxRecord(
        id=item.id,
        type=item.event_type,
        payload=json.loads(item.payload),
        status=item.status,
        attempts=int(item.attempts),
        last_error=item.last_error,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _str(value):
    """Enum members as their plain values, as SQLite hands them back."""
    return None if value is None else str(value)


# --- The unit of work's pending writes ------------------------------------------------------------


@dataclass
class _Write:
    """One item of a transaction, queued until commit."""

    kind: str  # put | update | check (a condition on an item the transaction does not write)
    item: Any  # an instance of one of the store's model classes
    condition: Condition | None
    failure: DomainError  # what a failed condition on this item means
    actions: list[Action] = field(default_factory=list)  # an update's


# PynamoDB sends a transaction's items grouped in this order; cancellation reasons follow it.
_KIND_ORDER = {"check": 0, "delete": 1, "put": 2, "update": 3}


class _Repository:
    def __init__(self, uow: DynamoUnitOfWork):
        self._uow = uow
        self._store = uow.store

    def _get(self, model, key):
        with storage_errors():
            try:
                return model.get(*key, consistent_read=True)
            except model.DoesNotExist:
                return None

    def _get_many(self, model, keys: list) -> list:
        """The items of these keys that exist, in BatchGetItem calls (PynamoDB splits and retries them)."""
        if not keys:
            return []
        with storage_errors():
            return list(model.batch_get(keys, consistent_read=True))

    def _newest(self, index, range_key, partitions, *, limit, before, filters=None) -> list:
        """Up to `limit` items, newest first, from each partition of a GSI, merged.

        A filter no index serves is applied by DynamoDB page by page; PynamoDB keeps querying
        until `limit` items matched or the partition is exhausted, so the result is exact.
        """
        if limit <= 0:
            return []
        page_size = limit if filters is None else max(limit, FILTERED_PAGE_SIZE)
        found = []
        with storage_errors():
            for partition in partitions:
                found.extend(
                    index.query(
                        partition,
                        range_key < before if before else None,
                        filter_condition=filters,
                        scan_index_forward=False,
                        limit=limit,
                        page_size=page_size,
                    )
                )
        found.sort(key=lambda item: item.id, reverse=True)
        return found[:limit]


def _key(value: str | None) -> str | None:
    return None if value is None else value.casefold()


def _ignoring_case(attribute, key_attribute, value: str | None):
    """attribute equals value whatever the case; items stored before the key attribute match exactly."""
    if value is None:
        return None
    return (key_attribute == value.casefold()) | (key_attribute.does_not_exist() & (attribute == value))


def _all(*conditions):
    """The conjunction of the conditions that are set, or None."""
    result = None
    for condition in conditions:
        if condition is not None:
            result = condition if result is None else result & condition
    return result


class DynamoUsers(_Repository, UserRepository):
    def add(self, user: User) -> None:
        s = self._store
        item = s.UserItem(
            *user_key(user.id),
            id=user.id,
            email=user.email,
            name=user.name,
            role=_str(user.role),
            password_hash=user.password_hash,
            created_at=user.created_at,
        )
        guard = s.EmailGuard(*email_guard_key(user.email_key), user_id=user.id)
        taken = Conflict("An account with this email already exists.", code="email_taken")
        self._uow.put(item, s.UserItem.pk.does_not_exist(), taken)
        self._uow.put(guard, s.EmailGuard.pk.does_not_exist(), taken)
        self._uow.track(user)

    def get(self, user_id: str) -> User | None:
        item = self._get(self._store.UserItem, user_key(user_id))
        return item and _user(item)

    def get_by_email(self, email: str) -> User | None:
        guard = self._get(self._store.EmailGuard, email_guard_key(email_key(email)))
        return guard and self.get(guard.user_id)

    def get_many(self, user_ids: Iterable[str]) -> dict[str, User]:
        items = self._get_many(self._store.UserItem, [user_key(i) for i in sorted(set(user_ids))])
        return {item.id: _user(item) for item in items}

    def require(self, user_id: str) -> None:
        m = self._store.UserItem
        self._uow.check(m(*user_key(user_id)), m.pk.exists(), UnknownActor())


class DynamoJobs(_Repository, JobRepository):
    def _item(self, job: Job):
        s = self._store
        status = _str(job.status)
        live = job.deleted_at is None  # a deleted job leaves the (sparse) list indexes
        return s.JobItem(
            *job_key(job.id),
            id=job.id,
            owner_id=job.owner_id,
            title=job.title,
            title_key=job.title.casefold(),
            description=job.description,
            location=job.location,
            location_key=_key(job.location),
            department=job.department,
            department_key=_key(job.department),
            employment_type=job.employment_type,
            status=status,
            version=job.version,
            created_at=job.created_at,
            updated_at=job.updated_at,
            deleted_at=job.deleted_at,
            gsi1pk=f"JOBS#{status}" if live else None,
            gsi1sk=job.id if live else None,
            gsi2pk=f"OWNER#{job.owner_id}#{status}" if live else None,
            gsi2sk=job.id if live else None,
        )

    def add(self, job: Job) -> None:
        self._uow.users.require(job.owner_id)
        self._uow.put(
            self._item(job),
            self._store.JobItem.pk.does_not_exist(),
            ConcurrencyError("A job with this id already exists."),
        )
        self._uow.track(job)

    def get(self, job_id: str) -> Job | None:
        item = self._get(self._store.JobItem, job_key(job_id))
        return item and _job(item)

    def get_many(self, job_ids: Iterable[str]) -> dict[str, Job]:
        items = self._get_many(self._store.JobItem, [job_key(i) for i in sorted(set(job_ids))])
        return {item.id: _job(item) for item in items}

    def save(self, job: Job) -> None:
        self._uow.put(
            self._item(job),
            self._store.JobItem.version == job.version - 1,
            ConcurrencyError("The job was changed by someone else; reload it and try again."),
        )
        self._uow.track(job)

    def require(self, job_id: str, *, statuses: tuple[str, ...] | None = None, failure: DomainError) -> None:
        m = self._store.JobItem
        condition = m.pk.exists() & m.deleted_at.does_not_exist()
        if statuses is not None:
            condition &= m.status.is_in(*map(_str, statuses))
        self._uow.check(m(*job_key(job_id)), condition, failure)

    def page(self, query: JobQuery, *, limit: int, before: str | None = None) -> list[Job]:
        s = self._store
        statuses = query.statuses if query.statuses is not None else JOB_STATUSES
        if query.owner_id is not None:
            index, range_key = s.JobItem.gsi2, s.JobItem.gsi2sk
            partitions = [f"OWNER#{query.owner_id}#{status}" for status in statuses]
        else:
            index, range_key = s.JobItem.gsi1, s.JobItem.gsi1sk
            partitions = [f"JOBS#{status}" for status in statuses]
        filters = _all(
            _ignoring_case(s.JobItem.location, s.JobItem.location_key, query.location),
            _ignoring_case(s.JobItem.department, s.JobItem.department_key, query.department),
            s.JobItem.title_key.contains(query.q.casefold()) if query.q else None,
        )
        items = self._newest(index, range_key, partitions, limit=limit, before=before, filters=filters)
        return [_job(item) for item in items]


class DynamoApplications(_Repository, ApplicationRepository):
    def _item(self, application: Application):
        a, status = application, _str(application.status)
        return self._store.ApplicationItem(
            *application_key(a.id),
            id=a.id,
            job_id=a.job_id,
            candidate_id=a.candidate_id,
            recruiter_id=a.recruiter_id,
            status=status,
            cover_letter=a.cover_letter,
            version=a.version,
            created_at=a.created_at,
            updated_at=a.updated_at,
            gsi1pk=f"JOBAPPS#{a.job_id}",
            gsi1sk=a.id,
            gsi2pk=f"JOBAPPS#{a.job_id}#{status}",
            gsi2sk=a.id,
            gsi3pk=f"CANDAPPS#{a.candidate_id}",
            gsi3sk=a.id,
            gsi4pk=f"RECAPPS#{a.recruiter_id}",
            gsi4sk=a.id,
            gsi5pk=f"RECAPPS#{a.recruiter_id}#{status}",
            gsi5sk=a.id,
            gsi6pk=f"APPS#{status}",
            gsi6sk=a.id,
        )

    def add(self, application: Application) -> None:
        s = self._store
        self._require_actors(application, application.candidate_id)
        guard = s.ApplicationGuard(
            *application_guard_key(application.candidate_id, application.job_id), application_id=application.id
        )
        self._uow.put(
            guard,
            s.ApplicationGuard.pk.does_not_exist(),
            Conflict("You have already applied to this job.", code="already_applied"),
        )
        self._uow.put(
            self._item(application),
            s.ApplicationItem.pk.does_not_exist(),
            ConcurrencyError("An application with this id already exists."),
        )
        self._write_history(application)

    def get(self, application_id: str) -> Application | None:
        item = self._get(self._store.ApplicationItem, application_key(application_id))
        return item and _application(item)

    def save(self, application: Application) -> None:
        self._require_actors(application)
        self._uow.put(
            self._item(application),
            self._store.ApplicationItem.version == application.version - 1,
            ConcurrencyError("The application was changed by someone else; reload it and try again."),
        )
        self._write_history(application)

    def _require_actors(self, application: Application, *also: str) -> None:
        """Whoever made the new history entries (and `also`) has an account."""
        for user_id in sorted({*also, *(entry.actor_id for entry in application.new_history)}):
            self._uow.users.require(user_id)

    def _write_history(self, application: Application) -> None:
        s = self._store
        for entry in application.new_history:
            item = s.HistoryItem(
                *history_key(entry.application_id, entry.id),
                id=entry.id,
                application_id=entry.application_id,
                from_status=_str(entry.from_status),
                to_status=_str(entry.to_status),
                actor_id=entry.actor_id,
                reason=entry.reason,
                created_at=entry.created_at,
            )
            self._uow.put(item, s.HistoryItem.pk.does_not_exist(), ConcurrencyError("History entry exists."))
        self._uow.track(application)

    def page(self, query: ApplicationQuery, *, limit: int, before: str | None = None) -> list[Application]:
        m = self._store.ApplicationItem
        q = query
        # The most selective index that serves the query; what it leaves is a filter.
        if q.candidate_id is not None:
            index, range_key, partitions = m.gsi3, m.gsi3sk, [f"CANDAPPS#{q.candidate_id}"]
            served = {"candidate_id"}
        elif q.job_id is not None and q.status is not None:
            index, range_key, partitions = m.gsi2, m.gsi2sk, [f"JOBAPPS#{q.job_id}#{q.status}"]
            served = {"job_id", "status"}
        elif q.job_id is not None:
            index, range_key, partitions = m.gsi1, m.gsi1sk, [f"JOBAPPS#{q.job_id}"]
            served = {"job_id"}
        elif q.recruiter_id is not None and q.status is not None:
            index, range_key, partitions = m.gsi5, m.gsi5sk, [f"RECAPPS#{q.recruiter_id}#{q.status}"]
            served = {"recruiter_id", "status"}
        elif q.recruiter_id is not None:
            index, range_key, partitions = m.gsi4, m.gsi4sk, [f"RECAPPS#{q.recruiter_id}"]
            served = {"recruiter_id"}
        else:
            statuses = [q.status] if q.status is not None else APPLICATION_STATUSES
            index, range_key, partitions = m.gsi6, m.gsi6sk, [f"APPS#{status}" for status in statuses]
            served = {"status"}
        filters = _all(
            *(
                getattr(m, name) == _str(getattr(q, name))
                for name in ("job_id", "candidate_id", "recruiter_id", "status")
                if getattr(q, name) is not None and name not in served
            )
        )
        items = self._newest(index, range_key, partitions, limit=limit, before=before, filters=filters)
        return [_application(item) for item in items]

    def has_applied(self, candidate_id: str, job_id: str) -> bool:
        return self._get(self._store.ApplicationGuard, application_guard_key(candidate_id, job_id)) is not None

    def history(self, application_id: str, *, limit: int | None = None, after: str | None = None) -> list[HistoryEntry]:
        m = self._store.HistoryItem
        # From `after` (inclusive: dropped below) to the end of the HIST# range ('~' sorts after every id).
        span = m.sk.between(f"HIST#{after}", "HIST#~") if after else m.sk.startswith("HIST#")
        wanted = None if limit is None else limit + bool(after)
        with storage_errors():
            items = list(m.query(application_key(application_id)[0], span, consistent_read=True, limit=wanted))
        return [_history(item) for item in items if item.id != after][:limit]


class DynamoOutbox(_Repository, OutboxRepository):
    def list(self, *, status: str, limit: int = 100) -> list[OutboxRecord]:
        if limit <= 0:
            return []
        m = self._store.OutboxItem
        with storage_errors():
            items = list(m.gsi1.query(f"OUTBOX#{status}", scan_index_forward=True, limit=limit, page_size=limit))
        return [_outbox_record(item) for item in items]

    def get(self, event_id: str) -> OutboxRecord | None:
        item = self._get(self._store.OutboxItem, event_key(event_id))
        return item and _outbox_record(item)

    def mark(self, event_id: str, *, status: str, error: str | None = None, attempted: bool = False) -> None:
        m = self._store.OutboxItem
        if self._get(m, event_key(event_id)) is None:
            return  # as in SQLite, marking an unknown event changes nothing
        actions = [
            m.status.set(status),
            m.gsi1pk.set(f"OUTBOX#{status}"),
            m.updated_at.set(utc_now()),
            m.last_error.set(error) if error is not None else m.last_error.remove(),
        ]
        if attempted:
            actions.append(m.attempts.add(1))
        self._uow.update(
            m(*event_key(event_id)),
            actions,
            m.pk.exists(),
            ConcurrencyError("The outbox event vanished."),
            is_mark=True,
        )

    def mark_published(self, event_ids: Sequence[str]) -> None:
        m = self._store.OutboxItem
        now = utc_now()
        for event_id in event_ids:  # a worker may have marked it 'sent' already: then leave it
            item = m(*event_key(event_id))
            self._conditional(
                item.update,
                [m.status.set("published"), m.gsi1pk.set("OUTBOX#published"), m.updated_at.set(now)],
                m.status == "pending",
            )

    # The ledger: single conditional writes, effective at once.

    def claim_delivery(self, event_id: str, recipient: str, *, lease_seconds: int) -> bool:
        m = self._store.DeliveryItem
        now = time.time()
        item = m(
            *delivery_key(event_id, recipient),
            event_id=event_id,
            recipient=recipient,
            state="sending",
            lease_until=now + lease_seconds,
            updated_at=utc_now(),
        )
        # New, or an abandoned claim whose lease ran out; never a sent one.
        condition = m.pk.does_not_exist() | ((m.state == "sending") & (m.lease_until < now))
        return self._conditional(item.save, condition)

    def complete_delivery(self, event_id: str, recipient: str) -> None:
        m = self._store.DeliveryItem
        item = m(*delivery_key(event_id, recipient))
        self._conditional(item.update, [m.state.set("sent"), m.updated_at.set(utc_now())], m.pk.exists())

    def release_delivery(self, event_id: str, recipient: str) -> None:
        m = self._store.DeliveryItem
        item = m(*delivery_key(event_id, recipient))
        self._conditional(item.delete, m.state == "sending")

    def delivery_state(self, event_id: str, recipient: str) -> str | None:
        item = self._get(self._store.DeliveryItem, delivery_key(event_id, recipient))
        return item and item.state

    @staticmethod
    def _conditional(write, *args, **kwargs) -> bool:
        """Run one conditional write(*args, **kwargs); False when its condition failed (as an UPDATE of no row)."""
        with storage_errors():
            try:
                write(*args, **kwargs)
            except PynamoDBException as error:
                if _code(error) == "ConditionalCheckFailedException":
                    return False
                raise
        return True


def _expiry(epoch_seconds: float) -> datetime:
    """The `ttl` attribute's value: DynamoDB may delete the item after this (whole) second."""
    return datetime.fromtimestamp(math.ceil(epoch_seconds), tz=UTC)


class DynamoCounters(_Repository, CounterRepository):
    """One item per key. A hit is an atomic ADD on the running window, conditional on it still
    running; when none runs, a conditional put starts one (one racer wins, the others add)."""

    clock = staticmethod(time.time)  # tests move time by replacing it

    def hit(self, key: str, *, window_seconds: int) -> Window:
        m = self._store.CounterItem
        for _ in range(2 * CONFLICT_RETRIES):
            now = self.clock()
            running = m(*counter_key(key))
            if DynamoOutbox._conditional(running.update, [m.hits.add(1)], condition=m.ends_at > now):
                return Window(int(running.hits), float(running.ends_at))  # update() loaded ALL_NEW
            ends_at = now + window_seconds
            fresh = m(*counter_key(key), hits=1, ends_at=ends_at, ttl=_expiry(ends_at))
            if DynamoOutbox._conditional(fresh.save, m.pk.does_not_exist() | (m.ends_at <= now)):
                return Window(1, ends_at)
        raise Unavailable("The counter is too contended; try again.")

    def peek(self, key: str) -> Window:
        item = self._get(self._store.CounterItem, counter_key(key))
        if item is None or item.ends_at <= self.clock():
            return Window(0, 0.0)
        return Window(int(item.hits), float(item.ends_at))

    def clear(self, key: str) -> None:
        with storage_errors():
            self._store.CounterItem(*counter_key(key)).delete()


def _idempotency_record(key: str, item) -> IdempotencyRecord:
    return IdempotencyRecord(
        key=key,
        fingerprint=item.fingerprint,
        state=item.state,
        status=None if item.status is None else int(item.status),
        body=item.body,
        headers=json.loads(item.headers) if item.headers else {},
    )


class DynamoIdempotency(_Repository, IdempotencyRepository):
    clock = staticmethod(time.time)  # tests move time by replacing it

    def claim(
        self, key: str, fingerprint: str, token: str, *, lease_seconds: int, ttl_seconds: int
    ) -> IdempotencyRecord | None:
        m = self._store.IdempotencyItem
        for _ in range(3):  # the holder may release or expire between our claim and our read
            now = self.clock()
            item = m(
                *idempotency_key(key),
                fingerprint=fingerprint,
                token=token,
                state="pending",
                lease_until=now + lease_seconds,
                expires_at=now + ttl_seconds,
                ttl=_expiry(now + ttl_seconds),
            )
            # New, forgotten (expired) or abandoned (pending past its lease): ours.
            condition = (
                m.pk.does_not_exist() | (m.expires_at <= now) | ((m.state == "pending") & (m.lease_until <= now))
            )
            if DynamoOutbox._conditional(item.save, condition):
                return None
            found = self._get(m, idempotency_key(key))
            if found is not None and found.expires_at > now:
                return _idempotency_record(key, found)
        raise Unavailable("The idempotency key could not be claimed; try again.")

    def complete(self, key: str, token: str, *, status: int, body: str, headers: dict) -> bool:
        m = self._store.IdempotencyItem
        item = m(*idempotency_key(key))
        return DynamoOutbox._conditional(
            item.update,
            [m.state.set("done"), m.status.set(status), m.body.set(body), m.headers.set(json.dumps(headers))],
            condition=(m.token == token) & (m.state == "pending"),
        )

    def release(self, key: str, token: str) -> None:
        m = self._store.IdempotencyItem
        item = m(*idempotency_key(key))
        DynamoOutbox._conditional(item.delete, condition=(m.token == token) & (m.state == "pending"))


class DynamoUnitOfWork(UnitOfWork):
    def __init__(self, store: DynamoStore):
        super().__init__()
        self.store = store
        self._writes: list[_Write] = []
        self._marks: list[_Write] = []
        self.users = DynamoUsers(self)
        self.jobs = DynamoJobs(self)
        self.applications = DynamoApplications(self)
        self.outbox = DynamoOutbox(self)
        self.counters = DynamoCounters(self)
        self.idempotency = DynamoIdempotency(self)

    @classmethod
    def for_settings(cls, settings: Settings) -> DynamoUnitOfWork:
        return cls(DynamoStore.for_settings(settings))

    def fresh(self) -> DynamoUnitOfWork:
        return DynamoUnitOfWork(self.store)

    def __enter__(self) -> DynamoUnitOfWork:
        super().__enter__()
        self._writes, self._marks = [], []
        return self

    def put(self, item, condition, failure: DomainError) -> None:
        self._writes.append(_Write("put", item, condition, failure))

    def update(self, item, actions, condition, failure: DomainError, *, is_mark: bool = False) -> None:
        (self._marks if is_mark else self._writes).append(_Write("update", item, condition, failure, actions))

    def check(self, item, condition, failure: DomainError) -> None:
        """A condition on an item this transaction does not write (a ConditionCheck), once per item."""
        if all((w.item.pk, w.item.sk) != (item.pk, item.sk) for w in self._writes if w.kind == "check"):
            self._writes.append(_Write("check", item, condition, failure))

    def _commit(self, events: list[Event]) -> None:
        m = self.store.OutboxItem
        for event in events:
            item = m(
                *event_key(event.id),
                id=event.id,
                event_type=event.type,
                payload=json.dumps(event.payload()),
                status="pending",
                attempts=0,
                created_at=event.occurred_at,
                updated_at=event.occurred_at,
                gsi1pk="OUTBOX#pending",
                gsi1sk=event.id,
            )
            self.put(item, m.pk.does_not_exist(), ConcurrencyError("The event is already in the outbox."))
        writes, marks = self._writes, self._marks
        self._writes, self._marks = [], []
        if len(writes) > MAX_TRANSACTION_ITEMS:
            raise ValueError(
                f"A unit of work writes at most {MAX_TRANSACTION_ITEMS} items on DynamoDB "
                f"(one transaction); this one wrote {len(writes)}."
            )
        # Status marks ride along when they fit; a relay marking many events commits them in
        # chunks (each mark is an independent, idempotent status change).
        if len(writes) + len(marks) <= MAX_TRANSACTION_ITEMS:
            writes, marks = writes + marks, []
        if writes:
            self._transact(writes)
        for first in range(0, len(marks), MAX_TRANSACTION_ITEMS):
            self._transact(marks[first : first + MAX_TRANSACTION_ITEMS])

    def _transact(self, writes: list[_Write]) -> None:
        writes = sorted(writes, key=lambda write: _KIND_ORDER[write.kind])  # the order PynamoDB sends
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                with storage_errors():
                    try:
                        # The token makes botocore's own retries of this call idempotent.
                        with TransactWrite(
                            connection=self.store.connection, client_request_token=uuid.uuid4().hex
                        ) as transaction:
                            for write in writes:
                                if write.kind == "check":
                                    transaction.condition_check(
                                        type(write.item), write.item.pk, write.item.sk, condition=write.condition
                                    )
                                elif write.kind == "put":
                                    transaction.save(write.item, condition=write.condition)
                                else:
                                    transaction.update(write.item, write.actions, condition=write.condition)
                        return
                    except TransactWriteError as error:
                        self._raise_domain_error(error, writes)
            except _Retry:
                time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))
        raise ConcurrencyError("The change collided with another one; try again.")

    @staticmethod
    def _raise_domain_error(error: TransactWriteError, writes: list[_Write]) -> None:
        reasons = list(error.cancellation_reasons or [])
        for write, reason in zip(writes, reasons, strict=False):  # PynamoDB may report fewer reasons
            if reason is not None and reason.code == "ConditionalCheckFailed":
                raise write.failure from None
        if (
            any(reason is not None and reason.code == "TransactionConflict" for reason in reasons)
            or _code(error) == "TransactionConflictException"
        ):
            raise _Retry()
        raise error  # storage_errors turns it into Unavailable

    def rollback(self) -> None:
        self._writes, self._marks = [], []  # nothing reaches the table before commit

    def ping(self) -> None:
        with storage_errors(), suppress(self.store.Item.DoesNotExist):
            self.store.Item.get("PING", "PING", consistent_read=True)


class _Retry(Exception):
    """A transaction cancelled by a concurrent one, with no condition of ours failing."""
