"""The repositories and the unit of work, written once over the item-store port.

Repositories return and take the domain's dataclasses. Reads go to the store at once; writes
are staged as operations and reach it in one atomic transaction at `commit`, together with the
history of the written entities, their guard items and their outbox events. Every conflict is
found at commit, by a condition, on every driver alike: a taken email, a second application, a
stale version, a job closed since it was read, an actor whose account is gone. A condition that
fails raises what its operation says it means (Conflict, ConcurrencyError, UnknownActor…).

Versioned entities are written on the condition version = entity.version - 1, so a write decided
on a stale read is refused (ConcurrencyError); services/versions.py decides again or answers 412.
"""

import copy
import dataclasses
import random
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ..domain.errors import ConcurrencyError, ConfigurationError, Conflict, DomainError, UnknownActor, ValidationFailed
from ..domain.events import Event
from ..domain.funnel import Tally
from ..domain.ids import utc_at, utc_now
from ..domain.models import Application, HistoryEntry, Job, JobStatus, Role, StageVisit, User, email_key
from ..domain.rejection import DEFAULT_REASONS, PipelineTemplate, RejectionReason
from ..domain.sessions import OneTimeToken, Purpose, RefreshToken, Session
from ..domain.states import OutboxStatus
from ..domain.team import TeamMember, TeamRole
from .entities import (
    APPLICATION,
    EVENT,
    HISTORY,
    HISTORY_END,
    HISTORY_PREFIX,
    JOB,
    ONE_TIME_TOKEN,
    PIPELINE_TEMPLATE,
    REFRESH_TOKEN,
    REJECTION_REASON,
    SESSION,
    USER,
    VISIT,
    VISIT_PREFIX,
    WORD_PREFIX,
    Entity,
    application_guard,
    application_guard_key,
    application_key,
    applications_partition,
    department_partition,
    email_guard,
    email_guard_key,
    event_key,
    job_key,
    letter_item,
    letter_key,
    location_partition,
    lookup_key,
    member_item,
    member_key,
    member_of_partition,
    one_time_key,
    outbox_index_key,
    outcome_counter_key,
    reason_key,
    refresh_key,
    session_key,
    shards_of,
    stage_counter_key,
    template_key,
    user_key,
    users_partition,
    visit_key,
    word_items,
    words,
    words_partition,
)
from .fanout import merged
from .items import (
    Check,
    Condition,
    ConditionFailed,
    Delete,
    Found,
    Item,
    Key,
    Operation,
    Put,
    Query,
    Update,
    absent,
    all_of,
    any_of,
    begins,
    contains,
    equals,
    exists,
    key_of,
    missing,
    one_of,
)
from .records import ApplicationQuery, JobQuery, OutboxRecord, UserQuery
from .stores import CounterStore, Storage

if TYPE_CHECKING:
    from ..messaging.dispatch import Dispatcher


# The most items a filtered query reads for one page, matching or not (a public search costs a
# bounded page however little matches; the client follows next_cursor for more).
READ_BOUND = 100


def _bound(filter: Condition | None) -> int | None:
    return None if filter is None else READ_BOUND


class _Repository:
    entity: Entity

    def __init__(self, uow: "UnitOfWork"):
        self._uow = uow
        self._items = uow.storage.items

    def _get(self, key, *, consistent: bool = True):
        item = self._items.get(key, consistent=consistent)
        return None if item is None else self.entity.load(item)

    def _get_many(self, keys) -> list:
        return [self.entity.load(item) for item in self._items.get_many(keys)]

    def _get_many_with_users(
        self, keys: Iterable[Key], user_ids: Iterable[str], *, consistent: bool = True
    ) -> tuple[list, dict[str, User]]:
        """The records of `keys` and the accounts of these ids that exist, in one batch read: one
        round trip, not two."""
        wanted = set(keys)
        records, users = [], {}
        for item in self._items.get_many([*wanted, *map(user_key, set(user_ids))], consistent=consistent):
            if key_of(item) in wanted:
                records.append(self.entity.load(item))
            else:
                user = USER.load(item)
                users[user.id] = user
        return records, users

    def _newest(self, ranges: Sequence[tuple[str, str, Condition | None]], *, limit: int, before: str | None) -> Found:
        """Up to `limit` records, newest first, from index ranges (index, partition, filter) merged
        without duplicates; only the records of the page are loaded (a recruiter's list reads three
        ranges of a page each, and keeps one page). A filtered range reads at most READ_BOUND items:
        the page may come back short, with where it stopped (`stopped_at`)."""
        found = self._newest_items(ranges, limit=limit, before=before)
        load = self.entity.load
        return Found([load(item) for item in found], found.stopped_at)

    def _newest_items(
        self, ranges: Sequence[tuple[str, str, Condition | None]], *, limit: int, before: str | None
    ) -> Found[Item]:
        if limit <= 0:
            return Found()
        queries = [
            Query(partition, index, before=before, descending=True, limit=limit, filter=filter, reads=_bound(filter))
            for index, partition, filter in ranges
        ]
        if len(queries) == 1:  # one range: in order already, cut at the limit and where its read bound ended it
            return self._items.select(queries[0])
        if len({query.index for query in queries}) == 1 and all(query.filter is None for query in queries):
            # Partitions of one index, unfiltered (a sharded partition, a team's jobs): each is read
            # for its share of the page, not for a whole page (fanout.py).
            return Found(merged(self._items, queries, limit=limit))
        pages = self._items.select_many(queries)  # side by side where the driver can (DynamoDB)
        # Below the highest point where a range was cut short, that range is unread: the page ends there.
        stops = [page.stopped_at for page in pages if page.stopped_at is not None]
        floor = max(stops) if stops else None
        by_order: dict[str, Item] = {}
        for query, page in zip(queries, pages, strict=True):
            for item in page:
                by_order.setdefault(str(item[f"{query.index}SK"]), item)
        found = [by_order[key] for key in sorted(by_order, reverse=True) if floor is None or key >= floor][:limit]
        return Found(found, floor if floor is not None and len(found) < limit else None)

    def _versioned(self, record, what: str) -> Put:
        return Put(
            self.entity.item(record),
            equals("version", record.version - 1),
            ConcurrencyError(f"The {what} was changed by someone else; reload it and try again."),
        )


