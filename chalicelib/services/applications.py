"""Applications: apply, move through the pipeline, read, list, history."""

from dataclasses import dataclass

from ..config import Settings
from ..domain.errors import AuthenticationFailed, ConcurrencyError, JobDeleted, NotFound, PermissionDenied
from ..domain.models import Application, HistoryEntry, Job, JobStatus, Principal, Role, User, allowed_after_job_deleted
from ..domain.pipeline import ApplicationStatus
from ..storage import ApplicationQuery, UnitOfWork
from .outbox import commit
from .pagination import Page, paginate
from .versions import check_version, versioned_write


@dataclass(frozen=True)
class ApplicationSeen:
    """An application as one caller sees it: what they may do next, its candidate and its job."""

    application: Application
    allowed_transitions: list[ApplicationStatus]
    candidate: User | None
    job: Job | None

    def __getattr__(self, name: str):  # the application's own fields, for rendering
        return _read_through(self, "application", name)


@dataclass(frozen=True)
class HistoryEntrySeen:
    """A history entry with the account that made the change."""

    entry: HistoryEntry
    actor: User | None

    def __getattr__(self, name: str):
        return _read_through(self, "entry", name)


def _read_through(seen, inner: str, name: str):
    if name.startswith("__"):  # copy and pickle probe for these before the fields exist
        raise AttributeError(name)
    return getattr(object.__getattribute__(seen, inner), name)


def present(
    uow: UnitOfWork, who: Principal, applications: list[Application], *, jobs: dict[str, Job] | None = None
) -> list[ApplicationSeen]:
    """The applications as `who` sees them; their candidates and jobs in one batch read each."""
    known = jobs or {}
    jobs = {**uow.jobs.get_many(a.job_id for a in applications if a.job_id not in known), **known}
    candidates = uow.users.get_many(a.candidate_id for a in applications)
    seen = []
    for application in applications:
        job = jobs.get(application.job_id)
        allowed = application.allowed_transitions_for(who, job_deleted=job is None or job.deleted_at is not None)
        seen.append(ApplicationSeen(application, allowed, candidates.get(application.candidate_id), job))
    return seen


def _no_open_job() -> NotFound:
    return NotFound("Job not found.", details=[{"field": "job_id", "message": "no open job with this id"}])


def apply(
    uow: UnitOfWork, settings: Settings, who: Principal, *, job_id: str, cover_letter: str | None = None
) -> ApplicationSeen:
    if who.role != Role.CANDIDATE:
        raise PermissionDenied("Only candidates apply to jobs.")

    def write() -> tuple[Application, Job]:
        with uow:
            job = uow.jobs.get(job_id)
            if job is None or not job.is_visible_to(who):
                raise _no_open_job()
            application = Application.submit(job=job, candidate=who, cover_letter=cover_letter)
            # Closed or deleted since it was read: no application lands after the close commits.
            uow.jobs.require(job.id, statuses=(JobStatus.OPEN,), failure=_no_open_job())
            uow.applications.add(application)
            commit(uow, settings)
        return application, job

    # Concurrent applies all check the job's item: on DynamoDB they may collide, and are tried again.
    application, job = versioned_write(write)
    return present(uow, who, [application], jobs={job.id: job})[0]


def _visible_application(uow: UnitOfWork, application_id: str, who: Principal) -> Application:
    application = uow.applications.get(application_id)
    if application is None or not application.is_visible_to(who):
        raise NotFound("Application not found.")
    return application


def get_application(uow: UnitOfWork, application_id: str, who: Principal) -> ApplicationSeen:
    with uow:
        return present(uow, who, [_visible_application(uow, application_id, who)])[0]


def get_history(
    uow: UnitOfWork, settings: Settings, application_id: str, who: Principal, *, limit: int, cursor: str | None = None
) -> Page[HistoryEntrySeen]:
    """The application's status changes, oldest first, a page at a time, each with its actor."""
    with uow:
        _visible_application(uow, application_id, who)
        page = paginate(
            lambda n, last: uow.applications.history(application_id, limit=n, after=last),
            limit=limit,
            cursor=cursor,
            secret=settings.jwt_secret,
        )
        actors = uow.users.get_many(entry.actor_id for entry in page.items)
    return Page([HistoryEntrySeen(entry, actors.get(entry.actor_id)) for entry in page.items], page.next_cursor)


def change_status(
    uow: UnitOfWork,
    settings: Settings,
    who: Principal,
    *,
    application_id: str,
    status: ApplicationStatus,
    reason: str | None = None,
    expected_version: int | None = None,
    if_match: int | None = None,
) -> ApplicationSeen:
    """A move; without a version to hold it to (If-Match, expected_version), decided again on a conflict."""

    def write() -> tuple[Application, Job]:
        with uow:
            application = _visible_application(uow, application_id, who)
            check_version(application.version, if_match)
            if expected_version is not None and expected_version != application.version:
                raise ConcurrencyError(f"The application is at version {application.version}, not {expected_version}.")
            job = uow.jobs.get(application.job_id)
            if job is None:  # a deleted job is kept (deleted_at): this is a store missing an item
                raise NotFound("Job not found.")
            application.change_status(
                to=status, actor=who, reason=reason, job_title=job.title, job_deleted=job.deleted_at is not None
            )
            if not allowed_after_job_deleted(status):  # deleted since it was read: refused
                uow.jobs.require(job.id, failure=JobDeleted())
            uow.applications.save(application)
            commit(uow, settings)
        return application, job

    application, job = versioned_write(write, if_match=if_match, retry=expected_version is None)
    return present(uow, who, [application], jobs={job.id: job})[0]


def list_applications(
    uow: UnitOfWork,
    settings: Settings,
    who: Principal | None,
    *,
    limit: int,
    cursor: str | None = None,
    job_id: str | None = None,
    status: str | None = None,
) -> Page[ApplicationSeen]:
    """A candidate's own applications; a recruiter's jobs' applications; an admin's: all."""
    if who is None:
        raise AuthenticationFailed("Sign in to list applications.", code="not_authenticated")
    with uow:
        if who.role == Role.CANDIDATE:
            query = ApplicationQuery(candidate_id=who.user_id, job_id=job_id, status=status)
        elif job_id is not None:
            job = uow.jobs.get(job_id)
            if job is None or not job.is_managed_by(who):
                raise NotFound("Job not found.")
            query = ApplicationQuery(job_id=job_id, status=status)
        elif who.role == Role.RECRUITER:
            query = ApplicationQuery(recruiter_id=who.user_id, status=status)
        else:
            query = ApplicationQuery(status=status)
        page = paginate(
            lambda n, before: uow.applications.page(query, limit=n, before=before),
            limit=limit,
            cursor=cursor,
            secret=settings.jwt_secret,
        )
        return Page(present(uow, who, page.items), page.next_cursor)
