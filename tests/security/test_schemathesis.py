"""Schemathesis against the app, in process: every operation of GET /openapi.json, signed in as each role.

The app runs through `chalice.test.Client` (the same local gateway `chalice local` serves, without
its sockets) behind a small WSGI adapter, so schemathesis drives it with its own WSGI transport:
the schema is the document GET /openapi.json serves, and `case.call_and_validate` sends each
generated request and runs the checks on the answer.

Checks: schemathesis' defaults for a response (`not_a_server_error`, `status_code_conformance`,
`content_type_conformance`, `response_headers_conformance`, `response_schema_conformance`,
`negative_data_rejection`, `ignored_auth`, ...) except `positive_data_acceptance`: the schema
cannot say that a password is on the common-passwords list or that a well-formed id names nothing,
and those requests are rightly refused (422, 404).

Each (operation, role) gets fresh objects (an open job, a draft job, an application) so generated
path ids and body ids hit real objects as well as random ones. SQLite only: this is about the HTTP
contract, which is the same on every backend (tests/api proves that).

Scale with ATS_FUZZ_EXAMPLES (examples per operation, role and mode; default 12).
"""

import contextlib
import http
import json
import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from chalicelib.services.context import context_for
from tests.conftest import ROOT, Api

from .conftest import FIGURES

ROLES = ("anonymous", "candidate", "recruiter", "admin")
PASSWORD = "fuzzing is fun 123"
EXAMPLES = int(os.environ.get("ATS_FUZZ_EXAMPLES", "12"))
MIN_REQUESTS = 1000