class Users(_Repository):
    entity = USER

    def add(self, user: User) -> None:
        taken = Conflict("An account with this email already exists.", code="email_taken")
        self._uow.stage(Put(USER.item(user), missing(), taken))
        self._uow.stage(Put(email_guard(user), missing(), taken))
        self._uow.track(user)

    def get(self, user_id: str) -> User | None:
        return self._get(user_key(user_id))

    def get_by_email(self, email: str) -> User | None:
        user_id = self.user_id_of(email)
        return None if user_id is None else self.get(user_id)

    def get_many(self, user_ids: Iterable[str]) -> dict[str, User]:
        """The users of these ids that exist, by id, in one round trip (the people a page shows)."""
        return {user.id: user for user in self._get_many(user_key(i) for i in set(user_ids))}

    def user_id_of(self, email: str) -> str | None:
        """The id of the account of this email, from its guard alone (one read, found or not)."""
        guard = self._items.get(email_guard_key(email_key(email)))
        return None if guard is None else str(guard["user_id"])

    def change(self, user: User, fields: Iterable[str], *, as_read: User | None = None) -> None:
        """Write these fields of the user, and only these (with the index keys and lookups they
        feed): a change of the name never undoes a concurrent change of another field.

        UnknownActor at commit if the account is gone. With `as_read` (the user as read before the
        change), also ConcurrencyError unless these fields are still as read: a read-modify-write
        of the revocation fields never loses a concurrent one (services retry it).
        """
        fields = tuple(fields)
        item = USER.item(user)
        changed = {name: item.get(name) for name in (*fields, *_USER_LOOKUPS)}  # None (absent) removes it
        condition: Condition | None = exists()
        failure: DomainError = UnknownActor()
        if as_read is not None:
            condition = all_of(condition, *(_still(as_read, name) for name in fields))
            failure = ConcurrencyError("The account was changed at the same time; try again.")
        self._uow.stage(Update(user_key(user.id), set=changed, condition=condition, failure=failure))
        self._uow.track(user)

    def require(self, user_id: str) -> None:
        """Make the commit conditional on the account existing and being active: UnknownActor if not."""
        active = all_of(exists(), absent("deactivated_at"))
        assert active is not None
        self._uow.stage(Check(user_key(user_id), active, UnknownActor()))

    def require_staff(self, user_id: str) -> None:
        """Make the commit conditional on this account being an active recruiter or admin (a team
        member being added): ValidationFailed naming it if not."""
        staff = all_of(exists(), absent("deactivated_at"), one_of("role", (str(Role.RECRUITER), str(Role.ADMIN))))
        assert staff is not None
        failure = ValidationFailed(
            "A team member must be an active recruiter or admin account.",
            details=[{"field": "user_id", "message": "not an active staff account"}],
        )
        self._uow.stage(Check(user_key(user_id), staff, failure))

    def require_active_admin(self, user_id: str, failure: DomainError) -> None:
        """Make the commit conditional on this user still being an active admin."""
        condition = all_of(equals("role", str(Role.ADMIN)), absent("deactivated_at"))
        assert condition is not None
        self._uow.stage(Check(user_key(user_id), condition, failure))

    def page(self, query: UserQuery, *, limit: int, before: str | None = None) -> list[User]:
        """Users newest first, from the partitions of the roles and states asked for."""
        roles = (query.role,) if query.role is not None else tuple(Role)
        states = (query.active,) if query.active is not None else (True, False)
        partitions = [users_partition(role, active) for role in roles for active in states]
        prefix = query.q.casefold() if query.q else None
        filter = any_of(begins("email_key", prefix), begins("name_key", prefix)) if prefix else None
        return self._newest([("GSI1", partition, filter) for partition in partitions], limit=limit, before=before)


_USER_DEFAULTS = {f.name: f for f in dataclasses.fields(User)}
_USER_LOOKUPS = ("GSI1PK", "GSI1SK", "name_key", "email_key")  # what USER derives from its fields


