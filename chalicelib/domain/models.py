"""Entities and the rules of who may see and change them."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from . import pipeline
from .errors import Conflict, InvalidTransition, JobDeleted, NotFound, PermissionDenied, ValidationFailed
from .events import ApplicationStatusChanged, ApplicationSubmitted, Event, UserRegistered
from .funnel import Tally
from .ids import new_id, seconds_between, utc_now
from .pipeline import FINAL, ApplicationStatus, Stage, StageKind
from .rejection import DEFAULT_REASON_ID
from .team import Action, TeamMember, TeamRole, check_team, may, role_of


class Role(StrEnum):
    CANDIDATE = "candidate"
    RECRUITER = "recruiter"
    ADMIN = "admin"


class JobStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the verified subject of a token, and the session (family) it was issued in
    under the user's token generation (None and 0 for a caller that holds no token: a command)."""

    user_id: str
    role: Role
    session_id: str | None = None
    generation: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def email_key(email: str) -> str:
    """The form under which an email is unique: one account per address, whatever its case."""
    return email.strip().casefold()


@dataclass
class User:
    """An account: a candidate, a recruiter or an admin."""

    id: str
    email: str
    name: str
    role: Role
    password_hash: str
    created_at: str
    phone: str | None = None  # E.164, as schemas/auth.py normalises it
    timezone: str | None = None  # an IANA name, e.g. Europe/Berlin
    email_verified_at: str | None = None
    deactivated_at: str | None = None
    password_changed_at: str | None = None
    # Revocation (docs/adr/0010): a token is good while it carries the user's generation, or is of
    # the kept session under the kept generation (a password change's caller), and its session is
    # not among the revoked (session id -> epoch second its last access token expires).
    token_generation: int = 0
    kept_session: str | None = None
    kept_generation: int | None = None
    revoked_sessions: dict[str, int] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def register(
        cls, *, email: str, name: str, role: Role, password_hash: str, verify_nonce: str | None = None
    ) -> "User":
        user = cls(
            id=new_id(),
            email=email.strip(),
            name=name,
            role=Role(role),
            password_hash=password_hash,
            created_at=utc_now(),
        )
        user.events.append(
            UserRegistered(user_id=user.id, email=user.email, name=user.name, role=user.role, verify_nonce=verify_nonce)
        )
        return user

    @property
    def email_key(self) -> str:
        return email_key(self.email)

    @property
    def active(self) -> bool:
        return self.deactivated_at is None

    @property
    def is_active_admin(self) -> bool:
        return self.role == Role.ADMIN and self.active

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def accepts(self, session_id: str | None, generation: int) -> bool:
        """Whether a token of this session and generation still speaks for the user."""
        if not self.active or session_id in self.revoked_sessions:
            return False
        return generation == self.token_generation or (
            session_id is not None and session_id == self.kept_session and generation == self.kept_generation
        )

    def revoke_every_session(self, *, keep: Principal | None = None) -> None:
        """A new generation: every token issued before is refused, except `keep`'s session (the
        caller of a password change), whose tokens of the old generation stay good."""
        self.kept_session = keep.session_id if keep is not None else None
        self.kept_generation = keep.generation if keep is not None else None
        self.token_generation += 1

    def revoke_session(self, session_id: str, *, until: int, now: int) -> None:
        """Refuse the session's access tokens until `until` (when the last of them expires);
        entries whose time is over are dropped, so the list holds only live sessions."""
        kept = {sid: end for sid, end in self.revoked_sessions.items() if end > now}
        kept[session_id] = until
        self.revoked_sessions = kept

    def administer(self, changes: Mapping[str, Any]) -> list[str]:
        """An admin's change of `role` and `active`; the fields it changed. Deactivating revokes
        every session at once; reactivating revokes nothing back (the old tokens stay refused)."""
        before = {name: getattr(self, name) for name in ADMINISTERED_FIELDS}
        if "role" in changes:
            self.role = Role(changes["role"])
        if changes.get("active") is False and self.active:
            self.deactivated_at = utc_now()
            self.revoke_every_session()
        elif changes.get("active") is True:
            self.deactivated_at = None
        return [name for name in ADMINISTERED_FIELDS if getattr(self, name) != before[name]]

    def set_password(self, password_hash: str, *, keep: Principal | None = None) -> None:
        self.password_hash = password_hash
        self.password_changed_at = utc_now()
        self.revoke_every_session(keep=keep)


