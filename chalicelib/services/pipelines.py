"""Pipelines: a job's stages, the admins' pipeline templates and rejection reasons, and a job's funnel."""

from dataclasses import dataclass

from ..domain.errors import ConcurrencyError, Conflict, NotFound, PermissionDenied, ValidationFailed
from ..domain.funnel import HIRE, STAY, median_seconds
from ..domain.ids import new_id
from ..domain.models import Job, Principal, Role
from ..domain.pipeline import Stage, StageKind
from ..domain.rejection import PipelineTemplate, RejectionReason
from ..domain.team import Action
from .context import SignedIn
from .jobs import visible_job
from .outbox import commit
from .pagination import Page, paginate
from .versions import check_version, versioned_write

MAX_REMOVED_STAGES = 12  # in one change: each removed stage is checked on every shard of its counters


# --- Stages ---------------------------------------------------------------------------------------


def get_stages(ctx: SignedIn, job_id: str) -> list[Stage]:
    with ctx.uow as uow:
        job = visible_job(uow, job_id, ctx.who)
        job.check_team_visible_to(ctx.who)
        return job.stages


@dataclass(frozen=True)
class StageWanted:
    """A stage of a new pipeline as asked for: an existing one (its id) or a new one (no id)."""

    name: str
    kind: StageKind
    id: str | None = None
    email_template: str | None = None


def replace_stages(ctx: SignedIn, job_id: str, wanted: list[StageWanted], if_match=None) -> list[Stage]:
    """The job's new pipeline. A stage given by id keeps it (its applications stay in it); a stage
    left out is removed, and one whose kind changes is changed, only while no application is in it
    (409 stage_in_use), checked against its counters in the same transaction."""

    def write() -> Job:
        with ctx.uow as uow:
            job = visible_job(uow, job_id, ctx.who)
            job.check_managed_by(ctx.who)
            check_version(job.version, if_match)
            for index, stage in enumerate(wanted):
                if stage.id is not None and job.stage(stage.id) is None:
                    raise ValidationFailed(
                        "No such stage in this job's pipeline.",
                        details=[
                            {
                                "field": f"stages.{index}.id",
                                "message": "not a stage of this job (leave it out for a new one)",
                            }
                        ],
                    )
            stages = [Stage(s.id or new_id(), s.name, s.kind, s.email_template) for s in wanted]
            kinds_before = {stage.id: stage.kind for stage in job.stages}
            removed = job.replace_stages(stages)
            rekinded = [s.id for s in stages if s.id in kinds_before and kinds_before[s.id] != s.kind]
            emptied = removed + rekinded
            if len(emptied) > MAX_REMOVED_STAGES:
                raise ValidationFailed(
                    f"At most {MAX_REMOVED_STAGES} stages may be removed or change kind in one change.",
                    details=[{"field": "stages", "message": "too many stages removed at once"}],
                )
            moved_meanwhile = ConcurrencyError("An application moved while the pipeline changed; try again.")
            current = uow.funnels.require_unchanged(job.id, emptied, failure=moved_meanwhile)
            occupied = [stage_id for stage_id in emptied if current.get(stage_id, 0) > 0]
            if occupied:
                raise Conflict(
                    "A stage that holds applications can be neither removed nor changed to another kind.",
                    code="stage_in_use",
                    details=[{"field": "stages", "message": "holds applications", "stage_id": i} for i in occupied],
                )
            uow.jobs.save(job)
            commit(uow, ctx.settings)
            return job

    return versioned_write(write, if_match=if_match).stages


# --- Templates ------------------------------------------------------------------------------------


def _admin(who: Principal, what: str) -> None:
    if not who.is_admin:
        raise PermissionDenied(f"Only admins manage {what}.")


def _oldest_first(ctx: SignedIn, repository, *, limit: int, cursor: str | None) -> Page:
    """A page of one of the admins' short lists (templates, reasons), oldest first."""
    with ctx.uow:
        return paginate(
            lambda n, last: repository.page(limit=n, after=last),
            limit=limit,
            cursor=cursor,
            secret=ctx.settings.jwt_secret,
        )