def _still(user: User, name: str):
    """The condition that the user's stored `name` is as in `user` (absent, where it holds the
    field's default: items written before the field existed)."""
    value = USER.item(user).get(name)
    declared = _USER_DEFAULTS[name]
    default = declared.default_factory() if declared.default_factory is not dataclasses.MISSING else declared.default
    if value is None:
        return absent(name)
    same = equals(name, value)
    return any_of(same, absent(name)) if getattr(user, name) == default else same


class Sessions(_Repository):
    """Sessions and their refresh tokens (docs/adr/0010)."""

    entity = SESSION

    def get(self, session_id: str) -> Session | None:
        return self._get(session_key(session_id))

    def get_with_user(self, session_id: str, user_id: str) -> tuple[Session | None, User | None]:
        """A session and its user in one batch read (a refresh's)."""
        sessions, users = self._get_many_with_users([session_key(session_id)], [user_id])
        return (sessions[0] if sessions else None), users.get(user_id)

    def token(self, token_hash: str) -> RefreshToken | None:
        item = self._items.get(refresh_key(token_hash))
        return None if item is None else REFRESH_TOKEN.load(item)

    def start(self, session: Session, first: RefreshToken) -> None:
        self._uow.users.require(session.user_id)
        self._uow.stage(Put(SESSION.item(session), missing(), ConcurrencyError("The session exists.")))
        self._uow.stage(Put(REFRESH_TOKEN.item(first), missing(), ConcurrencyError("The token exists.")))

    def rotate(
        self, spent: RefreshToken, session: Session, user: User, new: RefreshToken, *, reused: DomainError
    ) -> None:
        """Spend `spent` and issue `new` in the session, on the conditions that `spent` was not spent
        (else `reused`), the session is not revoked and is of the user's generation, and the user
        is active and still of that generation (else the user's tokens were revoked)."""
        revoked = UnknownActor("This session was signed out.")
        key = refresh_key(spent.hash)
        self._uow.stage(
            Update(key, set={"spent_at": utc_now()}, condition=all_of(exists(), absent("spent_at")), failure=reused)
        )
        still_on = all_of(exists(), absent("revoked_at"), equals("generation", session.generation))
        renewed = {"expires_at": session.expires_at, "ttl": session.expires_at}
        self._uow.stage(Update(session_key(session.id), set=renewed, condition=still_on, failure=revoked))
        user_on = all_of(exists(), absent("deactivated_at"), _still(user, "token_generation"))
        assert user_on is not None
        self._uow.stage(Check(user_key(user.id), user_on, revoked))
        self._uow.stage(Put(REFRESH_TOKEN.item(new), missing(), ConcurrencyError("The token exists.")))

    def move(self, session: Session, generation: int) -> None:
        """Carry the session over to a new generation of its user's tokens (a password change's caller)."""
        condition = all_of(exists(), absent("revoked_at"))
        revoked = UnknownActor("This session was signed out.")
        self._uow.stage(
            Update(session_key(session.id), set={"generation": generation}, condition=condition, failure=revoked)
        )

    def revoke(self, session: Session) -> None:
        """Mark the session revoked: no token of its family refreshes again."""
        self._uow.stage(Update(session_key(session.id), set={"revoked_at": utc_now()}, condition=exists()))


class OneTimeTokens:
    """Reset and verification tokens, by the hash of their secret."""

    def __init__(self, uow: "UnitOfWork"):
        self._uow = uow
        self._items = uow.storage.items

    def get(self, purpose: Purpose, token_hash: str) -> OneTimeToken | None:
        item = self._items.get(one_time_key(purpose, token_hash))
        return None if item is None else ONE_TIME_TOKEN.load(item)

    def add(self, token: OneTimeToken) -> None:
        self._uow.stage(Put(ONE_TIME_TOKEN.item(token), missing(), ConcurrencyError("The token exists.")))

    def use(self, token: OneTimeToken, *, failure: DomainError) -> None:
        """Spend the token on the condition it is unspent (`failure` if another use came first)."""
        key = one_time_key(token.purpose, token.hash)
        self._uow.stage(
            Update(key, set={"used_at": utc_now()}, condition=all_of(exists(), absent("used_at")), failure=failure)
        )


