"""Applications: apply, move through the job's pipeline, reject and unreject, read, list, history."""

import dataclasses
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ..domain.errors import AuthenticationFailed, ConcurrencyError, NotFound, PermissionDenied, ValidationFailed
from ..domain.ids import seconds_between, utc_now
from ..domain.models import (
    Application,
    HistoryEntry,
    Job,
    JobStatus,
    Principal,
    RejectionEmail,
    Role,
    StageVisit,
    User,
)
from ..domain.pipeline import ApplicationStatus, Stage
from ..domain.team import Action, may
from ..storage import ApplicationQuery, UnitOfWork
from .context import Context, SignedIn
from .outbox import commit
from .pagination import Page, paginate
from .users import recent_account
from .versions import check_version, versioned_write

SEND_NOW = RejectionEmail()  # a rejection's email, unless asked otherwise


class _ReadThrough:
    """A view of a record that reads the record's fields through (_reads_through); those in INTERNAL
    only for the hiring side."""

    INTERNAL: ClassVar[frozenset[str]] = frozenset()

    if TYPE_CHECKING:  # the wrapped record's fields, made properties by _reads_through

        def __getattr__(self, name: str) -> Any: ...


V = TypeVar("V", bound=type[_ReadThrough])


def _reads_through(inner: str, record: type) -> Callable[[V], V]:
    """Give the class the fields of the `record` it wraps (its attribute `inner`) as properties, for
    rendering: None for a field in its INTERNAL unless the caller is of the hiring side (`internal`).
    Properties, not __getattr__: that runs only after the normal lookup has failed and raised (an
    application's render read 13 fields at 8.7k instructions each; a property of an attrgetter, 0.3k)."""

    def decorate(cls: V) -> V:
        own = {field.name for field in dataclasses.fields(cls)}  # type: ignore[arg-type]  # a dataclass
        for field in dataclasses.fields(record):
            if field.name not in own:
                setattr(cls, field.name, property(_reader(inner, field.name, field.name in cls.INTERNAL)))
        return cls

    return decorate


def _reader(inner: str, name: str, internal: bool) -> Callable[[Any], Any]:
    read = operator.attrgetter(f"{inner}.{name}")
    if not internal:
        return read
    return lambda seen: read(seen) if seen.internal else None


@_reads_through("application", Application)
@dataclass(frozen=True)
class ApplicationSeen(_ReadThrough):
    """An application as one caller sees it: what they may do next, its stage, its candidate and
    its job; and whether the caller is of the hiring side (who sees its internal fields)."""

    application: Application
    allowed_transitions: list[ApplicationStatus]
    stage: Stage | None
    candidate: User | None
    job: Job | None
    internal: bool
    INTERNAL: ClassVar[frozenset[str]] = frozenset({"rejection_reason_id"})


@_reads_through("entry", HistoryEntry)
@dataclass(frozen=True)
class HistoryEntrySeen(_ReadThrough):
    """A history entry with the account that made the change; its internal words only for the team."""

    entry: HistoryEntry
    actor: User | None
    internal: bool
    INTERNAL: ClassVar[frozenset[str]] = frozenset({"reason", "note", "rejection_reason_id"})


@_reads_through("visit", StageVisit)
@dataclass(frozen=True)
class VisitSeen(_ReadThrough):
    """A stage visit, with its length (to now, while it lasts)."""

    visit: StageVisit
    seconds: int


def present(
    uow: UnitOfWork,
    who: Principal,
    applications: list[Application],
    *,
    jobs: dict[str, Job] | None = None,
    candidates: dict[str, User] | None = None,
) -> list[ApplicationSeen]:
    """The applications as `who` sees them; the jobs and candidates not given read together in one
    batch (a candidate's own account, as this request's authentication just read it, is not read
    again)."""
    known = jobs or {}
    caller = recent_account(uow, who.user_id)
    candidates = {**({caller.id: caller} if caller is not None else {}), **(candidates or {})}
    jobs_read, candidates_read = uow.jobs.get_many_with_users(
        (a.job_id for a in applications if a.job_id not in known),
        (a.candidate_id for a in applications if a.candidate_id not in candidates),
    )
    jobs, candidates = {**jobs_read, **known}, {**candidates, **candidates_read}
    seen = []
    for application in applications:
        job = jobs.get(application.job_id)
        seen.append(
            ApplicationSeen(
                application,
                application.allowed_transitions_for(who, job),
                job.stage(application.stage_id) if job is not None else None,
                candidates.get(application.candidate_id),
                job,
                internal=not application.is_candidate(who),
            )
        )
    return seen


