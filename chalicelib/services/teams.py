"""A job's hiring team: read it, replace it, add, change and remove a member."""

from collections.abc import Callable
from dataclasses import dataclass

from ..domain.errors import NotFound, ValidationFailed
from ..domain.models import Job, Role, User
from ..domain.team import TeamMember, check_team
from ..storage import UnitOfWork
from .context import SignedIn
from .jobs import visible_job
from .outbox import commit
from .versions import check_version, versioned_write

STAFF = (Role.RECRUITER, Role.ADMIN)


@dataclass(frozen=True)
class MemberSeen:
    """A member with the account's name and email."""

    member: TeamMember
    user: User | None

    @property
    def user_id(self) -> str:
        return self.member.user_id

    @property
    def role(self) -> str:
        return str(self.member.role)

    @property
    def name(self) -> str | None:
        return None if self.user is None else self.user.name

    @property
    def email(self) -> str | None:
        return None if self.user is None else self.user.email


def _seen(uow: UnitOfWork, members: list[TeamMember]) -> list[MemberSeen]:
    users = uow.users.get_many(member.user_id for member in members)
    return [MemberSeen(member, users.get(member.user_id)) for member in members]


def get_team(ctx: SignedIn, job_id: str) -> list[MemberSeen]:
    with ctx.uow as uow:
        job = visible_job(uow, job_id, ctx.who)
        job.check_team_visible_to(ctx.who)
        return _seen(uow, job.team)


def _change_team(
    ctx: SignedIn,
    job_id: str,
    change: Callable[[list[TeamMember]], list[TeamMember]],
    if_match: int | None,
    field: Callable[[int], str] = lambda index: f"members.{index}.user_id",
) -> list[MemberSeen]:
    """Read the job, check who asks and If-Match, let `change` make the new team, and save it with
    its member items; every new member must be an active staff account, checked again at commit."""

    uow = ctx.uow

    def write() -> Job:
        with uow:
            job = visible_job(uow, job_id, ctx.who)
            job.check_managed_by(ctx.who)
            check_version(job.version, if_match)
            before = list(job.team)
            members = change(before)
            check_team(members)  # named once, a recruiter kept: before the accounts are looked up
            _check_staff(uow, [member for member in members if member not in before], members, field)
            job.replace_team(members)
            uow.jobs.save(job, team_before=before)
            commit(uow, ctx.settings)
            return job

    job = versioned_write(write, if_match=if_match)
    with uow:
        return _seen(uow, job.team)


def _check_staff(
    uow: UnitOfWork, added: list[TeamMember], members: list[TeamMember], field: Callable[[int], str]
) -> None:
    """Each added member is an active recruiter or admin: 422 naming the body's field if not."""
    accounts = uow.users.get_many(member.user_id for member in added)
    for member in added:
        account = accounts.get(member.user_id)
        if account is None or not account.active or account.role not in STAFF:
            raise ValidationFailed(
                "A team member must be an active recruiter or admin account.",
                details=[{"field": field(members.index(member)), "message": "not an active staff account"}],
            )
        uow.users.require_staff(member.user_id)


def replace_team(ctx: SignedIn, job_id: str, members: list[TeamMember], if_match=None) -> list[MemberSeen]:
    return _change_team(ctx, job_id, lambda _: list(members), if_match)


def add_member(ctx: SignedIn, job_id: str, member: TeamMember, if_match=None) -> MemberSeen:
    """Add the member, or give a member their new role."""

    def change(team: list[TeamMember]) -> list[TeamMember]:
        others = [m for m in team if m.user_id != member.user_id]
        return (
            [*others, member]
            if len(others) == len(team)
            else [member if m.user_id == member.user_id else m for m in team]
        )

    seen = _change_team(ctx, job_id, change, if_match, field=lambda _: "user_id")
    return next(m for m in seen if m.user_id == member.user_id)


def remove_member(ctx: SignedIn, job_id: str, user_id: str, if_match=None) -> None:
    def change(team: list[TeamMember]) -> list[TeamMember]:
        if all(member.user_id != user_id for member in team):
            raise NotFound("No such member of this job's team.")
        return [member for member in team if member.user_id != user_id]

    _change_team(ctx, job_id, change, if_match)
