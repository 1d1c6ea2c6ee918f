"""Jobs: publish, read, list, change, delete."""

from collections.abc import Callable

from ..domain.errors import AuthenticationFailed, NotFound, ValidationFailed
from ..domain.models import Job, JobStatus, Principal, Role
from ..domain.pipeline import Stage
from ..storage import JobQuery, UnitOfWork
from .context import Context, SignedIn
from .outbox import commit
from .pagination import Page, paginate
from .versions import check_version, versioned_write


def create_job(ctx: SignedIn, *, template_id: str | None = None, **fields) -> Job:
    """A new job, with the default pipeline or a template's (its stages with fresh ids)."""
    with ctx.uow as uow:
        job = Job.publish(owner=ctx.who, stages=template_stages(uow, template_id), **fields)
        uow.jobs.add(job)
        commit(uow, ctx.settings)
    return job


def template_stages(uow: UnitOfWork, template_id: str | None) -> list[Stage] | None:
    """The stages a new job takes from a template (fresh ids); None: no template asked for."""
    if template_id is None:
        return None
    template = uow.pipeline_templates.get(template_id)
    if template is None:
        raise ValidationFailed(
            "No such pipeline template.", details=[{"field": "template_id", "message": "no template with this id"}]
        )
    return template.fresh_stages()


def visible_job(uow: UnitOfWork, job_id: str, who: Principal | None) -> Job:
    """The job, if `who` may see it; else NotFound (whether or not it exists)."""
    job = uow.jobs.get(job_id)
    if job is None or not job.is_visible_to(who):
        raise NotFound("Job not found.")
    return job


def get_job(ctx: Context, job_id: str) -> Job:
    """A job its reader may see; a candidate also keeps seeing a job they applied to after it closed.

    The public (anonymous and candidates) read it eventually consistent: a job page a moment old
    is harmless, and the hiring side, who edit it with If-Match, read what they last wrote."""
    who = ctx.who
    public = who is None or who.role == Role.CANDIDATE
    with ctx.uow as uow:
        job = uow.jobs.get(job_id, consistent=not public)
        if job is not None and (job.is_visible_to(who) or _applied_to(uow, who, job)):
            return job
        raise NotFound("Job not found.")


def _applied_to(uow: UnitOfWork, who: Principal | None, job: Job) -> bool:
    return (
        who is not None
        and who.role == Role.CANDIDATE
        and job.deleted_at is None
        and uow.applications.has_applied(who.user_id, job.id)
    )


def _change_job(ctx: SignedIn, job_id: str, if_match: int | None, change: Callable[[Job], None] | None) -> Job:
    """Read the job, check who asks and If-Match, apply `change` (None: nothing to write) and save it."""

    def write() -> Job:
        with ctx.uow as uow:
            job = visible_job(uow, job_id, ctx.who)
            job.check_managed_by(ctx.who)
            check_version(job.version, if_match)
            if change is not None:
                change(job)
                uow.jobs.save(job)
                commit(uow, ctx.settings)
            return job

    return versioned_write(write, if_match=if_match)


def update_job(ctx: SignedIn, job_id: str, changes: dict, if_match: int | None = None) -> Job:
    return _change_job(ctx, job_id, if_match, (lambda job: job.update(changes)) if changes else None)


def delete_job(ctx: SignedIn, job_id: str, if_match: int | None = None) -> None:
    _change_job(ctx, job_id, if_match, Job.delete)


def list_jobs(
    ctx: Context,
    *,
    limit: int,
    cursor: str | None = None,
    status: str | None = None,
    mine: bool = False,
    q: str | None = None,
    location: str | None = None,
    department: str | None = None,
) -> Page[Job]:
    """Open jobs for everyone; a recruiter also sees own drafts and closed jobs; an admin sees all."""
    who = ctx.who
    filters = dict(q=q, location=location, department=department)
    statuses = (status,) if status else None
    if mine:
        if who is None:
            raise AuthenticationFailed("Sign in to list your own jobs.", code="not_authenticated")
        queries = [JobQuery(owner_id=who.user_id, statuses=statuses, **filters)]
    elif who is not None and who.role == Role.ADMIN:
        queries = [JobQuery(statuses=statuses, **filters)]
    elif who is not None and who.role == Role.RECRUITER and status != JobStatus.OPEN:
        # One query per status: each is one index range, already newest first.
        queries = [
            JobQuery(owner_id=who.user_id, statuses=(hidden,), **filters)
            for hidden in statuses or (JobStatus.DRAFT, JobStatus.CLOSED)
        ]
        if status is None:  # open jobs (anyone's) merged with the recruiter's own others
            queries.append(JobQuery(statuses=(JobStatus.OPEN,), **filters))
    elif status in (None, JobStatus.OPEN):
        queries = [JobQuery(statuses=(JobStatus.OPEN,), **filters)]
    else:
        queries = []  # drafts and closed jobs of others are nobody's business

    def fetch(n: int, before: str | None) -> list[Job]:
        return ctx.uow.jobs.page(*queries, limit=n, before=before) if queries else []

    with ctx.uow:
        return paginate(fetch, limit=limit, cursor=cursor, secret=ctx.settings.jwt_secret)
