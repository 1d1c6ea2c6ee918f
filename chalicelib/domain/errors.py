"""Domain errors. Each carries a stable machine code; the HTTP layer maps kinds to statuses."""


class DomainError(Exception):
    """A refusal in the domain's words. A kind names its code where it is declared:
    `class NotFound(DomainError, code="not_found")`; one error may carry a narrower one (`code=`)."""

    code = "error"

    def __init_subclass__(cls, code: str | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code

    def __init__(self, message: str, *, code: str | None = None, details: list | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or []


class ValidationFailed(DomainError, code="validation_error"): ...


class BadRequest(DomainError, code="bad_request"): ...


class AuthenticationFailed(DomainError, code="unauthorized"): ...


class UnknownActor(AuthenticationFailed, code="invalid_token"):
    """A validly signed token whose account does not exist (any more): it speaks for nobody."""

    def __init__(self, message: str = "The account of this token does not exist.", **kwargs):
        super().__init__(message, **kwargs)


class PermissionDenied(DomainError, code="forbidden"): ...


class NotFound(DomainError, code="not_found"): ...


class Conflict(DomainError, code="conflict"): ...


class ConcurrencyError(Conflict, code="stale_version"):
    """The entity changed since it was read (a failed version condition)."""


class InvalidTransition(Conflict, code="invalid_transition"): ...


class JobDeleted(Conflict, code="job_deleted"):
    """A move of an application whose job was deleted (only its candidate's withdrawal is left)."""

    def __init__(
        self,
        message: str = "The job was deleted: its applications no longer move, but the candidate may still withdraw.",
        **kwargs,
    ):
        super().__init__(message, **kwargs)


class PreconditionFailed(DomainError, code="precondition_failed"): ...


class RateLimited(DomainError, code="rate_limited"):
    def __init__(self, message: str, *, retry_after: int, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ConfigurationError(DomainError, code="configuration_error"): ...


class Unavailable(DomainError, code="unavailable"): ...
