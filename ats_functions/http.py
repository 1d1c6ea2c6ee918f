"""What the views (and the app, deploy/serve.py, the tests) import: the names of ats_functions.web,
whose modules hold one concern each (see its docstring)."""

from .web.contract import Contract, slug
from .web.errors import error_response
from .web.middleware import SECURITY_HEADERS, cors_headers, current_request, make_middleware
from .web.registry import Routes, not_found, preflight
from .web.render import render, render_list, render_page
from .web.request import Call

__all__ = [
    "SECURITY_HEADERS",
    "Call",
    "Contract",
    "Routes",
    "cors_headers",
    "current_request",
    "error_response",
    "make_middleware",
    "not_found",
    "preflight",
    "render",
    "render_list",
    "render_page",
    "slug",
]
