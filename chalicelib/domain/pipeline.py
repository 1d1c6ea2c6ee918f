"""The hiring pipeline: a job's ordered stages, the statuses they give an application, and which
move the original status routes may make (DESIGN.md §5, API.md §2)."""

import hashlib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .errors import ValidationFailed
from .ids import crockford, is_id


class ApplicationStatus(StrEnum):
    APPLIED = "applied"
    SCREENING = "screening"
    SHORTLISTED = "shortlisted"
    SELECTED = "selected"
    HIRED = "hired"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class StageKind(StrEnum):
    """What a stage is, in the order a pipeline goes through them: the original active statuses."""

    APPLIED = "applied"
    SCREENING = "screening"
    SHORTLISTED = "shortlisted"
    SELECTED = "selected"
    HIRED = "hired"


KIND_ORDER = {kind: position for position, kind in enumerate(StageKind)}
OUTCOMES = frozenset({ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN})  # kept beside the stage
FINAL = frozenset({ApplicationStatus.HIRED, ApplicationStatus.WITHDRAWN})  # nothing moves it again
MAX_STAGES = 30
# The emails a stage may name for the candidate entering it (messaging/templates/<name>.txt/.html).
STAGE_EMAILS = ("status_screening", "status_shortlisted", "status_selected", "status_hired", "stage_update")


@dataclass(frozen=True)
class Stage:
    """One step of a job's pipeline. `email_template` names the email the candidate gets on entering
    it (None: the email of its kind; see messaging/templates)."""

    id: str
    name: str
    kind: StageKind
    email_template: str | None = None

    def as_dict(self) -> dict:
        found = {"id": self.id, "name": self.name, "kind": str(self.kind)}
        if self.email_template is not None:
            found["email_template"] = self.email_template
        return found

    @classmethod
    def from_dict(cls, data: dict) -> "Stage":
        return cls(data["id"], data["name"], StageKind(data["kind"]), data.get("email_template"))


def default_names() -> list[tuple[str, StageKind]]:
    """The pipeline a new job starts with: one stage of each kind, named after it."""
    return [(kind.value.capitalize(), kind) for kind in StageKind]


def legacy_stage_id(job_id: str, kind: str) -> str:
    """The id of a default stage of a job stored before pipelines existed: a ULID derived from the
    job's id (its time part) and the kind, the same on every read, so those jobs' applications read
    as being in the stage of their status without a migration."""
    digest = int.from_bytes(hashlib.sha256(f"{job_id}:{kind}".encode()).digest()[:10], "big")
    return job_id[:10] + crockford(digest, 16)


def legacy_stages(job_id: str) -> list[Stage]:
    return [Stage(legacy_stage_id(job_id, kind), name, kind) for name, kind in default_names()]


def check_stages(stages: Sequence[Stage]) -> None:
    """The rules of a pipeline: the first stage is `applied`, kinds never go back along the list,
    exactly one `hired` and it is last; ids and names unique. ValidationFailed naming the stage."""

    def refuse(message: str, index: int | None = None) -> ValidationFailed:
        field = "stages" if index is None else f"stages.{index}"
        return ValidationFailed(f"Invalid pipeline: {message}.", details=[{"field": field, "message": message}])

    if not stages:
        raise refuse("a pipeline has at least an applied and a hired stage")
    if len(stages) > MAX_STAGES:
        raise refuse(f"at most {MAX_STAGES} stages")
    if stages[0].kind != StageKind.APPLIED:
        raise refuse("the first stage is of kind applied", 0)
    for index, (before, stage) in enumerate(itertools.pairwise(stages), start=1):
        if KIND_ORDER[stage.kind] < KIND_ORDER[before.kind]:
            raise refuse(f"kind {stage.kind} may not follow {before.kind}", index)
    hired = [index for index, stage in enumerate(stages) if stage.kind == StageKind.HIRED]
    if len(hired) != 1:
        raise refuse("exactly one stage is of kind hired", hired[1] if hired else None)
    if hired[0] != len(stages) - 1:
        raise refuse("the hired stage is the last", hired[0])
    ids: set[str] = set()
    names: set[str] = set()
    for index, stage in enumerate(stages):
        name = stage.name.casefold()
        if stage.id in ids:
            raise refuse("stage ids are unique", index)
        if name in names:
            raise refuse("stage names are unique", index)
        if not is_id(stage.id):
            raise refuse("not a valid id", index)
        ids.add(stage.id)
        names.add(name)


def first_of_kind(stages: Iterable[Stage], kind: str) -> Stage | None:
    return next((stage for stage in stages if stage.kind == kind), None)


def next_kind(kind: str, stages: Iterable[Stage]) -> StageKind | None:
    """The next kind after this one that the pipeline has: the original routes move forward one
    kind at a time (on the default pipeline, applied -> screening -> ... -> hired)."""
    later = [stage.kind for stage in stages if KIND_ORDER[stage.kind] > KIND_ORDER[StageKind(kind)]]
    return min(later, key=KIND_ORDER.__getitem__, default=None)


def status_targets(status: ApplicationStatus, stages: Sequence[Stage], *, candidate: bool) -> list[ApplicationStatus]:
    """What the original change-status routes may move an application to from `status`: the
    candidate withdraws; the hiring side moves forward one kind or rejects."""
    status = ApplicationStatus(status)
    if status in FINAL or status == ApplicationStatus.REJECTED:
        return []
    if candidate:
        return [ApplicationStatus.WITHDRAWN]
    following = next_kind(status, stages)
    forward = [ApplicationStatus(following)] if following is not None else []
    return [*forward, ApplicationStatus.REJECTED]