USER_EDITABLE_FIELDS = ("name", "phone", "timezone")  # what a user changes of their own account
# What an admin's change of a user's role or active state may write.
ADMINISTERED_FIELDS = ("role", "deactivated_at", "token_generation", "kept_session", "kept_generation")

JOB_EDITABLE_FIELDS = ("title", "description", "location", "department", "employment_type", "status")


@dataclass(kw_only=True)
class Job:
    """A position a recruiter publishes, with its pipeline and its hiring team; versioned, soft-deleted."""

    id: str
    owner_id: str  # who created it: its first recruiter
    title: str
    description: str | None = None
    location: str | None = None
    department: str | None = None
    employment_type: str | None = None
    status: JobStatus = JobStatus.OPEN
    version: int = 1
    created_at: str
    updated_at: str
    deleted_at: str | None = None
    stages: list[Stage] = field(default_factory=list)
    team: list[TeamMember] = field(default_factory=list)
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A job stored before pipelines and teams has the default pipeline, and its creator as recruiter.
        if not self.stages:
            self.stages = pipeline.legacy_stages(self.id)
        if not self.team:
            self.team = [TeamMember(self.owner_id, TeamRole.RECRUITER)]

    @classmethod
    def publish(cls, *, owner: Principal, title: str, stages: list[Stage] | None = None, **fields: Any) -> "Job":
        """A new job of the owner's, OPEN unless `fields` (the other JOB_EDITABLE_FIELDS) say
        otherwise, with these stages (a template's, with fresh ids) or the default pipeline."""
        if owner.role not in (Role.RECRUITER, Role.ADMIN):
            raise PermissionDenied("Only recruiters and admins create jobs.")
        now = utc_now()
        job_id = new_id()
        pipeline_stages = stages or [Stage(new_id(), name, kind) for name, kind in pipeline.default_names()]
        pipeline.check_stages(pipeline_stages)
        job = cls(
            id=job_id,
            owner_id=owner.user_id,
            title=title,
            created_at=now,
            updated_at=now,
            stages=pipeline_stages,
            team=[TeamMember(owner.user_id, TeamRole.RECRUITER)],
        )
        job._set(fields)
        return job

    def role_of(self, who: Principal | None) -> TeamRole | None:
        return None if who is None else role_of(self.team, who.user_id)

    def may(self, who: Principal | None, action: Action, *, assigned: bool = False) -> bool:
        """Whether the caller may do this to the job or its applications (domain/team.py's table)."""
        return who is not None and may(action, role=self.role_of(who), admin=who.is_admin, assigned=assigned)

    def is_managed_by(self, who: Principal) -> bool:
        return self.may(who, Action.EDIT_JOB)

    def is_on_team(self, who: Principal | None) -> bool:
        return who is not None and (who.is_admin or self.role_of(who) is not None)

    def is_visible_to(self, who: Principal | None) -> bool:
        if self.deleted_at is not None:
            return False
        return self.status == JobStatus.OPEN or self.is_on_team(who)

    def check_managed_by(self, who: Principal) -> None:
        """Raise NotFound to whoever may not even see the job, PermissionDenied to the rest."""
        if not self.is_visible_to(who):
            raise NotFound("Job not found.")
        if not self.is_managed_by(who):
            raise PermissionDenied("Only the job's recruiters or an admin can change it.")

    def check_team_visible_to(self, who: Principal) -> None:
        """The team and the stages are the team's (and admins') to read."""
        if not self.is_visible_to(who):
            raise NotFound("Job not found.")
        if not self.is_on_team(who):
            raise PermissionDenied("Only the job's hiring team or an admin can see this.")

    def stage(self, stage_id: str | None) -> Stage | None:
        return next((stage for stage in self.stages if stage.id == stage_id), None)

    def update(self, changes: dict) -> None:
        self._set(changes)
        self._changed()

    def replace_stages(self, stages: list[Stage]) -> list[str]:
        """The new pipeline (pipeline.check_stages' rules); the ids of the stages it removes."""
        pipeline.check_stages(stages)
        kept = {stage.id for stage in stages}
        removed = [stage.id for stage in self.stages if stage.id not in kept]
        self.stages = list(stages)
        self._changed()
        return removed

    def replace_team(self, members: list[TeamMember]) -> None:
        check_team(members)
        self.team = list(members)
        self._changed()

    def delete(self) -> None:
        self.deleted_at = utc_now()
        self.version += 1
        self.updated_at = self.deleted_at

    def _changed(self) -> None:
        self.version += 1
        self.updated_at = utc_now()

    def _set(self, fields: Mapping[str, Any]) -> None:
        for name, value in fields.items():
            if name not in JOB_EDITABLE_FIELDS:
                raise ValueError(f"{name} is not an editable job field")
            setattr(self, name, JobStatus(value) if name == "status" else value)


