"""Liveness, readiness, and the API's own description (the document, and the page for people)."""

import os
from functools import cache

from chalice import Response

from chalicelib.schemas.system import HealthOut, PingOut
from chalicelib.services.health import check_health

from .http import Routes, error_response

routes = Routes(tag="system")
STATIC_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "chalicelib", "static")
REDOC = "redoc.standalone.js"  # from the npm package redoc: see chalicelib/static/README.md


@routes.get("/ping", "/ping/ping", returns=PingOut)
def ping(call):
    """Liveness"""
    return {"status": "ok", "message": "pong"}


@routes.get("/health", returns=HealthOut, errors=(503,), answers=((503, HealthOut),))
def health(call):
    """Readiness: storage (and the broker, when configured) reachable"""
    report = check_health(call.uow, call.settings)
    if report["status"] != "ok":
        return Response(body=report, status_code=503, headers={"Content-Type": "application/json"})
    return report


@routes.get("/openapi.json")
def openapi(call):
    """This API's OpenAPI 3.1 document"""
    from .openapi import openapi_document

    return openapi_document()


DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>ATS API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="openapi.json"></redoc><script src="docs/redoc.standalone.js"></script></body>
</html>
"""
# Redoc renders in the page: it needs its script, inline styles, and blob workers; nothing else.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src blob:; frame-ancestors 'none'"
)


@cache
def _redoc_script() -> str | None:
    path = os.path.join(STATIC_DIR, REDOC)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return f.read()


@routes.get("/docs")
def docs(call):
    """The API reference for people (Redoc)"""
    return Response(
        body=DOCS_PAGE,
        status_code=200,
        headers={"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": DOCS_CSP},
    )


@routes.get("/docs/redoc.standalone.js", errors=(503,))
def docs_script(call):
    """The Redoc script /docs loads"""
    script = _redoc_script()
    if script is None:
        return error_response(503, "docs_unavailable", f"{REDOC} is missing from chalicelib/static.")
    return Response(
        body=script,
        status_code=200,
        headers={"Content-Type": "application/javascript; charset=utf-8", "Cache-Control": "public, max-age=86400"},
    )