def _no_open_job() -> NotFound:
    return NotFound("Job not found.", details=[{"field": "job_id", "message": "no open job with this id"}])


def apply(ctx: SignedIn, *, job_id: str, cover_letter: str | None = None) -> ApplicationSeen:
    uow, who = ctx.uow, ctx.who
    if who.role != Role.CANDIDATE:
        raise PermissionDenied("Only candidates apply to jobs.")

    def write() -> tuple[Application, Job]:
        with uow:
            job = uow.jobs.get(job_id)
            if job is None or not job.is_visible_to(who):
                raise _no_open_job()
            application = Application.submit(job=job, candidate=who, cover_letter=cover_letter)
            # Closed or deleted since it was read: no application lands after the close commits.
            uow.jobs.require(job.id, statuses=(JobStatus.OPEN,), stage_id=application.stage_id, failure=_no_open_job())
            uow.applications.add(application)
            commit(uow, ctx.settings)
        return application, job

    # Concurrent applies all check the job's item: on DynamoDB they may collide, and are tried again.
    application, job = versioned_write(write)
    return present(uow, who, [application], jobs={job.id: job})[0]


def _visible_application(
    uow: UnitOfWork, application_id: str, who: Principal, *, candidate: bool = False
) -> tuple[Application, Job | None, dict[str, User]]:
    """The application if `who` may see it, and its job; with `candidate`, its candidate too
    (unless it is the caller, whose account present() has), read with the job in one batch: one
    round trip, not two."""
    application = uow.applications.get(application_id)
    if application is None:
        raise NotFound("Application not found.")
    if candidate and not application.is_candidate(who):
        job, candidates = uow.jobs.get_with_users(application.job_id, [application.candidate_id])
    else:
        job, candidates = uow.jobs.get(application.job_id), {}
    if not application.is_visible_to(who, job):
        raise NotFound("Application not found.")
    return application, job, candidates


def get_application(ctx: SignedIn, application_id: str) -> ApplicationSeen:
    with ctx.uow as uow:
        application, job, candidates = _visible_application(uow, application_id, ctx.who, candidate=True)
        jobs = {job.id: job} if job is not None else None
        return present(uow, ctx.who, [application], jobs=jobs, candidates=candidates)[0]


def get_history(ctx: SignedIn, application_id: str, *, limit: int, cursor: str | None = None) -> Page[HistoryEntrySeen]:
    """The application's changes, oldest first, a page at a time, each with its actor: the
    application read with the page, then its job with the page's actors (two round trips)."""
    with ctx.uow as uow:
        read: list[Application] = []  # the application paginate's one fetch read with the page

        def entries(n: int, last: str | None) -> list[HistoryEntry]:
            application, found = uow.applications.with_history(application_id, limit=n, after=last)
            if application is None:
                raise NotFound("Application not found.")
            read.append(application)
            return found

        page = paginate(entries, limit=limit, cursor=cursor, secret=ctx.settings.jwt_secret)
        (application,) = read
        job, actors = uow.jobs.get_with_users(application.job_id, (entry.actor_id for entry in page.items))
        if not application.is_visible_to(ctx.who, job):
            raise NotFound("Application not found.")
    internal = not application.is_candidate(ctx.who)
    return Page(
        [HistoryEntrySeen(entry, actors.get(entry.actor_id), internal) for entry in page.items], page.next_cursor
    )


def get_visits(ctx: SignedIn, application_id: str) -> list[VisitSeen]:
    """Every stage the application was in, oldest first, with how long."""
    with ctx.uow as uow:
        _visible_application(uow, application_id, ctx.who)
        visits = uow.applications.visits(application_id)
    now = utc_now()
    return [VisitSeen(visit, round(seconds_between(visit.entered_at, visit.exited_at or now))) for visit in visits]


def _change(
    ctx: SignedIn,
    application_id: str,
    decide: Callable[[Application, Job], None],
    *,
    if_match: int | None,
    retry: bool = True,
) -> ApplicationSeen:
    """Read the application and its job, let `decide` change it (the domain's rules), and commit it
    with its history, visits, counters and events; decided again on a conflict unless If-Match."""

    uow = ctx.uow

    def write() -> tuple[Application, Job, dict[str, User]]:
        with uow:
            application, job, candidates = _visible_application(uow, application_id, ctx.who, candidate=True)
            if job is None:  # a deleted job is kept (deleted_at): this is a store missing an item
                raise NotFound("Job not found.")
            check_version(application.version, if_match)
            decide(application, job)
            if application.status != ApplicationStatus.WITHDRAWN:
                # Deleted, or its stage removed, since it was read: decided again, and refused then.
                entered = application.stage_id if application.status != ApplicationStatus.REJECTED else None
                changed = ConcurrencyError("The job changed while the application moved; try again.")
                uow.jobs.require(job.id, stage_id=entered, failure=changed)
            uow.applications.save(application)
            commit(uow, ctx.settings)
        return application, job, candidates

    application, job, candidates = versioned_write(write, if_match=if_match, retry=retry)
    return present(uow, ctx.who, [application], jobs={job.id: job}, candidates=candidates)[0]


