"""The committed artifacts generated from the views: openapi.json, the document their models make,
and ats_functions/route_table.py, the routes the app registers without importing the views.

That the served document is valid OpenAPI 3.1 and names every route is tests/security's.
"""

import json
import os
import subprocess
import sys

import pytest

from ats_functions import RESOURCES, declared_routes
from ats_functions.__main__ import route_table_source
from ats_functions.openapi import openapi_document
from ats_functions.route_table import ROUTES

from ..conftest import ROOT


def test_the_committed_openapi_json_is_the_generated_one():
    with open(os.path.join(ROOT, "openapi.json")) as f:
        committed = json.load(f)
    assert committed == openapi_document(), "openapi.json is stale: run `make openapi` and commit it"


def test_the_committed_route_table_is_what_the_views_declare():
    assert declared_routes() == ROUTES, "ats_functions/route_table.py is stale: run `make openapi` and commit it"
    with open(os.path.join(ROOT, "ats_functions", "route_table.py")) as f:
        assert f.read() == route_table_source()
    assert {resource for resource, *_ in ROUTES} == set(RESOURCES)


def test_every_module_with_routes_is_a_resource():
    """A module left out of RESOURCES would be out of the route table, and its routes would answer 404."""
    import importlib
    import pkgutil

    import ats_functions
    from ats_functions.http import Routes

    with_routes = {
        info.name
        for info in pkgutil.iter_modules(ats_functions.__path__)
        if info.name != "__main__"
        and isinstance(getattr(importlib.import_module(f"ats_functions.{info.name}"), "routes", None), Routes)
    }
    assert with_routes == set(RESOURCES)


def test_a_method_and_path_has_one_view():
    from ats_functions.http import Routes

    def first(call):
        """first"""

    def second(call):
        """second"""

    routes = Routes(tag="test")
    routes.get("/a")(first)
    with pytest.raises(ValueError, match="GET /a already has a view"):
        routes.get("/b", "/a")(second)


def test_a_view_without_a_docstring_has_no_summary_and_is_refused():
    from ats_functions.http import Routes

    with pytest.raises(ValueError, match="needs a docstring"):
        Routes(tag="test").get("/a")(lambda call: None)


def test_a_view_declares_its_body_and_query_by_the_types_of_its_parameters():
    from ats_functions.auth import routes as auth_routes
    from ats_functions.jobs import routes as job_routes
    from chalicelib.schemas.auth import LoginRequest
    from chalicelib.schemas.jobs import JobListQuery

    login = auth_routes.handlers[("POST", "/auth/login")].contract
    assert (login.body, login.query, login.summary) == (
        LoginRequest,
        None,
        "Exchange email and password for an access token and a refresh token",
    )
    listing = job_routes.handlers[("GET", "/jobs/list")].contract
    assert (listing.body, listing.query) == (None, JobListQuery)


def test_the_app_imports_a_resource_when_a_request_first_needs_it(tmp_path):
    """A cold start builds the views and models of its first request's resource only."""
    probe = """
import json, sys
from chalice.test import Client
from app import app
loaded = lambda: sorted(name for name in sys.modules if name.startswith(("ats_functions.", "chalicelib.schemas.")))
before = loaded()
with Client(app) as client:
    assert client.http.get("/ping").status_code == 200
    after_ping = loaded()
    assert client.http.get("/jobs/list").status_code == 200
    print(json.dumps([before, after_ping, loaded()]))
"""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ATS_")},
        "ATS_STORAGE": "sqlite",
        "ATS_STATE_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    before, after_ping, after_jobs = json.loads(result.stdout.strip().splitlines()[-1])
    resources = {f"ats_functions.{name}" for name in RESOURCES}
    assert not resources & set(before)
    assert resources & set(after_ping) == {"ats_functions.system"}
    assert "chalicelib.schemas.system" in after_ping and "chalicelib.schemas.jobs" not in after_ping
    assert resources & set(after_jobs) == {"ats_functions.system", "ats_functions.jobs"}
    assert not {"chalicelib.schemas.auth", "chalicelib.schemas.applications"} & set(after_jobs)


def test_no_operation_declares_a_parameter_twice():
    """/jobs/{job_id}/applications had job_id in its path and in its query."""
    for path, methods in openapi_document()["paths"].items():
        for method, operation in methods.items():
            names = [parameter["name"].lower() for parameter in operation.get("parameters", [])]
            assert len(names) == len(set(names)), (method, path, names)


def test_every_request_body_refuses_fields_it_does_not_declare():
    document = openapi_document()
    bodies = {
        operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for methods in document["paths"].values()
        for operation in methods.values()
        if "requestBody" in operation
    }
    assert len(bodies) >= 6
    for name in bodies:
        assert document["components"]["schemas"][name]["additionalProperties"] is False, name


def test_every_string_a_client_sends_is_documented_without_control_characters():
    def strings(node):
        if isinstance(node, dict):
            if node.get("type") == "string" and "enum" not in node and "const" not in node:
                yield node
            for value in node.values():
                yield from strings(value)
        elif isinstance(node, list):
            for value in node:
                yield from strings(value)

    document = openapi_document()
    schemas = document["components"]["schemas"]
    inputs = [schemas[name] for name in schemas if name.endswith("Request")]
    inputs += [
        parameter["schema"]
        for methods in document["paths"].values()
        for operation in methods.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    ]
    found = [node for schema in inputs for node in strings(schema)]
    assert len(found) >= 15
    for node in found:
        assert node.get("pattern", "").startswith("^[") and "maxLength" in node, node


def test_reads_with_an_etag_document_if_none_match_and_304():
    paths = openapi_document()["paths"]
    for path in ("/jobs/{job_id}", "/applications/{application_id}"):
        operation = paths[path]["get"]
        assert "If-None-Match" in {parameter["name"] for parameter in operation["parameters"]}
        assert "ETag" in operation["responses"]["304"]["headers"] and "content" not in operation["responses"]["304"]
        assert "ETag" in operation["responses"]["200"]["headers"]
