"""The hiring pipeline: which status an application may move to from which."""

from enum import StrEnum


class ApplicationStatus(StrEnum):
    APPLIED = "applied"
    SCREENING = "screening"
    SHORTLISTED = "shortlisted"
    SELECTED = "selected"
    HIRED = "hired"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


S = ApplicationStatus
TRANSITIONS: dict[ApplicationStatus, tuple[ApplicationStatus, ...]] = {
    S.APPLIED: (S.SCREENING, S.REJECTED, S.WITHDRAWN),
    S.SCREENING: (S.SHORTLISTED, S.REJECTED, S.WITHDRAWN),
    S.SHORTLISTED: (S.SELECTED, S.REJECTED, S.WITHDRAWN),
    S.SELECTED: (S.HIRED, S.REJECTED, S.WITHDRAWN),
    S.HIRED: (),
    S.REJECTED: (),
    S.WITHDRAWN: (),
}

# Set only by the application's candidate; every other move is the recruiter's (or an admin's).
CANDIDATE_STATUSES = frozenset({S.WITHDRAWN})


def allowed_targets(current: ApplicationStatus) -> tuple[ApplicationStatus, ...]:
    return TRANSITIONS[ApplicationStatus(current)]


def targets_for(current: ApplicationStatus, *, candidate: bool) -> tuple[ApplicationStatus, ...]:
    """The moves one side may make from `current`: the candidate's (withdraw) or the hiring side's (the rest)."""
    return tuple(target for target in allowed_targets(current) if (target in CANDIDATE_STATUSES) == candidate)


def can_move(current: ApplicationStatus, target: ApplicationStatus) -> bool:
    return ApplicationStatus(target) in allowed_targets(current)


def is_terminal(status: ApplicationStatus) -> bool:
    return not TRANSITIONS[ApplicationStatus(status)]
