"""The request read once into a Call: what a view needs from it, as plain values, its body and query
validated. The call's own request is read (the middleware keeps it): Chalice's `current_request` is
one attribute of the app, which `chalice local`'s threads overwrite for each other."""

import functools
import json
import re
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from chalicelib.bootstrap import settings as current_settings
from chalicelib.bootstrap import unit_of_work
from chalicelib.config import Settings
from chalicelib.domain.errors import BadRequest, NotFound, PreconditionFailed, ValidationFailed
from chalicelib.domain.ids import is_id
from chalicelib.domain.models import Principal
from chalicelib.services.context import Context, context_for
from chalicelib.storage import UnitOfWork

from .errors import PayloadTooLarge

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32  # the body object is level 1; every body this API takes is flat

# If-Match names one version, strongly (RFC 9110 13.1.1): quoted as the ETag is, or bare as some clients
# send it. At most 18 digits: more is no version this API issued (and would not convert to an int).
_VERSION_TAG = re.compile(r'"([1-9][0-9]{0,17})"|([1-9][0-9]{0,17})')
_ENTITY_TAG = re.compile(r'(?:W/)?("[^"]*")')


@dataclass
class Call:
    """One request, read once: what a view needs from it, as plain values."""

    method: str
    headers: dict
    query: dict
    raw_body: bytes
    source_ip: str | None
    who: Principal | None = None  # set by auth.authenticate

    @functools.cached_property
    def settings(self) -> Settings:
        """Read when first needed, once per request (a view like /ping never needs it)."""
        return current_settings()

    def uow(self) -> UnitOfWork:
        """The request's unit of work: the authentication and the view share it (each opens it with `with`)."""
        return self._unit_of_work

    @functools.cached_property
    def _unit_of_work(self) -> UnitOfWork:
        return unit_of_work(self.settings)

    def context(self) -> Context:
        """What the view's use case runs in: this request's unit of work, the settings, who asks."""
        return context_for(self.uow(), self.settings, self.who)

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


def read_request(request) -> Call:
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


def check_path_ids(path_params: dict) -> None:
    """An id that cannot be an id names nothing: 404 before any storage call (DynamoDB refuses long keys)."""
    for name, value in path_params.items():
        if name.endswith("_id") and not is_id(value):
            raise NotFound(f"{name.removesuffix('_id').capitalize()} not found.")


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
        if not level:  # no containers left: nothing nests deeper (a flat body stops at the second level)
            return False
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, (dict, list))
        ]
    return bool(level)