@dataclass(frozen=True)
class HistoryEntry:
    """One change of an application: who, from, to, when, and the team's internal words about it
    (`reason` of the original routes, `note` of a move; neither is ever shown to the candidate)."""

    id: str
    application_id: str
    from_status: ApplicationStatus | None
    to_status: ApplicationStatus
    actor_id: str
    reason: str | None
    created_at: str
    note: str | None = None
    from_stage_id: str | None = None
    to_stage_id: str | None = None
    rejection_reason_id: str | None = None


@dataclass(frozen=True)
class StageVisit:
    """An application's time in one stage: entered (moved there by `moved_by`), and exited, once
    it moved on, was rejected or withdrawn. Name and kind are the stage's as it was entered."""

    id: str
    application_id: str
    stage_id: str
    name: str
    kind: StageKind
    entered_at: str
    moved_by: str
    exited_at: str | None = None


@dataclass(frozen=True)
class RejectionEmail:
    """What a rejection tells the candidate: whether to email them, when, and in which words."""

    send: bool = True
    send_at: str | None = None  # UTC ISO 8601; None or past: now
    message: str | None = None


@dataclass
class Application:
    """A candidate's application to a job, in one of the job's stages; versioned.

    `status` is the stage's kind while the application is active, else its outcome (rejected,
    withdrawn), kept beside the stage it left, so unreject returns to it.
    """

    id: str
    job_id: str
    candidate_id: str
    recruiter_id: str  # the job's creator, whom a candidate's withdrawal is emailed to
    status: ApplicationStatus
    cover_letter: str | None
    version: int
    created_at: str
    updated_at: str
    stage_id: str | None = None
    stage_entered_at: str | None = None
    visit_id: str | None = None  # the open stage visit (None: none, or stored before visits)
    entered_stages: list[str] = field(default_factory=list)  # every stage it ever entered
    rejection_reason_id: str | None = None
    rejected_at: str | None = None
    rejection_email_id: str | None = None  # the rejection's email event, which unreject may cancel
    events: list[Event] = field(default_factory=list, repr=False, compare=False)
    new_history: list[HistoryEntry] = field(default_factory=list, repr=False, compare=False)
    new_visits: list[StageVisit] = field(default_factory=list, repr=False, compare=False)
    closed_visits: list[tuple[str, str]] = field(default_factory=list, repr=False, compare=False)  # (id, exited_at)
    tally: Tally = field(default_factory=Tally, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.stage_id is None:  # stored before pipelines: in the (legacy) stage of its status
            kind = str(self.status) if self.status in ACTIVE else StageKind.APPLIED
            self.stage_id = pipeline.legacy_stage_id(self.job_id, kind)
            self.stage_entered_at = self.stage_entered_at or self.updated_at

    @classmethod
    def submit(cls, *, job: Job, candidate: Principal, cover_letter: str | None) -> "Application":
        if candidate.role != Role.CANDIDATE:
            raise PermissionDenied("Only candidates apply to jobs.")
        if job.status != JobStatus.OPEN or job.deleted_at is not None:
            raise NotFound("Job not found.")
        now = utc_now()
        first = job.stages[0]
        application = cls(
            id=new_id(),
            job_id=job.id,
            candidate_id=candidate.user_id,
            recruiter_id=job.owner_id,
            status=ApplicationStatus.APPLIED,
            cover_letter=cover_letter,
            version=1,
            created_at=now,
            updated_at=now,
            stage_id=first.id,
        )
        application._enter(first, actor_id=candidate.user_id, now=now)
        application._record(None, candidate.user_id, now, from_stage_id=None)
        application.events.append(
            ApplicationSubmitted(
                application_id=application.id,
                job_id=job.id,
                job_title=job.title,
                candidate_id=candidate.user_id,
                recruiter_id=job.owner_id,
            )
        )
        return application

    # --- Who sees and moves it ------------------------------------------------------------------

    def is_visible_to(self, who: Principal, job: Job | None) -> bool:
        """Its candidate, admins, and the job's team as the table says (an interviewer: only the
        applications they interview; interviews, API.md §4, will assign them)."""
        if who.user_id == self.candidate_id or who.is_admin:
            return True
        return job is not None and job.may(who, Action.SEE_APPLICATIONS)

    def is_candidate(self, who: Principal) -> bool:
        return who.user_id == self.candidate_id

    def allowed_transitions_for(self, who: Principal, job: Job | None) -> list[ApplicationStatus]:
        """The statuses the original routes may move it to next, for this caller."""
        if job is None:
            return []
        if self.is_candidate(who):
            return pipeline.status_targets(self.status, job.stages, candidate=True)
        if job.deleted_at is None and job.may(who, Action.MOVE):
            return pipeline.status_targets(self.status, job.stages, candidate=False)
        return []

    def check_mover(self, who: Principal, job: Job) -> None:
        """404 to whoever may not see it, 403 to who sees it but may not move it, 409 once its job is deleted."""
        if not self.is_visible_to(who, job):
            raise NotFound("Application not found.")
        if not job.may(who, Action.MOVE):
            raise PermissionDenied("Only the job's hiring team or an admin can move this application.")
        if job.deleted_at is not None:
            raise JobDeleted()

    def _check_active(self, what: str) -> None:
        if self.status in FINAL or self.status == ApplicationStatus.REJECTED:
            raise InvalidTransition(f"A {self.status} application cannot be {what}.")

    # --- The changes ----------------------------------------------------------------------------

    def move(self, job: Job, *, actor: Principal, from_stage_id: str, to_stage_id: str, note: str | None) -> None:
        """To any stage of its job, forward or back, from the stage the mover saw it in."""
        self.check_mover(actor, job)
        self._check_active("moved")
        if from_stage_id != self.stage_id:
            raise Conflict(
                "The application is no longer in that stage; reload it and decide again.",
                code="stage_mismatch",
                details=[{"field": "from_stage_id", "message": "not the current stage", "current": self.stage_id}],
            )
        target = job.stage(to_stage_id)
        if target is None:
            raise ValidationFailed(
                "No such stage in this job's pipeline.",
                details=[{"field": "to_stage_id", "message": "not a stage of this job"}],
            )
        if target.id == self.stage_id:
            raise InvalidTransition("The application is already in that stage.")
        self._go_to(job, target, actor=actor, note=note)

    def change_status(
        self,
        *,
        to: ApplicationStatus,
        actor: Principal,
        reason: str | None,
        job: Job,
        rejection_reason_id: str = DEFAULT_REASON_ID,
    ) -> None:
        """The original routes: withdraw (the candidate), reject (with the default reason), or move
        forward one kind, to the first stage of that kind."""
        to = ApplicationStatus(to)
        if not self.is_visible_to(actor, job):
            raise NotFound("Application not found.")
        if to == ApplicationStatus.WITHDRAWN:
            if not self.is_candidate(actor):
                raise PermissionDenied(f"Only the candidate can set '{to}'.")
        elif not job.may(actor, Action.MOVE):
            raise PermissionDenied("Only the job's hiring team or an admin can move this application.")
        if job.deleted_at is not None and to != ApplicationStatus.WITHDRAWN:
            raise JobDeleted()
        possible = [
            *pipeline.status_targets(self.status, job.stages, candidate=False),
            *pipeline.status_targets(self.status, job.stages, candidate=True),
        ]
        if to not in possible:
            allowed = [str(s) for s in self.allowed_transitions_for(actor, job)]
            raise InvalidTransition(
                f"Cannot move an application from '{self.status}' to '{to}'."
                + (f" Allowed: {', '.join(allowed)}." if allowed else f" '{self.status}' is final."),
                details=[{"field": "status", "message": "not an allowed next status", "allowed": allowed}],
            )
        if to == ApplicationStatus.WITHDRAWN:
            self.withdraw(job, actor=actor, reason=reason)
        elif to == ApplicationStatus.REJECTED:
            self.reject(job, actor=actor, rejection_reason_id=rejection_reason_id, reason=reason)
        else:
            target = pipeline.first_of_kind(job.stages, to)
            assert target is not None  # status_targets offers only the kinds the pipeline has
            self._go_to(job, target, actor=actor, reason=reason)

    def reject(
        self,
        job: Job,
        *,
        actor: Principal,
        rejection_reason_id: str,
        note: str | None = None,
        reason: str | None = None,
        email: RejectionEmail | None = None,
    ) -> None:
        self.check_mover(actor, job)
        self._check_active("rejected")
        email = email or RejectionEmail()
        now = utc_now()
        from_status = self.status
        self._leave(now)
        self.status = ApplicationStatus.REJECTED
        self.rejected_at, self.rejection_reason_id = now, rejection_reason_id
        self.tally.outcomes["rejected"] = 1
        deliver_after = email.send_at if email.send_at is not None and email.send_at > now else None
        event = self._changed(
            job,
            actor.user_id,
            from_status,
            self.stage_id,
            now,
            reason=reason,
            note=note,
            email_template="rejection" if email.send else None,
            message=email.message,
            deliver_after=deliver_after,
        )
        self.rejection_email_id = event.id if email.send else None

    def unreject(self, job: Job, *, actor: Principal, note: str | None) -> str | None:
        """Back to the stage it was rejected in (the first stage, if that one was removed since).
        Returns the rejection's email event, for the caller to cancel if it is still waiting."""
        self.check_mover(actor, job)
        if self.status != ApplicationStatus.REJECTED:
            raise InvalidTransition(f"Only a rejected application can be unrejected; this one is {self.status}.")
        now = utc_now()
        stage = job.stage(self.stage_id) or job.stages[0]
        from_stage_id = self.stage_id
        pending_email, self.rejection_email_id = self.rejection_email_id, None
        self.rejected_at = self.rejection_reason_id = None
        self.tally.outcomes["rejected"] = -1
        self._enter(stage, actor_id=actor.user_id, now=now)
        self._changed(
            job, actor.user_id, ApplicationStatus.REJECTED, from_stage_id, now, note=note, email_template=None
        )
        return pending_email

    def withdraw(self, job: Job, *, actor: Principal, reason: str | None = None) -> None:
        """The candidate's own: out of the pipeline for good."""
        if not self.is_candidate(actor):
            raise PermissionDenied("Only the candidate can withdraw an application.")
        self._check_active("withdrawn")
        now = utc_now()
        from_status = self.status
        self._leave(now)
        self.status = ApplicationStatus.WITHDRAWN
        self.tally.outcomes["withdrawn"] = 1
        self._changed(
            job,
            actor.user_id,
            from_status,
            self.stage_id,
            now,
            reason=reason,
            email_template=f"status_{ApplicationStatus.WITHDRAWN}",
        )

    def committed(self) -> None:
        """What was pending is stored: forget it (UnitOfWork.commit)."""
        self.events.clear()
        self.new_history.clear()
        self.new_visits.clear()
        self.closed_visits.clear()
        self.tally = Tally()

    # --- Bookkeeping: visits, counters, history, events -----------------------------------------

    def _go_to(self, job: Job, target: Stage, *, actor: Principal, note: str | None = None, reason: str | None = None):
        now = utc_now()
        from_status, from_stage_id = self.status, self.stage_id
        self._leave(now)
        self._enter(target, actor_id=actor.user_id, now=now)
        # The candidate hears of a new kind of stage, or of a stage that has an email of its own.
        template = target.email_template or (f"status_{target.kind}" if str(target.kind) != from_status else None)
        self._changed(
            job, actor.user_id, from_status, from_stage_id, now, reason=reason, note=note, email_template=template
        )

    def _leave(self, now: str) -> None:
        """Out of the current stage (a move, a rejection, a withdrawal): its visit ends. A visit
        that was never counted (stored before visits) is not uncounted."""
        if self.visit_id is None or self.stage_id is None:
            return
        self.closed_visits.append((self.visit_id, now))
        self.tally.current[self.stage_id] = self.tally.current.get(self.stage_id, 0) - 1
        if self.stage_entered_at is not None:
            self.tally.stays.setdefault(self.stage_id, []).append(seconds_between(self.stage_entered_at, now))
        self.visit_id = None

    def _enter(self, stage: Stage, *, actor_id: str, now: str) -> None:
        self.stage_id, self.stage_entered_at, self.visit_id = stage.id, now, new_id()
        self.status = ApplicationStatus(stage.kind)
        self.new_visits.append(StageVisit(self.visit_id, self.id, stage.id, stage.name, stage.kind, now, actor_id))
        self.tally.current[stage.id] = self.tally.current.get(stage.id, 0) + 1
        if stage.id not in self.entered_stages:
            self.entered_stages = [*self.entered_stages, stage.id]
            self.tally.entered.add(stage.id)
        if stage.kind == StageKind.HIRED:
            self.tally.outcomes["hired"] = 1
            self.tally.to_hire.append(seconds_between(self.created_at, now))

    def _changed(
        self,
        job: Job,
        actor_id: str,
        from_status: ApplicationStatus,
        from_stage_id: str | None,
        now: str,
        *,
        reason: str | None = None,
        note: str | None = None,
        email_template: str | None,
        message: str | None = None,
        deliver_after: str | None = None,
    ) -> ApplicationStatusChanged:
        self.version += 1
        self.updated_at = now
        self._record(from_status, actor_id, now, from_stage_id=from_stage_id, reason=reason, note=note)
        stage = job.stage(self.stage_id)
        event = ApplicationStatusChanged(
            application_id=self.id,
            job_id=self.job_id,
            job_title=job.title,
            candidate_id=self.candidate_id,
            recruiter_id=self.recruiter_id,
            from_status=str(from_status),
            to_status=str(self.status),
            actor_id=actor_id,
            from_stage_id=from_stage_id,
            to_stage_id=self.stage_id,
            stage_name=stage.name if stage is not None else None,
            email_template=email_template,
            message=message,
            deliver_after=deliver_after,
        )
        self.events.append(event)
        return event

    def _record(
        self,
        from_status: ApplicationStatus | None,
        actor_id: str,
        at: str,
        *,
        from_stage_id: str | None,
        reason: str | None = None,
        note: str | None = None,
    ) -> None:
        self.new_history.append(
            HistoryEntry(
                id=new_id(),
                application_id=self.id,
                from_status=from_status,
                to_status=self.status,
                actor_id=actor_id,
                reason=reason,
                created_at=at,
                note=note,
                from_stage_id=from_stage_id,
                to_stage_id=self.stage_id,
                rejection_reason_id=self.rejection_reason_id if self.status == ApplicationStatus.REJECTED else None,
            )
        )


ACTIVE = frozenset(str(kind) for kind in StageKind)  # the statuses that are a stage's kind