class Jobs(_Repository):
    entity = JOB

    def __init__(self, uow: "UnitOfWork"):
        super().__init__(uow)
        self._as_read: dict[str, Job] = {}  # what save compares with: the jobs as this unit of work read them

    def add(self, job: Job) -> None:
        self._uow.users.require(job.owner_id)
        self._uow.stage(Put(JOB.item(job), missing(), ConcurrencyError("A job with this id already exists.")))
        self._write_team(job, [])
        self._write_words(job, {})
        self._uow.track(job)

    def get(self, job_id: str, *, consistent: bool = True) -> Job | None:
        """Soft-deleted jobs too: the caller decides who may see them. consistent=False: maybe a
        moment old (for a read no write follows)."""
        job = self._get(job_key(job_id), consistent=consistent)
        if job is not None:
            self._as_read[job.id] = copy.copy(job)  # its title, status... are strings: kept as read
        return job

    def get_with_users(self, job_id: str, user_ids: Iterable[str]) -> tuple[Job | None, dict[str, User]]:
        """A job and the accounts of these ids that exist, in one batch read (an application's job
        with its candidate, or with the actors of its history)."""
        jobs, users = self._get_many_with_users([job_key(job_id)], user_ids)
        return (jobs[0] if jobs else None), users

    def get_many_with_users(
        self, job_ids: Iterable[str], user_ids: Iterable[str]
    ) -> tuple[dict[str, Job], dict[str, User]]:
        """The jobs and the accounts of these ids that exist, by id, in one batch read, maybe a
        moment old (what a page of applications shows beside them)."""
        jobs, users = self._get_many_with_users(map(job_key, set(job_ids)), user_ids, consistent=False)
        return {job.id: job for job in jobs}, users

    def get_many(self, job_ids: Iterable[str]) -> dict[str, Job]:
        """The jobs of these ids that exist (soft-deleted too), by id, in one round trip."""
        return {job.id: job for job in self._get_many(job_key(i) for i in set(job_ids))}

    def save(self, job: Job, *, team_before: Sequence[TeamMember] | None = None) -> None:
        """Write the job on the condition it is still the version it was read at; with
        `team_before` (the team as read), its team's member items too."""
        self._uow.stage(self._versioned(job, "job"))
        if team_before is not None:
            self._write_team(job, team_before)
        self._write_words(job, word_items(self._read_before(job)))
        self._uow.track(job)

    def _read_before(self, job: Job) -> Job:
        """The job as stored before this change (as read in this unit of work, else read now)."""
        before = self._as_read.get(job.id)
        if before is None or before.version != job.version - 1:
            before = self._get(job_key(job.id)) or job
        return before

    def _write_words(self, job: Job, before: dict[Key, Item]) -> None:
        """Its word items as its title, status, location and department now say: written where
        they differ from `before`, removed where they are no more."""
        now = word_items(job)
        for key, item in now.items():
            if before.get(key) != item:
                self._uow.stage(Put(item))
        for key in before.keys() - now.keys():
            self._uow.stage(Delete(key))

    def _write_team(self, job: Job, before: Sequence[TeamMember]) -> None:
        now = set(job.team)
        for member in job.team:
            if member not in before:
                self._uow.stage(Put(member_item(job.id, member)))
        for member in before:
            if member.user_id not in {m.user_id for m in now}:
                self._uow.stage(Delete(member_key(job.id, member.user_id)))

    def member_jobs(self, user_id: str) -> list[tuple[str, TeamRole]]:
        """(job id, role) of every job the user is on the team of, newest job first."""
        items = self._items.query(member_of_partition(user_id), index="GSI1", descending=True)
        return [(str(item["job_id"]), TeamRole(str(item["role"]))) for item in items]

    def require(
        self,
        job_id: str,
        *,
        statuses: tuple[str, ...] | None = None,
        stage_id: str | None = None,
        failure: DomainError,
    ) -> None:
        """Make the commit conditional on the job existing, not deleted, (if given) in one of these
        statuses and still having this stage; `failure` is raised at commit if it is not."""
        condition = all_of(
            exists(),
            absent("deleted_at"),
            one_of("status", statuses) if statuses is not None else None,
            # A job stored before pipelines has no stage_ids: its stages are the legacy defaults.
            any_of(contains("stage_ids", stage_id), absent("stage_ids")) if stage_id is not None else None,
        )
        assert condition is not None
        self._uow.stage(Check(job_key(job_id), condition, failure))

    def page(self, *queries: JobQuery, limit: int, before: str | None = None) -> Found[Job]:
        """Up to `limit` live (not deleted) jobs with id < before, newest first, that match any of
        the queries (each job once); short, with `stopped_at`, where a filter's read bound ended it."""
        found = self._newest_items([r for query in queries for r in _job_ranges(query)], limit=limit, before=before)
        words = [item for item in found if item["type"] != JOB.kind]
        if not words:  # jobs' own items alone (no word of q searched): each is its job
            return Found(map(JOB.load, found), found.stopped_at)
        jobs = self.get_many(_job_id(item) for item in words)
        page, dropped = [], False
        for item in found:
            if item["type"] == JOB.kind:
                page.append(JOB.load(item))
                continue
            # A word item read from the index a moment before its job changed: the job says.
            job = jobs.get(_job_id(item))
            if job is None or job.deleted_at is not None or not str(item["GSI3PK"]).startswith(f"WORDS#{job.status}#"):
                dropped = True
                continue
            page.append(job)
        # A page that lost an item has read its last one: it goes on after it, not as if at the end.
        stopped = found.stopped_at or (_job_id(found[-1]) if dropped else None)
        return Found(page, stopped)


def _job_id(item: Item) -> str:
    """The job of a job's item or of one of its word items: every job index sorts on it."""
    return str(item["id"] if item["type"] == JOB.kind else item["GSI3SK"])


