"""A job's hiring team, and who of it may do what (API.md §2): the one table every check reads."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .errors import Conflict, ValidationFailed


class TeamRole(StrEnum):
    RECRUITER = "recruiter"
    COORDINATOR = "coordinator"
    HIRING_MANAGER = "hiring_manager"
    INTERVIEWER = "interviewer"


class Action(StrEnum):
    EDIT_JOB = "edit_job"  # the job, its stages and its team
    SEE_APPLICATIONS = "see_applications"  # and their candidates
    MOVE = "move"  # move, reject, unreject
    NOTES = "notes"
    SCHEDULE_INTERVIEWS = "schedule_interviews"
    SUBMIT_SCORECARD = "submit_scorecard"  # one's own
    MANAGE_OFFERS = "manage_offers"  # draft and send
    APPROVE_OFFERS = "approve_offers"


R, C, H, V = TeamRole.RECRUITER, TeamRole.COORDINATOR, TeamRole.HIRING_MANAGER, TeamRole.INTERVIEWER

# Who may do what: API.md §2's table. Two cells depend on more than the role, and say so:
# an interviewer sees (and scores) only the applications they interview (ASSIGNED), and offers
# are approved by their named approvers (checked by the offer, not by the team).
ASSIGNED = "assigned"
TEAM_MAY: dict[Action, dict[TeamRole, bool | str]] = {
    Action.EDIT_JOB: {R: True},
    Action.SEE_APPLICATIONS: {R: True, C: True, H: True, V: ASSIGNED},
    Action.MOVE: {R: True, C: True, H: True},
    Action.NOTES: {R: True, C: True, H: True, V: True},
    Action.SCHEDULE_INTERVIEWS: {R: True, C: True},
    Action.SUBMIT_SCORECARD: {R: True, C: True, H: True, V: ASSIGNED},
    Action.MANAGE_OFFERS: {R: True},
    Action.APPROVE_OFFERS: {},
}
ADMIN_MAY = frozenset(set(Action) - {Action.SUBMIT_SCORECARD})  # an admin scores nobody's interview


def may(action: Action, *, role: TeamRole | None, admin: bool = False, assigned: bool = False) -> bool:
    """Whether a caller with this team role (None: not on the team) may do the action; `assigned`:
    the caller interviews the application in question."""
    if admin:
        return action in ADMIN_MAY
    if role is None:
        return False
    allowed = TEAM_MAY[action].get(role, False)
    return allowed is True or (allowed == ASSIGNED and assigned)


@dataclass(frozen=True)
class TeamMember:
    user_id: str
    role: TeamRole

    def as_dict(self) -> dict:
        return {"user_id": self.user_id, "role": str(self.role)}

    @classmethod
    def from_dict(cls, data: dict) -> "TeamMember":
        return cls(data["user_id"], TeamRole(data["role"]))


MAX_MEMBERS = 50


def check_team(members: Sequence[TeamMember]) -> None:
    """A team names each member once, and keeps at least one recruiter (409 last_recruiter)."""
    if len(members) > MAX_MEMBERS:
        raise ValidationFailed(
            f"A team has at most {MAX_MEMBERS} members.", details=[{"field": "members", "message": "too many"}]
        )
    for index, member in enumerate(members):
        if any(other.user_id == member.user_id for other in members[:index]):
            raise ValidationFailed(
                "A member is named twice.",
                details=[{"field": f"members.{index}.user_id", "message": "named twice"}],
            )
    if not any(member.role == TeamRole.RECRUITER for member in members):
        raise Conflict("A job keeps at least one recruiter on its team.", code="last_recruiter")


def role_of(members: Iterable[TeamMember], user_id: str) -> TeamRole | None:
    return next((member.role for member in members if member.user_id == user_id), None)
