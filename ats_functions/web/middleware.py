"""Around every request, Chalice's own answers included: the request id, one JSON log line, security
and CORS headers, and Chalice's errors reshaped into ours."""

import logging
import re
import time
import uuid

from chalice import Response

from chalicelib.config import Settings, get_settings
from chalicelib.messaging import background

from ..logs import configure_logging, request_context
from .errors import error_response

log = logging.getLogger("ats.http")

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
        held = background.hold()  # the request's emails go to the delivery thread once it answered
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
            background.release(held)

    return around_request