def _job_ranges(query: JobQuery) -> list[tuple[str, str, Condition | None]]:
    """The index ranges a job query reads: an owner's jobs by status (filtered); else, by status,
    the most selective index its filters allow: a word of q's, the location, the department."""
    statuses = query.statuses if query.statuses is not None else tuple(JobStatus)
    searched = words(query.q) if query.q else []
    location = None if query.location is None else equals("location_key", str(lookup_key(query.location)))
    department = None if query.department is None else equals("department_key", str(lookup_key(query.department)))
    if query.owner_id is not None:
        filter = all_of(location, department, *_begin_words(searched))
        return [("GSI2", f"OWNER#{query.owner_id}#{status}", filter) for status in statuses]
    indexed = [word for word in searched if len(word) >= WORD_PREFIX]
    if indexed:
        word = max(indexed, key=len)  # the longest: likely the rarest
        # Its partition holds every title with a word of its prefix: the rest of q is checked.
        rest = [other for other in searched if other != word or len(word) > WORD_PREFIX]
        filter = all_of(location, department, *_begin_words(rest))
        return [("GSI3", words_partition(status, word[:WORD_PREFIX]), filter) for status in statuses]
    filter = all_of(*_begin_words(searched))
    if query.location is not None:
        filter = all_of(department, filter)
        return [("GSI4", location_partition(status, query.location), filter) for status in statuses]
    if query.department is not None:
        return [("GSI5", department_partition(status, query.department), filter) for status in statuses]
    return [("GSI1", f"JOBS#{status}", filter) for status in statuses]


def _begin_words(searched: Iterable[str]) -> list[Condition]:
    """Each word begins a word of the title."""
    return [contains("title_words", f" {word}") for word in dict.fromkeys(searched)]


class Applications(_Repository):
    entity = APPLICATION

    def __init__(self, uow: "UnitOfWork"):
        super().__init__(uow)
        self._inline: set[str] = set()  # ids read from items that hold their cover letter

    def add(self, application: Application) -> None:
        self._require_actors(application, application.candidate_id)
        applied = Conflict("You have already applied to this job.", code="already_applied")
        self._uow.stage(Put(application_guard(application), missing(), applied))
        self._uow.stage(
            Put(
                APPLICATION.item(application),
                missing(),
                ConcurrencyError("An application with this id already exists."),
            )
        )
        self._write_letter(application)
        self._write_history(application)

    def get(self, application_id: str) -> Application | None:
        """The application with its cover letter: both items in one (consistent) batch read."""
        key, letter_at = application_key(application_id), letter_key(application_id)
        found = {item["SK"]: item for item in self._items.get_many([key, letter_at])}  # of one partition
        item, letter = found.get(key[1]), found.get(letter_at[1])
        if item is None:
            return None
        if "cover_letter" in item:  # stored inline by an older release: its next save moves it out
            self._inline.add(application_id)
        return APPLICATION.load(item if letter is None else {**item, "cover_letter": letter["text"]})

    def save(self, application: Application) -> None:
        self._require_actors(application)
        self._uow.stage(self._versioned(application, "application"))
        if application.id in self._inline:  # the item written holds no letter: keep it apart from now on
            self._write_letter(application)
        self._write_history(application)

    def _write_letter(self, application: Application) -> None:
        letter = letter_item(application)
        if letter is not None:
            self._uow.stage(Put(letter))

    def _require_actors(self, application: Application, *also: str) -> None:
        """Whoever made the new history entries (and `also`) has an account."""
        for user_id in sorted({*also, *(entry.actor_id for entry in application.new_history)}):
            self._uow.users.require(user_id)

    def _write_history(self, application: Application) -> None:
        """Its new history entries, its stage visits (opened, closed) and what the change adds to
        its job's funnel counters, in the same transaction."""
        for entry in application.new_history:
            self._uow.stage(Put(HISTORY.item(entry), missing(), ConcurrencyError("History entry exists.")))
        for visit_id, exited_at in application.closed_visits:
            key = visit_key(application.id, visit_id)
            self._uow.stage(Update(key, set={"exited_at": exited_at}, condition=exists()))
        for visit in application.new_visits:
            self._uow.stage(Put(VISIT.item(visit), missing(), ConcurrencyError("Stage visit exists.")))
        self._uow.funnels.add(application.job_id, application.tally)
        self._uow.track(application)

    # The most selective index that serves a query, with the partition it reads and what it serves.
    def page(self, query: ApplicationQuery, *, limit: int, before: str | None = None) -> list[Application]:
        q = query
        if q.job_ids is not None:  # a team member's jobs: a partition per job, merged
            if q.status is not None:
                index, partitions = "GSI2", [f"JOBAPPS#{job_id}#{q.status}" for job_id in q.job_ids]
            else:
                index, partitions = "GSI1", [f"JOBAPPS#{job_id}" for job_id in q.job_ids]
            return self._newest([(index, partition, None) for partition in partitions], limit=limit, before=before)
        if q.candidate_id is not None:
            index, partitions, served = "GSI3", [f"CANDAPPS#{q.candidate_id}"], {"candidate_id"}
        elif q.job_id is not None and q.status is not None:
            index, partitions, served = "GSI2", [f"JOBAPPS#{q.job_id}#{q.status}"], {"job_id", "status"}
        elif q.job_id is not None:
            index, partitions, served = "GSI1", [f"JOBAPPS#{q.job_id}"], {"job_id"}
        else:  # every shard of the status (GSI6), or of every status (GSI4)
            index = "GSI4" if q.status is None else "GSI6"
            shards = shards_of(applications_partition(q.status))
            return self._newest([(index, shard, None) for shard in shards], limit=limit, before=before)
        filter = all_of(
            *(
                equals(name, str(getattr(q, name)))
                for name in ("job_id", "candidate_id", "status")
                if getattr(q, name) is not None and name not in served
            )
        )
        return self._newest([(index, partition, filter) for partition in partitions], limit=limit, before=before)

    def has_applied(self, candidate_id: str, job_id: str) -> bool:
        """Whether the candidate applied to the job (its uniqueness guard exists)."""
        return self._items.get(application_guard_key(candidate_id, job_id)) is not None

    def visits(self, application_id: str) -> list[StageVisit]:
        """Every stage visit, oldest first (an application has a handful)."""
        items = self._items.query(application_key(application_id)[0], prefix=VISIT_PREFIX)
        return [VISIT.load(item) for item in items]

    def with_history(
        self, application_id: str, *, limit: int, after: str | None = None
    ) -> tuple[Application | None, list[HistoryEntry]]:
        """The application (its cover letter left out) and up to `limit` of its status changes,
        oldest first, with id > after. The first page is one Query of the application's partition
        (SK "APP", then "HIST#..."; "LETTER" and "VISIT#" sort after); a later one reads the
        application beside the page, at once."""
        pk, sk = application_key(application_id)
        if after is None:
            found = list(self._items.query(pk, before=HISTORY_END, limit=limit + 1))
        else:
            head, page = self._items.select_many(
                [
                    Query(pk, prefix=sk, limit=1),
                    Query(pk, prefix=HISTORY_PREFIX, after=HISTORY_PREFIX + after, limit=limit),
                ]
            )
            found = [*head, *page]
        application = next((APPLICATION.load(item) for item in found if item["SK"] == sk), None)
        entries = [HISTORY.load(item) for item in found if str(item["SK"]).startswith(HISTORY_PREFIX)]
        return application, entries[:limit]

    def history(self, application_id: str, *, limit: int | None = None, after: str | None = None) -> list[HistoryEntry]:
        """Status changes oldest first: up to `limit` (None: all) with id > after."""
        items = self._items.query(
            application_key(application_id)[0],
            prefix=HISTORY_PREFIX,
            after=HISTORY_PREFIX + after if after else None,
            limit=limit,
        )
        return [HISTORY.load(item) for item in items]