def list_templates(ctx: SignedIn, *, limit: int, cursor: str | None = None) -> Page[PipelineTemplate]:
    _admin(ctx.who, "pipeline templates")
    return _oldest_first(ctx, ctx.uow.pipeline_templates, limit=limit, cursor=cursor)


def create_template(ctx: SignedIn, *, name: str, stages: list[StageWanted]) -> PipelineTemplate:
    _admin(ctx.who, "pipeline templates")
    template = PipelineTemplate.create(name=name, stages=[(s.name, s.kind, s.email_template) for s in stages])
    with ctx.uow as uow:
        uow.pipeline_templates.add(template)
        commit(uow, ctx.settings)
    return template


# --- Rejection reasons ----------------------------------------------------------------------------


def list_reasons(ctx: SignedIn, *, limit: int, cursor: str | None = None) -> Page[RejectionReason]:
    if ctx.who.role not in (Role.RECRUITER, Role.ADMIN):
        raise PermissionDenied("Only staff see rejection reasons.")
    return _oldest_first(ctx, ctx.uow.rejection_reasons, limit=limit, cursor=cursor)


def get_reason(ctx: SignedIn, reason_id: str) -> RejectionReason:
    if ctx.who.role not in (Role.RECRUITER, Role.ADMIN):
        raise NotFound("Rejection reason not found.")
    with ctx.uow as uow:
        reason = uow.rejection_reasons.get(reason_id)
    if reason is None:
        raise NotFound("Rejection reason not found.")
    return reason


def create_reason(ctx: SignedIn, *, name: str, type: str) -> RejectionReason:
    _admin(ctx.who, "rejection reasons")
    reason = RejectionReason.create(name=name, type=type)
    with ctx.uow as uow:
        uow.rejection_reasons.add(reason)
        commit(uow, ctx.settings)
    return reason


def update_reason(ctx: SignedIn, reason_id: str, changes: dict, if_match=None) -> RejectionReason:
    _admin(ctx.who, "rejection reasons")

    def write() -> RejectionReason:
        with ctx.uow as uow:
            reason = uow.rejection_reasons.get(reason_id)
            if reason is None:
                raise NotFound("Rejection reason not found.")
            check_version(reason.version, if_match)
            if changes:
                reason.update(changes)
                uow.rejection_reasons.save(reason)
                commit(uow, ctx.settings)
            return reason

    return versioned_write(write, if_match=if_match)


# --- Funnel ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageFunnel:
    stage_id: str
    name: str
    kind: str
    current: int
    entered: int
    median_seconds: int | None


@dataclass(frozen=True)
class Funnel:
    stages: list[StageFunnel]
    rejected: int
    withdrawn: int
    hired: int
    median_seconds_to_hire: int | None


def get_funnel(ctx: SignedIn, job_id: str) -> Funnel:
    """The job's funnel from its counters: a batch read of stages x shards items, whatever the
    number of applications."""
    with ctx.uow as uow:
        job = visible_job(uow, job_id, ctx.who)
        if not job.may(ctx.who, Action.SEE_APPLICATIONS):
            raise PermissionDenied("Only the job's hiring team or an admin sees its funnel.")
        by_stage, outcomes = uow.funnels.read(job.id, [stage.id for stage in job.stages])
    return Funnel(
        stages=[
            StageFunnel(
                stage_id=stage.id,
                name=stage.name,
                kind=str(stage.kind),
                current=by_stage[stage.id].get("current", 0),
                entered=by_stage[stage.id].get("entered", 0),
                median_seconds=median_seconds(by_stage[stage.id], STAY),
            )
            for stage in job.stages
        ],
        rejected=outcomes.get("rejected", 0),
        withdrawn=outcomes.get("withdrawn", 0),
        hired=outcomes.get("hired", 0),
        median_seconds_to_hire=median_seconds(outcomes, HIRE),
    )
