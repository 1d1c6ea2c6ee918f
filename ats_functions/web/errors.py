"""The error shape every answer uses, and the status each domain error maps to."""

import logging

from chalice import Response
from pydantic_core import to_json

from chalicelib.domain.errors import (
    AuthenticationFailed,
    BadRequest,
    ConfigurationError,
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RateLimited,
    Unavailable,
    ValidationFailed,
)

log = logging.getLogger("ats.http")

JSON_HEADERS = {"Content-Type": "application/json"}

STATUS_OF = (  # most specific first
    (ValidationFailed, 422),
    (BadRequest, 400),
    (AuthenticationFailed, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (PreconditionFailed, 412),
    (RateLimited, 429),
    (Unavailable, 503),
    (ConfigurationError, 500),
    (DomainError, 400),
)


class PayloadTooLarge(DomainError, code="payload_too_large"): ...


def error_response(
    status: int, code: str, message: str, details: list | None = None, headers: dict | None = None
) -> Response:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return Response(body=to_json(body).decode(), status_code=status, headers={**JSON_HEADERS, **(headers or {})})


def error_to_response(error: Exception, view_name: str) -> Response:
    """What a view's error answers: its status and shape; an unexpected one is logged and told nothing."""
    if isinstance(error, PayloadTooLarge):
        return error_response(413, error.code, error.message)
    if not isinstance(error, DomainError):
        log.exception("unhandled error in %s", view_name)
        return error_response(500, "internal_error", "An internal error occurred.")
    status = next(status for kind, status in STATUS_OF if isinstance(error, kind))
    if status >= 500:
        log.error("request failed: %s: %s", error.code, error.message)
        message = error.message if status == 503 else "The service is misconfigured."
        return error_response(status, error.code, message)
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
    return error_response(status, error.code, error.message, error.details, headers)