class Funnels:
    """Each job's funnel counters: per stage and shard, and per job and shard (outcomes).

    A change adds to one shard, picked at random, so concurrent changes of one job's applications
    seldom touch the same counter item (DynamoDB refuses a transaction on an item another one is
    writing); a read sums the shards. The driver says how many shards (one on SQLite, which
    serialises its writers anyway).
    """

    def __init__(self, uow: "UnitOfWork"):
        self._uow = uow
        self._items = uow.storage.items

    @property
    def shards(self) -> int:
        return self._items.write_shards

    def add(self, job_id: str, tally: Tally) -> None:
        """Stage the tally's additions, on the unit of work's shard (one per commit, so that two
        changes of one job in one commit add to the same items, summed)."""
        if not tally:
            return
        shard = self._uow.shard
        for stage_id, added in tally.stage_counters().items():
            key = stage_counter_key(job_id, shard, stage_id)
            self._uow.stage_addition(Update(key, set={"type": "StageCounter"}, add=added))
        outcomes = tally.job_counters()
        if outcomes:
            key = outcome_counter_key(job_id, shard)
            self._uow.stage_addition(Update(key, set={"type": "OutcomeCounter"}, add=outcomes))

    def read(self, job_id: str, stage_ids: Iterable[str]) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
        """(stage id -> its counters summed over the shards, the job's outcome counters summed), in
        one batch read of a fixed number of items: stages x shards."""
        stage_ids = list(stage_ids)
        keys = [stage_counter_key(job_id, shard, stage_id) for stage_id in stage_ids for shard in range(self.shards)]
        keys += [outcome_counter_key(job_id, shard) for shard in range(self.shards)]
        stages: dict[str, dict[str, int]] = {stage_id: {} for stage_id in stage_ids}
        outcomes: dict[str, int] = {}
        for item in self._items.get_many(keys):
            sk = str(item["SK"])
            into = outcomes if sk == "OUTCOMES" else stages.setdefault(sk.removeprefix("STAGE#"), {})
            for name, value in item.items():
                if isinstance(value, int | float):  # a counter item holds nothing else numeric
                    into[name] = into.get(name, 0) + int(value)
        return stages, outcomes

    def require_unchanged(self, job_id: str, stage_ids: Iterable[str], failure: DomainError) -> dict[str, int]:
        """How many applications are in each of these stages now; and make the commit conditional on
        that staying so (each shard's `current` as read): a concurrent move into one of them fails
        the commit with `failure`, so the caller decides again."""
        stage_ids = list(stage_ids)
        keys_of = {
            stage_id: [stage_counter_key(job_id, s, stage_id) for s in range(self.shards)] for stage_id in stage_ids
        }
        every_key = [key for keys in keys_of.values() for key in keys]
        found = {key_of(item): item for item in self._items.get_many(every_key)} if every_key else {}
        current: dict[str, int] = {}
        for stage_id, keys in keys_of.items():
            current[stage_id] = 0
            for key in keys:
                item = found.get(key)
                value = None if item is None else item.get("current")
                current[stage_id] += int(value or 0)
                condition = (
                    missing() if item is None else absent("current") if value is None else equals("current", value)
                )
                self._uow.stage(Check(key, condition, failure))
        return current


