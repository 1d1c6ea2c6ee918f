"""The views of each resource, registered with `Routes.route` and a Contract, each wrapped in a Handler.

The wrapper reads the request once, checks its path ids, authenticates, validates the body and
query, and hands the view plain values; the view calls one use case and returns the body to send.
"""

import inspect
from collections.abc import Callable

from chalice import Response

from .auth import authenticate
from .contract import Contract
from .errors import error_response, error_to_response
from .idempotent import run_once
from .render import respond
from .request import check_path_ids, read_request


class Handler:
    """A view wrapped to receive the request read, checked and validated: handler(request, **path_params)."""

    def __init__(self, view: Callable, contract: Contract):
        self.view = view
        self.contract = contract
        self.__name__ = view.__name__

    def __call__(self, request, **path_params) -> Response:
        view, contract = self.view, self.contract
        try:
            call = read_request(request)
            check_path_ids(path_params)
            authenticate(call, contract)
            values = dict(path_params)
            if contract.body is not None:
                values["body"] = call.body(contract.body)
            if contract.query is not None:
                values["params"] = call.params(contract.query)
            if contract.idempotent and call.headers.get("idempotency-key") is not None:
                return run_once(call, view.__name__, lambda: respond(call, contract, view(call, **values)))
            return respond(call, contract, view(call, **values))
        except Exception as error:
            return error_to_response(error, view.__name__)


class Routes:
    """One resource's views, each wrapped in a Handler.

    The app registers them from the route table (ats_functions/__init__.py), and imports the
    resource's module when a request first needs one of them.
    """

    def __init__(self, tag: str, auth: str = "public"):
        self.tag = tag
        self.auth = auth  # each route's unless it says otherwise: a resource that is all signed-in says so once
        self.handlers: dict[tuple[str, str], Handler] = {}  # (method, path) -> its handler

    def route(self, method: str, *paths: str, **terms):
        """Register `view` for these paths. Its docstring is the summary; the types of its `body` and
        `params` parameters are the request body and query it takes; `terms` are the rest of its Contract."""

        def register(view):
            terms.setdefault("auth", self.auth)
            contract = Contract(name=view.__name__, paths=paths, tag=self.tag, **_declared(view), **terms)
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

    def patch(self, *paths, **terms):
        return self.route("PATCH", *paths, **terms)

    def delete(self, *paths, **terms):
        return self.route("DELETE", *paths, **terms)


def _declared(view: Callable) -> dict:
    """What the view itself declares: its summary (the docstring) and the models of its body and query."""
    summary = inspect.getdoc(view)
    if not summary:
        raise ValueError(f"The view {view.__name__} needs a docstring: its summary")
    declared: dict = {"summary": " ".join(summary.split())}
    parameters = inspect.signature(view).parameters
    for parameter, term in (("body", "body"), ("params", "query")):
        if parameter in parameters:
            declared[term] = parameters[parameter].annotation
    return declared


def preflight(**_path_params) -> Response:
    """A browser's CORS preflight (OPTIONS): answered by cors_headers in the middleware."""
    return Response(body="", status_code=204)


def not_found(**_path_params) -> Response:
    return error_response(404, "not_found", "No such route.")
