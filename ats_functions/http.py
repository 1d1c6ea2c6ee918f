"""What every view shares: its contract, the request read once, errors, and response headers.

A view is registered with `Routes.route` and a `Contract`: the models its body and query are
validated with, who may call it, and what it returns. The wrapper reads the request once (the
call's own, which the middleware keeps: Chalice's `current_request` is one attribute of the app,
which `chalice local`'s threads overwrite for each other), authenticates, validates, and hands
the view plain values; the view calls one use case and returns the body to send.
The same contracts generate the OpenAPI document (openapi.py), so the two cannot drift apart.
"""

import functools
import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from chalice import Response
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import to_json

from chalicelib.auth.tokens import verify_token
from chalicelib.config import Settings, get_settings
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
from chalicelib.domain.ids import is_id
from chalicelib.domain.models import Principal
from chalicelib.storage import UnitOfWork, unit_of_work

from .logs import configure_logging, note_user, request_context

log = logging.getLogger("ats.http")

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32  # the body object is level 1; every body this API takes is flat
JSON_HEADERS = {"Content-Type": "application/json"}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Cross-Origin-Opener-Policy": "same-origin",
}
CORS_ALLOW_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-Id"
CORS_EXPOSE_HEADERS = "ETag, Retry-After, X-Request-Id, Idempotent-Replayed"

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


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


def error_response(
    status: int, code: str, message: str, details: list | None = None, headers: dict | None = None
) -> Response:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return Response(body=to_json(body).decode(), status_code=status, headers={**JSON_HEADERS, **(headers or {})})


def _error_to_response(error: Exception, view_name: str) -> Response:
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


def _validation_details(error: ValidationError, model: type[BaseModel], kind: str) -> list[dict]:
    known = f"unknown {kind} (the {kind}s are: {', '.join(model.model_fields)})"
    return [
        {
            "field": ".".join(str(part) for part in item["loc"]) or "body",
            "message": known if item["type"] == "extra_forbidden" else item["msg"].removeprefix("Value error, "),
        }
        for item in error.errors()
    ]


def _nests_deeper_than(data, limit: int) -> bool:
    """Whether parsed JSON has containers below `limit` levels; level by level, without recursion."""
    level = [data] if isinstance(data, (dict, list)) else []
    for _ in range(limit):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, (dict, list))
        ]
    return bool(level)


def _check_path_ids(path_params: dict) -> None:
    """An id that cannot be an id names nothing: 404 before any storage call (DynamoDB refuses long keys)."""
    for name, value in path_params.items():
        if name.endswith("_id") and not is_id(value):
            raise NotFound(f"{name.removesuffix('_id').capitalize()} not found.")


# If-Match names one version, strongly (RFC 9110 13.1.1): quoted as the ETag is, or bare as some clients
# send it. At most 18 digits: more is no version this API issued (and would not convert to an int).
_VERSION_TAG = re.compile(r'"([1-9][0-9]{0,17})"|([1-9][0-9]{0,17})')
_ENTITY_TAG = re.compile(r'(?:W/)?("[^"]*")')


@dataclass(frozen=True)
class Contract:
    """What one endpoint takes and gives; the wrapper enforces it, openapi.py publishes it."""

    name: str  # the view's name: the operation's id
    paths: tuple[str, ...]  # the first is the route of record; the others are aliases
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    returns: type[BaseModel] | None = None  # None: 204 No Content
    status: int = 200
    auth: str = "public"  # public | optional (a token, when sent, must be valid) | required
    roles: tuple[str, ...] = ()  # when set, only these roles; others get 403
    etag: str | None = None  # the key of the returned resource whose version is the ETag
    if_match: bool = False  # takes If-Match
    idempotent: bool = False  # takes Idempotency-Key
    errors: tuple[int, ...] = ()  # the statuses the use case itself can answer
    # Statuses answered with a model of their own rather than the error shape (/health's 503: its report).
    answers: tuple[tuple[int, type[BaseModel]], ...] = ()

    def operation_id(self, path: str) -> str:
        return self.name if path == self.paths[0] else f"{self.name}_via_{slug(path)}"

    def error_statuses(self) -> set[int]:
        statuses = {400, 500, *self.errors}  # 400: any request may carry two Authorization headers
        if self.body is not None:
            statuses |= {413, 415, 422}
        if self.query is not None:
            statuses.add(422)
        if self.auth != "public":
            statuses.add(401)
        if self.roles:
            statuses.add(403)
        if self.if_match:
            statuses.add(412)
        if self.idempotent:
            statuses |= {409, 422}
        return statuses


def slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_")


@dataclass
class Call:
    """One request, read once: what a view needs from it, as plain values."""

    method: str
    headers: dict
    query: dict
    raw_body: bytes
    source_ip: str | None
    who: Principal | None = None

    @functools.cached_property
    def settings(self) -> Settings:
        """Read when first needed, once per request (a view like /ping never needs it)."""
        return get_settings()

    def uow(self) -> UnitOfWork:
        return unit_of_work(self.settings)

    def body(self, model: type[BaseModel]):
        if len(self.raw_body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes.")
        try:
            data = json.loads(self.raw_body or b"null")
        except RecursionError:  # nested deeper than the parser's stack allows
            raise BadRequest(f"The body nests deeper than {MAX_JSON_DEPTH} levels.", code="malformed_json") from None
        except ValueError:
            raise BadRequest("The body is not valid JSON.", code="malformed_json") from None
        if not isinstance(data, dict):
            raise BadRequest("The body must be a JSON object.", code="malformed_json")
        if _nests_deeper_than(data, MAX_JSON_DEPTH):
            raise BadRequest(f"The body nests deeper than {MAX_JSON_DEPTH} levels.", code="malformed_json")
        try:
            return model.model_validate(data)
        except ValidationError as error:
            raise ValidationFailed(
                "Some fields are not valid.", details=_validation_details(error, model, "field")
            ) from None

    def params(self, model: type[BaseModel]):
        try:
            return model.model_validate(self.query)
        except ValidationError as error:
            raise ValidationFailed(
                "Some query parameters are not valid.", details=_validation_details(error, model, "parameter")
            ) from None

    def authenticate(self, contract: Contract) -> Principal | None:
        header = self.headers.get("authorization")
        if header is not None and contract.auth != "public":
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthenticationFailed("Use Authorization: Bearer <token>.", code="invalid_token")
            claims = verify_token(
                token.strip(),
                secret=self.settings.jwt_secret,
                issuer=self.settings.jwt_issuer,
                max_lifetime=self.settings.jwt_ttl_seconds,
            )
            note_user(claims.user_id)
            from chalicelib.services import users  # on first use: a public route never needs it

            self.who = users.authenticate(self.uow(), self.settings, claims)  # its account exists; its stored role
        if self.who is None and contract.auth == "required":
            raise AuthenticationFailed("Sign in first: send Authorization: Bearer <token>.", code="not_authenticated")
        if contract.roles and (self.who is None or self.who.role not in contract.roles):
            raise PermissionDenied(f"This needs the role {' or '.join(contract.roles)}.")
        return self.who

    def if_match(self) -> int | None:
        """The version an If-Match header names; None when absent or `*`. Anything else matches nothing: 412."""
        value = self.headers.get("if-match")
        if value is None or value.strip() == "*":
            return None
        tag = _VERSION_TAG.fullmatch(value.strip())
        if tag is None:
            raise PreconditionFailed("If-Match does not name a version this API issued.")
        return int(tag.group(1) or tag.group(2))

    def none_match(self, etag: str) -> bool:
        """Whether If-None-Match is `*` or lists this ETag, weakly compared (RFC 9110 13.1.2)."""
        value = self.headers.get("if-none-match")
        return value is not None and (value.strip() == "*" or etag in _ENTITY_TAG.findall(value))


def _read(request) -> Call:
    identity = (request.context or {}).get("identity") or {}
    # API Gateway keeps the last of two Authorization headers in `headers` (a local server the
    # first): whose request it is would depend on where it runs. Both are in multiValueHeaders.
    sent = request.to_original_event().get("multiValueHeaders") or {}
    if sum(len(values or ()) for name, values in sent.items() if name.lower() == "authorization") > 1:
        raise BadRequest("Send one Authorization header.", code="ambiguous_authorization")
    return Call(
        method=request.method,
        headers=request.headers,
        query=dict(request.query_params or {}),
        raw_body=request.raw_body or b"",
        source_ip=identity.get("sourceIp"),
    )


def _respond(call: Call, contract: Contract, body: dict | Response | None) -> Response:
    if isinstance(body, Response):  # a view with an answer of its own kind (a page, a 503 report)
        return body
    if body is None:
        return Response(body="", status_code=204)
    headers: dict[str, str | list[str]] = dict(JSON_HEADERS)
    if contract.etag is not None:
        etag = f'"{body[contract.etag]["version"]}"'
        headers["ETag"] = etag
        if call.method == "GET" and call.none_match(etag):  # the client's copy is current
            return Response(body="", status_code=304, headers={"ETag": etag})
    # Serialised by pydantic's JSON encoder (Rust): a third of the time of Chalice's json.dumps.
    return Response(body=to_json(body).decode(), status_code=contract.status, headers=headers)


class Handler:
    """A view wrapped to receive the request read, checked and validated: handler(request, **path_params)."""

    def __init__(self, view: Callable, contract: Contract):
        self.view = view
        self.contract = contract
        self.__name__ = view.__name__

    def __call__(self, request, **path_params) -> Response:
        view, contract = self.view, self.contract
        try:
            call = _read(request)
            _check_path_ids(path_params)
            call.authenticate(contract)
            values = dict(path_params)
            if contract.body is not None:
                values["body"] = call.body(contract.body)
            if contract.query is not None:
                values["params"] = call.params(contract.query)
            if contract.idempotent and call.headers.get("idempotency-key") is not None:
                return _idempotent(call, view.__name__, lambda: _respond(call, contract, view(call, **values)))
            return _respond(call, contract, view(call, **values))
        except Exception as error:
            return _error_to_response(error, view.__name__)


class Routes:
    """One resource's views, each wrapped in a Handler.

    The app registers them from the route table (ats_functions/__init__.py), and imports the
    resource's module when a request first needs one of them.
    """

    def __init__(self, tag: str):
        self.tag = tag
        self.handlers: dict[tuple[str, str], Handler] = {}  # (method, path) -> its handler

    def route(self, method: str, *paths: str, summary: str, **terms):
        def register(view):
            contract = Contract(name=view.__name__, paths=paths, summary=summary, tag=self.tag, **terms)
            taken = [path for path in paths if (method, path) in self.handlers]
            if taken:
                raise ValueError(f"{method} {taken[0]} already has a view")
            handler = Handler(view, contract)
            for path in paths:
                self.handlers[(method, path)] = handler
            return view

        return register

    def get(self, *paths, **terms):
        return self.route("GET", *paths, **terms)

    def post(self, *paths, **terms):
        return self.route("POST", *paths, **terms)

    def put(self, *paths, **terms):
        return self.route("PUT", *paths, **terms)

    def delete(self, *paths, **terms):
        return self.route("DELETE", *paths, **terms)


def preflight(**_path_params) -> Response:
    """A browser's CORS preflight (OPTIONS): answered by cors_headers in the middleware."""
    return Response(body="", status_code=204)


def not_found(**_path_params) -> Response:
    return error_response(404, "not_found", "No such route.")


def _idempotent(call: Call, operation: str, run) -> Response:
    """Answer a retried create with its first response; run it only once (Idempotency-Key)."""
    from chalicelib.services import idempotency

    caller = call.who.user_id if call.who else f"anonymous@{call.source_ip}"
    scope = f"{caller}:{operation}"
    fingerprint = hashlib.sha256(call.raw_body).hexdigest()
    uow = call.uow()
    claim = idempotency.begin(
        uow, call.settings, scope=scope, key=call.headers["idempotency-key"], fingerprint=fingerprint
    )
    if claim.replay is not None:
        replay = claim.replay
        return Response(
            body=replay.body, status_code=replay.status, headers={**replay.headers, "Idempotent-Replayed": "true"}
        )
    try:
        response = run()
    except BaseException:
        idempotency.abandon(uow, call.settings, claim)
        raise
    idempotency.finish(
        uow, call.settings, claim, status=response.status_code, body=response.body, headers=dict(response.headers)
    )
    return response


@functools.cache
def _list_of(model: type[BaseModel]) -> TypeAdapter:
    # A list of a model known at run time only, which a static type cannot name.
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def render(model: type[BaseModel], obj) -> dict:
    return model.model_validate(obj).model_dump(mode="json")


def render_page(model: type[BaseModel], page) -> dict:
    """A page rendered in one pass of pydantic over its items, not one per item."""
    adapter = _list_of(model)
    items = adapter.dump_python(adapter.validate_python(page.items, from_attributes=True), mode="json")
    return {"items": items, "next_cursor": page.next_cursor}


# Middleware: runs around every request, Chalice's own answers included.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_CHALICE_ERROR_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    415: "unsupported_media_type",
    500: "internal_error",
}


