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
    """Who is calling: the verified subject of a token."""

    user_id: str
    role: Role

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
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def register(cls, *, email: str, name: str, role: Role, password_hash: str) -> "User":
        user = cls(
            id=new_id(),
            email=email.strip(),
            name=name,
            role=Role(role),
            password_hash=password_hash,
            created_at=utc_now(),
        )
        user.events.append(UserRegistered(user_id=user.id, email=user.email, name=user.name, role=user.role))
        return user

    @property
    def email_key(self) -> str:
        return email_key(self.email)


USER_EDITABLE_FIELDS = ("name", "phone", "timezone")  # what a user changes of their own account

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
