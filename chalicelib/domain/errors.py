"""Domain errors. Each carries a stable machine code; the HTTP layer maps kinds to statuses."""


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: list | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or []


class ValidationFailed(DomainError):
    code = "validation_error"


class BadRequest(DomainError):
    code = "bad_request"


class AuthenticationFailed(DomainError):
    code = "unauthorized"


class UnknownActor(AuthenticationFailed):
    """A validly signed token whose account does not exist (any more): it speaks for nobody."""

    code = "invalid_token"

    def __init__(self, message: str = "The account of this token does not exist.", **kwargs):
        super().__init__(message, **kwargs)


class PermissionDenied(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class ConcurrencyError(Conflict):
    """The entity changed since it was read (a failed version condition)."""

    code = "stale_version"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class JobDeleted(Conflict):
    """A move of an application whose job was deleted (only its candidate's withdrawal is left)."""

    code = "job_deleted"

    def __init__(
        self,
        message: str = "The job was deleted: its applications no longer move, but the candidate may still withdraw.",
        **kwargs,
    ):
        super().__init__(message, **kwargs)


class PreconditionFailed(DomainError):
    code = "precondition_failed"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ConfigurationError(DomainError):
    code = "configuration_error"


class Unavailable(DomainError):
    code = "unavailable"
