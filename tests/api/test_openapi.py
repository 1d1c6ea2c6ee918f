"""The published contract: generated from the views' own models, committed, and served."""
import json
import os

from ats_functions.openapi import openapi_document

from ..conftest import ROOT


def test_the_committed_openapi_json_is_the_generated_one():
    from app import app

    with open(os.path.join(ROOT, "openapi.json")) as f:
        committed = json.load(f)
    assert committed == openapi_document(app), "openapi.json is stale: run `make openapi` and commit it"


def test_the_api_serves_its_openapi_document(api):
    reply = api.get("/openapi.json")
    assert reply.status == 200
    assert reply.body["openapi"] == "3.1.0"
    assert {"/auth/register", "/jobs/create", "/applications/change-status"} <= set(reply.body["paths"])


def test_every_route_of_the_app_is_documented():
    from app import app

    documented = openapi_document(app)["paths"]
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            if getattr(entry.view_function, "contract", None) is not None:
                assert method.lower() in documented[path], f"{method} {path}"
