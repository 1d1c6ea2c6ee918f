"""The functions of ATS: one Blueprint per resource, one view per endpoint."""
from chalice import Chalice

from . import admin, applications, auth, jobs, relay, system
from .http import make_middleware


def register_all(app: Chalice) -> None:
    app.register_middleware(make_middleware(app), "http")
    for module in (system, auth, jobs, applications, admin):
        app.register_blueprint(module.blueprint)
    app.register_blueprint(relay.blueprint)  # the outbox relay: scheduled and stream functions
    # Last, so that every real route is matched before the catch-alls.
    app.register_blueprint(system.unknown_routes)
