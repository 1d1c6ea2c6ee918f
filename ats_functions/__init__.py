"""The functions of ATS: one Blueprint per resource, one view per endpoint."""
from chalice import Chalice

from . import applications, auth, jobs, system
from .http import framework_errors


def register_all(app: Chalice) -> None:
    app.register_middleware(framework_errors, "http")
    for module in (system, auth, jobs, applications):
        app.register_blueprint(module.blueprint)
    # Last, so that every real route is matched before the catch-alls.
    app.register_blueprint(system.unknown_routes)