class RejectionReasons(_Repository):
    """The admins' reasons, over the default set (domain/rejection.py), which they may change."""

    entity = REJECTION_REASON
    defaults: ClassVar = {reason.id: reason for reason in DEFAULT_REASONS}

    def get(self, reason_id: str) -> RejectionReason | None:
        return self._get(reason_key(reason_id)) or _copy(self.defaults.get(reason_id))

    def page(self, *, limit: int, after: str | None = None) -> list[RejectionReason]:
        """Oldest first (the defaults before the rest), as stored or, for a default, as shipped."""
        stored = [
            self.entity.load(item) for item in self._items.query("REASONS", index="GSI1", after=after, limit=limit)
        ]
        known = {reason.id for reason in stored}
        defaults = [
            copy
            for reason in DEFAULT_REASONS
            if (after is None or reason.id > after) and reason.id not in known and (copy := _copy(reason))
        ]
        return sorted([*stored, *defaults], key=lambda reason: reason.id)[:limit]

    def add(self, reason: RejectionReason) -> None:
        self._uow.stage(Put(self.entity.item(reason), missing(), ConcurrencyError("The reason exists.")))

    def save(self, reason: RejectionReason) -> None:
        """Versioned; a default's first change is its first stored version."""
        if reason.version == 2 and reason.id in self.defaults:
            self._uow.stage(Put(self.entity.item(reason), missing(), ConcurrencyError("The reason was changed.")))
        else:
            self._uow.stage(self._versioned(reason, "rejection reason"))


def _copy(reason: RejectionReason | None) -> RejectionReason | None:
    return None if reason is None else dataclasses.replace(reason)


class PipelineTemplates(_Repository):
    entity = PIPELINE_TEMPLATE

    def get(self, template_id: str) -> PipelineTemplate | None:
        return self._get(template_key(template_id))

    def page(self, *, limit: int, after: str | None = None) -> list[PipelineTemplate]:
        """Oldest first."""
        return [
            self.entity.load(item) for item in self._items.query("TEMPLATES", index="GSI1", after=after, limit=limit)
        ]

    def add(self, template: PipelineTemplate) -> None:
        self._uow.stage(Put(self.entity.item(template), missing(), ConcurrencyError("The template exists.")))


class _Carrier:
    """What `record` tracks: events, and nothing else to write."""

    def __init__(self, events: list[Event]):
        self.events = events


def _outboxed(event: Event, now: str | None) -> OutboxRecord:
    """The event as the outbox keeps it: pending, or scheduled while its deliver_after is ahead of
    `now` (None: no event of the commit is held back)."""
    later = now is not None and event.deliver_after is not None and event.deliver_after > now
    return OutboxRecord(
        id=event.id,
        type=event.type,
        payload=event.payload(),
        status=OutboxStatus.SCHEDULED if later else OutboxStatus.PENDING,
        attempts=0,
        last_error=None,
        created_at=event.occurred_at,
        updated_at=event.occurred_at,
        deliver_after=event.deliver_after,
    )


class ScheduledEvents:
    """Outbox events waiting for their deliver_after, as a change sees them: read whether one is
    still scheduled, and cancel it together with the rest of the change.

    A cancel is conditional on the event being still scheduled when the change commits: if the
    relay promoted it since the read (it is being delivered), the commit fails with `failure`
    (ConcurrencyError by default, which versioned_write retries: the retry reads it again).
    """

    def __init__(self, uow: "UnitOfWork"):
        self._uow = uow

    def is_scheduled(self, event_id: str) -> bool:
        record = self._uow.outbox.get(event_id)
        return record is not None and record.status == OutboxStatus.SCHEDULED

    def cancel(self, event_id: str, *, failure: DomainError | None = None) -> None:
        """Stage the move of a scheduled event to cancelled: it is never delivered."""
        pk, sk = outbox_index_key(OutboxStatus.CANCELLED, event_id)
        changes = {"status": str(OutboxStatus.CANCELLED), "GSI1PK": pk, "GSI1SK": sk, "updated_at": utc_now()}
        failure = failure or ConcurrencyError("The scheduled event is being delivered already; read it again.")
        condition = equals("status", str(OutboxStatus.SCHEDULED))
        self._uow.stage(Update(event_key(event_id), set=changes, condition=condition, failure=failure))


