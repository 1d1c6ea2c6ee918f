"""Rejection reasons and pipeline templates: the lists admins keep for everyone's jobs (API.md §2)."""

from dataclasses import dataclass, field
from enum import StrEnum

from .ids import new_id, utc_now
from .pipeline import Stage, StageKind, check_stages


class RejectionType(StrEnum):
    WE_REJECTED = "we_rejected"
    THEY_WITHDREW = "they_withdrew"
    OTHER = "other"


@dataclass
class RejectionReason:
    """Why an application was rejected: internal, the team's words, never the candidate's."""

    id: str
    name: str
    type: RejectionType
    created_at: str
    updated_at: str
    version: int = 1

    @classmethod
    def create(cls, *, name: str, type: str) -> "RejectionReason":
        now = utc_now()
        return cls(id=new_id(), name=name, type=RejectionType(type), created_at=now, updated_at=now)

    def update(self, changes: dict) -> None:
        if "name" in changes:
            self.name = changes["name"]
        if "type" in changes:
            self.type = RejectionType(changes["type"])
        self.version += 1
        self.updated_at = utc_now()


# The default set, there before any admin adds one: fixed ids (ULIDs of time zero), so every
# installation and every backend names them alike; an admin's change is stored under the same id.
_EPOCH = "1970-01-01T00:00:00.000Z"
DEFAULT_REASONS = tuple(
    RejectionReason(f"000000000000000000000REJ{n:02d}", name, kind, _EPOCH, _EPOCH)
    for n, (name, kind) in enumerate(
        [
            ("Not a fit for the role", RejectionType.WE_REJECTED),
            ("Not enough experience", RejectionType.WE_REJECTED),
            ("Position filled", RejectionType.WE_REJECTED),
            ("Accepted another offer", RejectionType.THEY_WITHDREW),
            ("No longer interested", RejectionType.THEY_WITHDREW),
            ("Other", RejectionType.OTHER),
        ],
        start=1,
    )
)
DEFAULT_REASON_ID = DEFAULT_REASONS[-1].id  # "Other": what the original change-status routes reject with


@dataclass
class PipelineTemplate:
    """A named pipeline a job may start from (`template_id` on create): its stages get fresh ids."""

    id: str
    name: str
    stages: list[Stage] = field(default_factory=list)
    created_at: str = ""

    @classmethod
    def create(cls, *, name: str, stages: list[tuple[str, str, str | None]]) -> "PipelineTemplate":
        template = cls(
            id=new_id(),
            name=name,
            stages=[Stage(new_id(), stage_name, StageKind(kind), email) for stage_name, kind, email in stages],
            created_at=utc_now(),
        )
        check_stages(template.stages)
        return template

    def fresh_stages(self) -> list[Stage]:
        """The template's stages with new ids, for a new job."""
        return [Stage(new_id(), stage.name, stage.kind, stage.email_template) for stage in self.stages]
