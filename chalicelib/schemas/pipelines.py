"""Pipelines: a job's stages and team, pipeline templates, rejection reasons, the funnel."""

from typing import Annotated, Literal

from pydantic import Field, field_validator

from ..domain.pipeline import STAGE_EMAILS, StageKind
from ..domain.rejection import RejectionType
from ..domain.team import TeamRole
from . import FROM_VALUE, AbsentOr, Body, Changes, Id, Out, Query, Text, check_id, check_optional_id

StageKindName = Annotated[StageKind, FROM_VALUE]
TeamRoleName = Annotated[TeamRole, FROM_VALUE]
RejectionTypeName = Annotated[RejectionType, FROM_VALUE]
StageEmail = Literal[STAGE_EMAILS]  # type: ignore[valid-type]  # the templates a stage may send


class StageIn(Body):
    """A stage of a new pipeline: with the id of an existing stage to keep it, without for a new one."""

    id: Id | None = None
    name: Annotated[str, Text(100, 1)]
    kind: StageKindName
    email_template: StageEmail | None = Field(
        None,
        description="the email the candidate gets on entering it (default: its kind's, when the kind changes)",
    )

    _id = field_validator("id")(check_optional_id)


class TemplateStageIn(Body):
    name: Annotated[str, Text(100, 1)]
    kind: StageKindName
    email_template: StageEmail | None = None


class StagesRequest(Body):
    stages: Annotated[list[StageIn], Field(min_length=1, max_length=30)]


class StageOut(Out):
    id: str
    name: str
    kind: StageKindName
    email_template: str | None = None


class StageList(Out):
    items: list[StageOut]
    next_cursor: None = None


class MemberIn(Body):
    user_id: Id
    role: TeamRoleName

    _id = field_validator("user_id")(check_id)


class TeamRequest(Body):
    members: Annotated[list[MemberIn], Field(min_length=1, max_length=50)]


class MemberOut(Out):
    user_id: str
    role: TeamRoleName
    name: str | None
    email: str | None


class MemberEnvelope(Out):
    member: MemberOut


class TeamList(Out):
    items: list[MemberOut]
    next_cursor: None = None


class TemplateRequest(Body):
    name: Annotated[str, Text(100, 1)]
    stages: Annotated[list[TemplateStageIn], Field(min_length=1, max_length=30)]


class TemplateOut(Out):
    id: str
    name: str
    stages: list[StageOut]
    created_at: str


class TemplateEnvelope(Out):
    pipeline_template: TemplateOut


class TemplatePage(Out):
    items: list[TemplateOut]
    next_cursor: str | None


class ReasonRequest(Body):
    name: Annotated[str, Text(100, 1)]
    type: RejectionTypeName


class ReasonUpdateRequest(Changes):
    name: AbsentOr[Annotated[str, Text(100, 1)]] = None
    type: AbsentOr[RejectionTypeName] = None


class ReasonOut(Out):
    id: str
    name: str
    type: RejectionTypeName
    version: int
    created_at: str
    updated_at: str


class ReasonEnvelope(Out):
    rejection_reason: ReasonOut


class ReasonPage(Out):
    items: list[ReasonOut]
    next_cursor: str | None


class ListQuery(Query):
    """A plain page of a list."""


class StageFunnelOut(Out):
    stage_id: str
    name: str
    kind: StageKindName
    current: int = Field(description="active applications in the stage now")
    entered: int = Field(description="applications that ever entered the stage")
    median_seconds: int | None = Field(description="median length of a finished visit (within 9 %)")


class FunnelOut(Out):
    stages: list[StageFunnelOut]
    rejected: int
    withdrawn: int
    hired: int
    median_seconds_to_hire: int | None


class FunnelEnvelope(Out):
    funnel: FunnelOut