class ChaliceWSGI:
    """A WSGI app that hands every request to chalice.test.Client and counts them."""

    def __init__(self, client):
        self.client = client
        self.requests = 0
        self.statuses: Counter = Counter()  # how many answers of each status

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO") or "/"
        path = path.split("?", 1)[0]
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        headers = {
            name[5:].replace("_", "-").lower(): value for name, value in environ.items() if name.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        self.requests += 1
        reply = self.client.http.request(method, path, headers=headers, body=body)
        self.statuses[reply.status_code] += 1
        listed = []
        for name, value in reply.headers.items():
            listed += [(name, str(item)) for item in value] if isinstance(value, list) else [(name, str(value))]
        try:
            reason = http.HTTPStatus(reply.status_code).phrase
        except ValueError:
            reason = "Unknown"
        start_response(f"{reply.status_code} {reason}", listed)
        return [reply.body]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """The app on a fresh SQLite store, its schema loaded from GET /openapi.json, one user per role."""
    from chalice.test import Client

    from app import app
    from chalicelib import bootstrap
    from chalicelib.bootstrap import unit_of_work
    from chalicelib.services.users import create_admin

    state = tmp_path_factory.mktemp("schemathesis")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ATS_STORAGE", "sqlite")
        patch.setenv("ATS_SQLITE_PATH", str(state / "ats.db"))
        patch.setenv("ATS_STATE_DIR", str(state / "state"))
        with Client(app, stage_name="dev", project_dir=ROOT) as client:
            api = Api(client)
            tokens = {"anonymous": None}
            for role in ("candidate", "recruiter"):
                api.register(f"fuzz-{role}@example.com", role, password=PASSWORD)
                tokens[role] = api.login(f"fuzz-{role}@example.com", PASSWORD)
            settings_ = bootstrap.settings()  # as the create-admin command takes them: the secret found
            create_admin(
                context_for(unit_of_work(settings_), settings_),
                email="fuzz-admin@example.com",
                password=PASSWORD,
                name="Admin",
            )
            tokens["admin"] = api.login("fuzz-admin@example.com", PASSWORD)
            wsgi = ChaliceWSGI(client)
            # The document the app serves. Loaded as a dict rather than with from_wsgi("/openapi.json"),
            # which leaves the schema's own location (GET /openapi.json) out of the operations.
            served = api.get("/openapi.json")
            assert served.status == 200
            schema = schemathesis.openapi.from_dict(served.body)
            schema.app = wsgi  # what from_wsgi does: cases are sent through the WSGI transport
            yield api, wsgi, schema, tokens


def _seed(api: Api, tokens: dict) -> dict:
    """Fresh objects for one (operation, role): fuzzing may change or delete the last ones."""
    job = api.create_job(tokens["recruiter"], title="Fuzzed Job")
    draft = api.create_job(tokens["recruiter"], title="Fuzzed Draft", status="draft")
    application = api.apply(tokens["candidate"], job["id"], cover_letter="Hello")
    return {"job_id": [job["id"], draft["id"], application["id"]], "application_id": [application["id"], job["id"]]}


def _strategy(operation, mode: GenerationMode, seeded: dict):
    """Generated cases; in positive mode, many of them with real ids in the path, the query or the body."""
    generated = operation.as_strategy(mode)
    if mode is not GenerationMode.POSITIVE:
        return generated
    names = [p.name for p in operation.path_parameters]
    variants = [generated]
    for name in names:
        variants += [operation.as_strategy(mode, path_parameters={name: value}) for value in seeded.get(name, [])]
    if operation.query and any(p.name == "job_id" for p in operation.query):
        variants += [operation.as_strategy(mode, query={"job_id": value}) for value in seeded["job_id"]]

    def with_real_body_id(pair):
        case, choice = pair
        if isinstance(case.body, dict) and choice is not None:
            for name in ("job_id", "application_id"):
                if name in case.body:
                    case.body[name] = seeded[name][choice % len(seeded[name])]
        return case

    return st.tuples(st.one_of(variants), st.none() | st.integers(0, 2)).map(with_real_body_id)


def _fuzz(operation, role: str, token: str | None, seeded: dict, tally: Counter, failures: list) -> None:
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        # Unsatisfiable: nothing to negate (no parameters, no body): the positive run covered it.
        with contextlib.suppress(Unsatisfiable):
            _fuzz_in_mode(operation, mode, role, token, seeded, tally, failures)


def _fuzz_in_mode(operation, mode, role: str, token: str | None, seeded: dict, tally: Counter, failures: list):
    headers = {"Authorization": f"Bearer {token}"} if token else None

    @settings(
        max_examples=EXAMPLES,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_strategy(operation, mode, seeded))
    def run(case):
        tally["cases"] += 1
        try:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
        except (Exception, BaseExceptionGroup) as error:  # schemathesis' FailureGroup: record, go on
            tally["failures"] += 1
            failures.append(f"[{role}, {mode.value}] {operation.label}: {error}")

    run()


def test_every_operation_as_every_role_answers_within_its_contract(fuzzed, request):
    api, wsgi, schema, tokens = fuzzed
    operations = [result.ok() for result in schema.get_all_operations()]
    documented = sum(len(methods) for methods in schema.raw_schema["paths"].values())
    assert len(operations) == documented >= 20, [op.label for op in operations]
    failures: list[str] = []
    by_role = {}
    for role in ROLES:
        tally = Counter()
        for operation in operations:
            seeded = _seed(api, tokens)
            sent = wsgi.requests  # seeding goes around the adapter: only fuzzing requests are counted
            _fuzz(operation, role, tokens[role], seeded, tally, failures)
            tally["requests"] += wsgi.requests - sent
        by_role[role] = {"cases": tally["cases"], "requests": tally["requests"], "failures": tally["failures"]}
    figures = {
        "operations": len(operations),
        "roles": list(ROLES),
        "by_role": by_role,
        "statuses": {str(status): n for status, n in sorted(wsgi.statuses.items())},
        **{key: sum(r[key] for r in by_role.values()) for key in ("cases", "requests", "failures")},
    }
    FIGURES.update(figures)
    if getattr(request.config, "cache", None) is not None:
        request.config.cache.set("ats/schemathesis", figures)
    print(json.dumps(figures))

    assert not failures, f"{len(failures)} failing cases; the first ones:\n\n" + "\n\n".join(failures[:10])
    assert figures["requests"] >= MIN_REQUESTS, figures
    # The seeded objects were reached: reads and changes succeeded, not only refusals.
    assert {"200", "201", "204"} <= set(figures["statuses"]), figures["statuses"]
    assert not any(status.startswith("5") for status in figures["statuses"]), figures["statuses"]


def test_answers_to_failures_conform_to_the_schema_too(fuzzed, monkeypatch):
    """What fuzzing cannot provoke: storage down (/health's 503) and an unexpected exception (a 500)."""
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    import chalicelib.services.users as users
    from chalicelib import bootstrap

    _, _, schema, tokens = fuzzed
    checks = [status_code_conformance, content_type_conformance, response_schema_conformance]

    def down(self):
        raise ConnectionError("storage down")

    def broken(*args, **kwargs):
        raise RuntimeError("injected failure")

    monkeypatch.setattr(type(bootstrap.storage(bootstrap.settings()).items), "ping", down)  # the driver's
    monkeypatch.setattr(users, "get_me", broken)
    for label, token, status in [("GET /health", None, 503), ("GET /auth/me", tokens["candidate"], 500)]:
        method, path = label.split()
        case = schema[path][method].Case()
        headers = {"Authorization": f"Bearer {token}"} if token else None
        response = case.call(headers=headers)
        assert response.status_code == status
        case.validate_response(response, checks=checks, headers=headers)
