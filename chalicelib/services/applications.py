"""Applications: apply, move through the pipeline, read, list, history."""
from ..config import Settings
from ..domain.errors import AuthenticationFailed, ConcurrencyError, NotFound, PermissionDenied
from ..domain.models import Application, HistoryEntry, Principal, Role
from ..domain.pipeline import ApplicationStatus
from ..storage import ApplicationQuery, UnitOfWork
from .jobs import check_version
from .outbox import commit
from .pagination import Page, paginate


def apply(uow: UnitOfWork, settings: Settings, who: Principal, *, job_id: str,
          cover_letter: str | None = None) -> Application:
    if who.role != Role.CANDIDATE:
        raise PermissionDenied("Only candidates apply to jobs.")
    with uow:
        job = uow.jobs.get(job_id)
        if job is None or not job.is_visible_to(who):
            raise NotFound("Job not found.", details=[{"field": "job_id", "message": "no open job with this id"}])
        application = Application.submit(job=job, candidate=who, cover_letter=cover_letter)
        uow.applications.add(application)
        commit(uow, settings)
    return application


def _visible_application(uow: UnitOfWork, application_id: str, who: Principal) -> Application:
    application = uow.applications.get(application_id)
    if application is None or not application.is_visible_to(who):
        raise NotFound("Application not found.")
    return application


def get_application(uow: UnitOfWork, application_id: str, who: Principal) -> Application:
    with uow:
        return _visible_application(uow, application_id, who)


def get_history(uow: UnitOfWork, application_id: str, who: Principal) -> list[HistoryEntry]:
    with uow:
        _visible_application(uow, application_id, who)
        return uow.applications.history(application_id)


def change_status(uow: UnitOfWork, settings: Settings, who: Principal, *, application_id: str,
                  status: ApplicationStatus, reason: str | None = None, expected_version: int | None = None,
                  if_match: int | None = None) -> Application:
    with uow:
        application = _visible_application(uow, application_id, who)
        check_version(application.version, if_match)
        if expected_version is not None and expected_version != application.version:
            raise ConcurrencyError(
                f"The application is at version {application.version}, not {expected_version}.")
        job = uow.jobs.get(application.job_id)
        application.change_status(to=status, actor=who, reason=reason, job_title=job.title)
        uow.applications.save(application)
        commit(uow, settings)
    return application


def list_applications(uow: UnitOfWork, settings: Settings, who: Principal | None, *, limit: int,
                      cursor: str | None = None, job_id: str | None = None,
                      status: str | None = None) -> Page[Application]:
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
        return paginate(lambda n, before: uow.applications.page(query, limit=n, before=before),
                        limit=limit, cursor=cursor, secret=settings.jwt_secret)