def change_status(
    ctx: SignedIn,
    application_id: str,
    *,
    status: ApplicationStatus,
    reason: str | None = None,
    expected_version: int | None = None,
    if_match: int | None = None,
) -> ApplicationSeen:
    """The original routes' move; without a version to hold it to (If-Match, expected_version),
    decided again on a conflict."""

    def decide(application: Application, job: Job) -> None:
        if expected_version is not None and expected_version != application.version:
            raise ConcurrencyError(f"The application is at version {application.version}, not {expected_version}.")
        application.change_status(to=status, actor=ctx.who, reason=reason, job=job)

    return _change(ctx, application_id, decide, if_match=if_match, retry=expected_version is None)


def move(
    ctx: SignedIn,
    application_id: str,
    *,
    from_stage_id: str,
    to_stage_id: str,
    note: str | None = None,
    if_match: int | None = None,
) -> ApplicationSeen:
    """To a stage of its job: refused (409 stage_mismatch) unless it is still in `from_stage_id`,
    so of two moves decided on the same read, one lands."""

    def decide(application: Application, job: Job) -> None:
        application.move(job, actor=ctx.who, from_stage_id=from_stage_id, to_stage_id=to_stage_id, note=note)

    return _change(ctx, application_id, decide, if_match=if_match)


def reject(
    ctx: SignedIn,
    application_id: str,
    *,
    rejection_reason_id: str,
    note: str | None = None,
    email: RejectionEmail = SEND_NOW,
    if_match: int | None = None,
) -> ApplicationSeen:
    def decide(application: Application, job: Job) -> None:
        application.check_mover(ctx.who, job)
        if ctx.uow.rejection_reasons.get(rejection_reason_id) is None:
            raise _no_reason()
        application.reject(job, actor=ctx.who, rejection_reason_id=rejection_reason_id, note=note, email=email)

    return _change(ctx, application_id, decide, if_match=if_match)


def unreject(
    ctx: SignedIn,
    application_id: str,
    *,
    note: str | None = None,
    if_match: int | None = None,
) -> ApplicationSeen:
    """Back to the stage it was rejected in; a rejection email still waiting is cancelled with it."""

    def decide(application: Application, job: Job) -> None:
        waiting = application.unreject(job, actor=ctx.who, note=note)
        if waiting is not None and ctx.uow.scheduled_events.is_scheduled(waiting):
            ctx.uow.scheduled_events.cancel(waiting)

    return _change(ctx, application_id, decide, if_match=if_match)


def _no_reason() -> ValidationFailed:
    return ValidationFailed(
        "Unknown rejection reason.",
        details=[{"field": "rejection_reason_id", "message": "no rejection reason with this id"}],
    )


def list_applications(
    ctx: Context,
    *,
    limit: int,
    cursor: str | None = None,
    job_id: str | None = None,
    status: str | None = None,
) -> Page[ApplicationSeen]:
    """A candidate's own applications; a team member's: those of every job they see the
    applications of; an admin's: all."""
    who = ctx.who
    if who is None:
        raise AuthenticationFailed("Sign in to list applications.", code="not_authenticated")
    with ctx.uow as uow:
        if who.role == Role.CANDIDATE:
            query = ApplicationQuery(candidate_id=who.user_id, job_id=job_id, status=status)
        elif job_id is not None:
            job = uow.jobs.get(job_id)
            if job is None or not job.may(who, Action.SEE_APPLICATIONS):
                raise NotFound("Job not found.")
            query = ApplicationQuery(job_id=job_id, status=status)
        elif who.role == Role.RECRUITER:
            jobs = tuple(
                member_job
                for member_job, role in uow.jobs.member_jobs(who.user_id)
                if may(Action.SEE_APPLICATIONS, role=role)
            )
            query = ApplicationQuery(job_ids=jobs, status=status)
        else:
            query = ApplicationQuery(status=status)
        page = paginate(
            lambda n, before: uow.applications.page(query, limit=n, before=before),
            limit=limit,
            cursor=cursor,
            secret=ctx.settings.jwt_secret,
        )
        return Page(present(uow, who, page.items), page.next_cursor)