class UnitOfWork:
    """One atomic change: what the repositories stage, committed together with its outbox events;
    and the ports a use case needs beside it, as the composition root (bootstrap.py) chose them.

    `outbox`, `counters` and `idempotency` are the stores that write at once (their writes are
    single conditional ones, never part of a commit); `counters` may live in Redis;
    `scheduled_events` stages its cancels like a repository. `dispatcher` hands committed events
    on for delivery; `sender` sends an email.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        counters: CounterStore | None = None,
        dispatcher: "Callable[[], Dispatcher] | None" = None,
        sender: Callable[[], Any] | None = None,
    ):
        self.storage = storage
        self.users = Users(self)
        self.jobs = Jobs(self)
        self.applications = Applications(self)
        self.sessions = Sessions(self)
        self.one_time_tokens = OneTimeTokens(self)
        self.funnels = Funnels(self)
        self.rejection_reasons = RejectionReasons(self)
        self.pipeline_templates = PipelineTemplates(self)
        self.outbox = storage.outbox
        self.scheduled_events = ScheduledEvents(self)
        self.scheduled: list[Event] = []  # what the last commit scheduled for later
        self.counters: CounterStore = counters or storage.counters
        self.idempotency = storage.idempotency
        self._dispatcher = dispatcher
        self._sender = sender
        self._operations: list[Operation] = []
        self._seen: list = []

    @property
    def dispatcher(self) -> "Dispatcher":
        """The configured dispatcher (made on first use: a read never needs one)."""
        if self._dispatcher is None:
            raise ConfigurationError(
                "This unit of work was made without a dispatcher (bootstrap.unit_of_work makes one)."
            )
        return self._dispatcher()

    @property
    def sender(self):
        """The configured email sender (made on first use: SES imports boto3)."""
        if self._sender is None:
            raise ConfigurationError("A unit of work made without a sender (bootstrap.unit_of_work gives one).")
        return self._sender()

    def __enter__(self) -> "UnitOfWork":
        self.rollback()
        return self

    def __exit__(self, *exc_info) -> None:
        self.rollback()

    def fresh(self) -> "UnitOfWork":
        """Another unit of work on the same storage and ports, for use on another thread."""
        return UnitOfWork(self.storage, counters=self.counters, dispatcher=self._dispatcher, sender=self._sender)

    def stage(self, operation: Operation) -> None:
        """Queue a write for commit; a check of an item already checked is not repeated."""
        if isinstance(operation, Check) and any(
            isinstance(staged, Check) and staged.key == operation.key for staged in self._operations
        ):
            return
        self._operations.append(operation)

    def stage_addition(self, update: Update) -> None:
        """Queue an unconditional addition to numbers; one to an item already added to is summed
        into it (a transaction writes each item once)."""
        for index, staged in enumerate(self._operations):
            if isinstance(staged, Update) and staged.key == update.key and staged.condition is None:
                amounts = {
                    name: staged.add.get(name, 0) + update.add.get(name, 0) for name in {*staged.add, *update.add}
                }
                self._operations[index] = staged._replace(set={**staged.set, **update.set}, add=amounts)
                return
        self._operations.append(update)

    def track(self, entity) -> None:
        """Repositories call this for every entity they write, so commit finds its events."""
        self._seen.append(entity)

    def record(self, event: Event) -> None:
        """An event no entity of this change carries (a request made of nobody's state), for the outbox."""
        self._seen.append(_Carrier([event]))

    def commit(self) -> list[Event]:
        """Commit everything staged, with the events of the written entities in the outbox.

        Returns the events due now, for dispatching after commit. Those whose deliver_after is
        still ahead are in the outbox as scheduled, for the relay to hand on when due; they are
        `self.scheduled` until the next commit.
        """
        events = [event for entity in self._seen for event in entity.events]
        # The clock is read only when an event is held back: a commit without one pays nothing.
        now = utc_at(self.outbox.clock()) if any(event.deliver_after for event in events) else None
        self.scheduled = []
        records = [_outboxed(event, now) for event in events]
        in_outbox = ConcurrencyError("The event is already in the outbox.")
        operations = [*self._operations, *(Put(EVENT.item(record), missing(), in_outbox) for record in records)]
        seen = self._seen
        self.rollback()
        if operations:
            try:
                self.storage.items.transact(operations)
            except ConditionFailed as failed:
                raise failed.operation.failure or ConcurrencyError("The change collided with another one.") from None
        for entity in seen:
            committed = getattr(entity, "committed", None)
            if committed is not None:  # it keeps more pending than its events
                committed()
            else:
                entity.events.clear()
        later = {record.id for record in records if record.status == OutboxStatus.SCHEDULED}
        self.scheduled = [event for event in events if event.id in later]
        return [event for event in events if event.id not in later]

    def rollback(self) -> None:
        """Forget what was staged: nothing reaches the store before commit."""
        self._operations, self._seen = [], []
        # The shard this commit adds its counters to, at random (see Funnels).
        self.shard = random.randrange(self.storage.items.write_shards)

    def ping(self) -> None:
        """Raise if the storage cannot be reached."""
        self.storage.items.ping()