def _chalice_error_in_our_shape(response: Response) -> Response:
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body and "Message" in body:
        allow = {k: v for k, v in response.headers.items() if k.lower() == "allow"}
        return error_response(
            response.status_code,
            _CHALICE_ERROR_CODES.get(response.status_code, "error"),
            str(body["Message"]),
            headers=allow,
        )
    return response


def cors_headers(settings: Settings, origin: str | None, preflight_methods: str | None) -> dict:
    if origin is None or not settings.cors_allow_origins:
        return {}
    if "*" in settings.cors_allow_origins:
        allowed = "*"
    elif origin in settings.cors_allow_origins:
        allowed = origin
    else:
        return {}
    headers = {
        "Access-Control-Allow-Origin": allowed,
        "Vary": "Origin",
        "Access-Control-Expose-Headers": CORS_EXPOSE_HEADERS,
    }
    if preflight_methods is not None:
        headers.update(
            {
                "Access-Control-Allow-Methods": preflight_methods,
                "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
                "Access-Control-Max-Age": "600",
            }
        )
    return headers


def current_request():
    """The request of the call being served here (set by the middleware, per thread and call)."""
    context = request_context.get()
    if context is None:
        raise RuntimeError("No request is being served here.")
    return context["request"]


def make_middleware(app):
    """Request id, one JSON log line per request, security and CORS headers, Chalice errors reshaped."""
    configure_logging()

    def around_request(request, get_response):
        started = time.perf_counter()
        sent_id = request.headers.get("x-request-id")
        request_id = sent_id if sent_id and _REQUEST_ID.match(sent_id) else uuid.uuid4().hex
        context = {"request_id": request_id, "request": request}
        token = request_context.set(context)
        try:
            response = _chalice_error_in_our_shape(get_response(request))
            preflight = None
            if request.method == "OPTIONS":
                methods = app.routes.get(request.context.get("resourcePath"), {})
                preflight = ", ".join(sorted(set(methods) - {"OPTIONS"}))
            origin = request.headers.get("origin")
            extra = cors_headers(get_settings(), origin, preflight) if origin else {}
            response.headers = {**SECURITY_HEADERS, **response.headers, **extra, "X-Request-Id": request_id}
            log.info(
                "request",
                extra={
                    "fields": {
                        "method": request.method,
                        "path": request.context.get("resourcePath"),
                        "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                        "user_id": context.get("user_id"),
                    }
                },
            )
            return response
        finally:
            request_context.reset(token)

    return around_request
