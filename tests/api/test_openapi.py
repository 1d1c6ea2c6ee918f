"""The committed contract: openapi.json is the document the views' own models generate.

That the served document is valid OpenAPI 3.1 and names every route is tests/security's.
"""
import json
import os

from ats_functions.openapi import openapi_document

from ..conftest import ROOT


def test_the_committed_openapi_json_is_the_generated_one():
    from app import app

    with open(os.path.join(ROOT, "openapi.json")) as f:
        committed = json.load(f)
    assert committed == openapi_document(app), "openapi.json is stale: run `make openapi` and commit it"
