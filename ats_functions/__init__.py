"""The functions of ATS: one module per resource, one view per endpoint, and the outbox relay.

The app registers every route from route_table.ROUTES, and imports a resource's module when a
request first needs it: a cold start pays for the resource of its first request, not for them
all. `make openapi` writes the table from the views' decorators, and a test keeps the two equal.
"""

import functools
import importlib

from chalice import Chalice

from . import relay
from .http import Routes, current_request, make_middleware, not_found, preflight, slug
from .route_table import ROUTES

RESOURCES = ("system", "auth", "users", "jobs", "teams", "pipelines", "applications", "admin")
ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


def register_all(app: Chalice) -> None:
    app.register_middleware(make_middleware(app), "http")
    for resource, method, path, view in ROUTES:
        app.route(path, methods=[method], name=f"{view}_{slug(path)}")(_lazy_view(resource, method, path))
    for path in sorted({path for _, _, path, _ in ROUTES}):
        app.route(path, methods=["OPTIONS"], name=f"preflight_{slug(path)}")(preflight)
    app.register_blueprint(relay.blueprint)  # the outbox relay: scheduled and stream functions
    # Last, so that every real route is matched first. API Gateway answers unknown paths itself (the
    # template maps that answer to the error shape); locally, these give them the error shape too.
    for depth in range(1, 7):
        path = "".join(f"/{{p{i}}}" for i in range(depth))
        app.route(path, methods=ANY_METHOD, name=f"unknown_route_{depth}")(not_found)


def _lazy_view(resource: str, method: str, path: str):
    """The route's view: it hands the request to the resource's handler, importing the module first if need be."""

    def view(**path_params):
        return _handler(resource, method, path)(current_request(), **path_params)

    return view


@functools.cache
def _handler(resource: str, method: str, path: str):
    return _routes_of(resource).handlers[(method, path)]


def _routes_of(resource: str) -> Routes:
    return importlib.import_module(f"{__name__}.{resource}").routes


def resource_routes() -> dict[str, Routes]:
    """The routes of every resource, their modules imported (the OpenAPI document and the table need all)."""
    return {name: _routes_of(name) for name in RESOURCES}


def declared_routes() -> tuple[tuple[str, str, str, str], ...]:
    """(resource, method, path, view) of every route the views declare: what ROUTES must hold."""
    return tuple(
        sorted(
            (resource, method, path, handler.__name__)
            for resource, routes in resource_routes().items()
            for (method, path), handler in routes.handlers.items()
        )
    )
