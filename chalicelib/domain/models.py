"""Entities and the rules of who may see and change them."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from . import pipeline
from .errors import InvalidTransition, JobDeleted, NotFound, PermissionDenied
from .events import ApplicationStatusChanged, ApplicationSubmitted, Event, UserRegistered
from .ids import new_id, utc_now
from .pipeline import ApplicationStatus


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
    """A position a recruiter publishes; versioned, soft-deleted."""

    id: str
    owner_id: str
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
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def publish(cls, *, owner: Principal, title: str, **fields: Any) -> "Job":
        """A new job of the owner's, OPEN unless `fields` (the other JOB_EDITABLE_FIELDS) say otherwise."""
        if owner.role not in (Role.RECRUITER, Role.ADMIN):
            raise PermissionDenied("Only recruiters and admins create jobs.")
        now = utc_now()
        job = cls(id=new_id(), owner_id=owner.user_id, title=title, created_at=now, updated_at=now)
        job._set(fields)
        return job

    def is_managed_by(self, who: Principal) -> bool:
        return who.is_admin or who.user_id == self.owner_id

    def is_visible_to(self, who: Principal | None) -> bool:
        if self.deleted_at is not None:
            return False
        return self.status == JobStatus.OPEN or (who is not None and self.is_managed_by(who))

    def check_managed_by(self, who: Principal) -> None:
        """Raise NotFound to whoever may not even see the job, PermissionDenied to the rest."""
        if not self.is_visible_to(who):
            raise NotFound("Job not found.")
        if not self.is_managed_by(who):
            raise PermissionDenied("Only the job's recruiter or an admin can change it.")

    def update(self, changes: dict) -> None:
        self._set(changes)
        self.version += 1
        self.updated_at = utc_now()

    def delete(self) -> None:
        self.deleted_at = utc_now()
        self.version += 1
        self.updated_at = self.deleted_at

    def _set(self, fields: Mapping[str, Any]) -> None:
        for name, value in fields.items():
            if name not in JOB_EDITABLE_FIELDS:
                raise ValueError(f"{name} is not an editable job field")
            setattr(self, name, JobStatus(value) if name == "status" else value)


@dataclass(frozen=True)
class HistoryEntry:
    """One move of an application through the pipeline: who, from, to, why, when."""

    id: str
    application_id: str
    from_status: ApplicationStatus | None
    to_status: ApplicationStatus
    actor_id: str
    reason: str | None
    created_at: str


def allowed_after_job_deleted(to: ApplicationStatus) -> bool:
    """Once its job is deleted, an application moves only by its candidate's hand (withdrawn)."""
    return ApplicationStatus(to) in pipeline.CANDIDATE_STATUSES


@dataclass
class Application:
    """A candidate's application to a job, moved through the pipeline; versioned."""

    id: str
    job_id: str
    candidate_id: str
    recruiter_id: str  # the job's owner, kept here so a recruiter's applications are one index away
    status: ApplicationStatus
    cover_letter: str | None
    version: int
    created_at: str
    updated_at: str
    events: list[Event] = field(default_factory=list, repr=False, compare=False)
    new_history: list[HistoryEntry] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def submit(cls, *, job: Job, candidate: Principal, cover_letter: str | None) -> "Application":
        if candidate.role != Role.CANDIDATE:
            raise PermissionDenied("Only candidates apply to jobs.")
        if job.status != JobStatus.OPEN or job.deleted_at is not None:
            raise NotFound("Job not found.")
        now = utc_now()
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
        )
        application._record(None, ApplicationStatus.APPLIED, candidate.user_id, None, now)
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

    def allowed_transitions_for(self, who: Principal, *, job_deleted: bool = False) -> list[ApplicationStatus]:
        """What this caller may move the application to next: its candidate withdraws, the hiring side moves."""
        if who.user_id == self.candidate_id:
            return list(pipeline.targets_for(self.status, candidate=True))
        if (who.is_admin or who.user_id == self.recruiter_id) and not job_deleted:
            return list(pipeline.targets_for(self.status, candidate=False))
        return []

    def is_visible_to(self, who: Principal) -> bool:
        return who.is_admin or who.user_id in (self.candidate_id, self.recruiter_id)

    def change_status(
        self, *, to: ApplicationStatus, actor: Principal, reason: str | None, job_title: str, job_deleted: bool = False
    ) -> None:
        to = ApplicationStatus(to)
        if not self.is_visible_to(actor):
            raise NotFound("Application not found.")
        if to in pipeline.CANDIDATE_STATUSES:
            if actor.user_id != self.candidate_id:
                raise PermissionDenied(f"Only the candidate can set '{to}'.")
        elif actor.user_id != self.recruiter_id and not actor.is_admin:
            raise PermissionDenied("Only the job's recruiter or an admin can move this application.")
        if job_deleted and not allowed_after_job_deleted(to):
            raise JobDeleted()
        if not pipeline.can_move(self.status, to):
            allowed = [str(s) for s in self.allowed_transitions_for(actor)]
            raise InvalidTransition(
                f"Cannot move an application from '{self.status}' to '{to}'."
                + (f" Allowed: {', '.join(allowed)}." if allowed else f" '{self.status}' is final."),
                details=[{"field": "status", "message": "not an allowed next status", "allowed": allowed}],
            )
        now = utc_now()
        from_status, self.status = self.status, to
        self.version += 1
        self.updated_at = now
        self._record(from_status, to, actor.user_id, reason, now)
        self.events.append(
            ApplicationStatusChanged(
                application_id=self.id,
                job_id=self.job_id,
                job_title=job_title,
                candidate_id=self.candidate_id,
                recruiter_id=self.recruiter_id,
                from_status=from_status,
                to_status=to,
                actor_id=actor.user_id,
                reason=reason,
            )
        )

    def _record(self, from_status, to_status, actor_id, reason, at) -> None:
        self.new_history.append(
            HistoryEntry(
                id=new_id(),
                application_id=self.id,
                from_status=from_status,
                to_status=to_status,
                actor_id=actor_id,
                reason=reason,
                created_at=at,
            )
        )
