"""What every view shares: reading a request once, authenticating, rendering, translating errors.

Views read `blueprint.current_request` once, at their top, through `incoming()` (Chalice's
current_request is not thread-safe under `chalice local`), and pass plain values down.
"""
import functools
import json
import logging
from dataclasses import dataclass, field

from chalice import Response
from pydantic import BaseModel, ValidationError

from chalicelib.auth.tokens import verify_token
from chalicelib.config import Settings, get_settings
from chalicelib.domain.errors import (AuthenticationFailed, BadRequest, ConfigurationError, Conflict, DomainError,
                                      NotFound, PermissionDenied, PreconditionFailed, Unavailable,
                                      ValidationFailed)
from chalicelib.domain.models import Principal, Role
from chalicelib.storage import UnitOfWork, unit_of_work

log = logging.getLogger("ats.http")

MAX_BODY_BYTES = 1024 * 1024
JSON_HEADERS = {"Content-Type": "application/json"}

STATUS_OF = (  # most specific first
    (ValidationFailed, 422), (BadRequest, 400), (AuthenticationFailed, 401), (PermissionDenied, 403),
    (NotFound, 404), (Conflict, 409), (PreconditionFailed, 412), (Unavailable, 503),
    (ConfigurationError, 500),
)


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


def error_response(status: int, code: str, message: str, details: list | None = None,
                   headers: dict | None = None) -> Response:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return Response(body=body, status_code=status, headers={**JSON_HEADERS, **(headers or {})})


def _validation_details(error: ValidationError) -> list[dict]:
    return [{"field": ".".join(str(part) for part in item["loc"]) or "body",
             "message": item["msg"].removeprefix("Value error, ")} for item in error.errors()]


def endpoint(view):
    """Turn whatever a view raises into the one error shape; no stack trace ever leaves."""

    @functools.wraps(view)
    def translated(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except PayloadTooLarge as error:
            return error_response(413, error.code, error.message)
        except DomainError as error:
            status = next(status for kind, status in STATUS_OF + ((DomainError, 400),) if isinstance(error, kind))
            if status >= 500:
                log.error("request failed: %s: %s", error.code, error.message)
                message = error.message if status == 503 else "The service is misconfigured."
                return error_response(status, error.code, message)
            return error_response(status, error.code, error.message, error.details)
        except Exception:
            log.exception("unhandled error in %s", view.__name__)
            return error_response(500, "internal_error", "An internal error occurred.")

    return translated


@dataclass
class Incoming:
    """The parts of one request a view needs, read once."""

    headers: dict
    query: dict
    raw_body: bytes
    settings: Settings = field(default_factory=get_settings)

    def uow(self) -> UnitOfWork:
        return unit_of_work(self.settings)

    def body(self, model: type[BaseModel]):
        if len(self.raw_body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes.")
        try:
            data = json.loads(self.raw_body or b"null")
        except ValueError:
            raise BadRequest("The body is not valid JSON.", code="malformed_json") from None
        if not isinstance(data, dict):
            raise BadRequest("The body must be a JSON object.", code="malformed_json")
        try:
            return model.model_validate(data)
        except ValidationError as error:
            raise ValidationFailed("Some fields are not valid.", details=_validation_details(error)) from None

    def params(self, model: type[BaseModel]):
        try:
            return model.model_validate(self.query)
        except ValidationError as error:
            raise ValidationFailed("Some query parameters are not valid.",
                                   details=_validation_details(error)) from None

    def principal(self, *roles: Role) -> Principal:
        """The signed-in caller, who must hold one of `roles` when any are given."""
        who = self.optional_principal()
        if who is None:
            raise AuthenticationFailed("Sign in first: send Authorization: Bearer <token>.",
                                       code="not_authenticated")
        if roles and who.role not in roles:
            raise PermissionDenied(f"This needs the role {' or '.join(roles)}.")
        return who

    def optional_principal(self) -> Principal | None:
        header = self.headers.get("authorization")
        if header is None:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("Use Authorization: Bearer <token>.", code="invalid_token")
        return verify_token(token.strip(), secret=self.settings.jwt_secret, issuer=self.settings.jwt_issuer)

    def if_match(self) -> int | None:
        """The version an If-Match header names; None when absent or `*`."""
        value = self.headers.get("if-match")
        if value is None or value.strip() == "*":
            return None
        tag = value.strip().removeprefix("W/").strip('"')
        if not tag.isdigit():
            raise PreconditionFailed("If-Match does not name a version this API issued.")
        return int(tag)


def incoming(blueprint) -> Incoming:
    request = blueprint.current_request
    return Incoming(headers=request.headers, query=dict(request.query_params or {}),
                    raw_body=request.raw_body or b"")


def render(model: type[BaseModel], obj) -> dict:
    return model.model_validate(obj).model_dump(mode="json")


def etag(version: int) -> dict:
    return {"ETag": f'"{version}"'}


def ok(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(body=body, status_code=status, headers={**JSON_HEADERS, **(headers or {})})


def no_content() -> Response:
    return Response(body="", status_code=204)


def page_body(model: type[BaseModel], page) -> dict:
    return {"items": [render(model, item) for item in page.items], "next_cursor": page.next_cursor}


def framework_errors(event, get_response):
    """Chalice's own answers (405, 415, ...) in the one error shape. Registered as http middleware."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body and "Message" in body:
        codes = {405: "method_not_allowed", 415: "unsupported_media_type"}
        return error_response(response.status_code, codes.get(response.status_code, "bad_request"),
                              str(body["Message"]), headers={k: v for k, v in response.headers.items()
                                                             if k.lower() == "allow"})
    return response
