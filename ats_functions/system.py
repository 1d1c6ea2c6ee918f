"""Liveness, readiness, and the answer for routes that do not exist."""
from chalice import Blueprint

from chalicelib.services.health import check_health

from .http import endpoint, error_response, incoming, ok

blueprint = Blueprint(__name__)


@blueprint.route("/ping")
@blueprint.route("/ping/ping")
@endpoint
def ping():
    return ok({"status": "ok", "message": "pong"})


@blueprint.route("/health")
@endpoint
def health():
    report = check_health(incoming(blueprint).settings)
    return ok(report, status=200 if report["status"] == "ok" else 503)


# API Gateway answers unknown paths itself (the template maps that answer to this shape);
# locally, these catch-alls give an unknown path the one error shape instead of Chalice's 403.
unknown_routes = Blueprint(__name__ + ".unknown")
ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


def not_found(**_path):
    return error_response(404, "not_found", "No such route.")


for depth in range(1, 7):
    path = "".join(f"/{{p{i}}}" for i in range(depth))
    unknown_routes.route(path, methods=ANY_METHOD, name=f"unknown_route_{depth}")(not_found)
