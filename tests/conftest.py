"""Shared fixtures: a fresh store per test, and an API client speaking JSON."""
import json
import os
from dataclasses import dataclass

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Fake AWS credentials before anything imports boto3, so no test can reach real AWS.
for _name, _value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                      "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
    os.environ[_name] = _value
os.environ.pop("AWS_PROFILE", None)
os.environ["ATS_PASSWORD_HASH_PROFILE"] = "fast"


def require_service(reason: str):
    """A missing service fails the test in CI and skips it elsewhere, saying why."""
    if IN_CI:
        pytest.fail(f"required service unavailable in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ATS_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.fixture(params=["sqlite"])
def backend(request, tmp_path, monkeypatch, state_dir):
    """The storage backend under test; every backend gets the same API and contract suites."""
    if request.param == "sqlite":
        monkeypatch.setenv("ATS_STORAGE", "sqlite")
        monkeypatch.setenv("ATS_SQLITE_PATH", str(tmp_path / "ats.db"))
    return request.param


@pytest.fixture
def settings(backend):
    from chalicelib.config import get_settings

    return get_settings()


@pytest.fixture
def uow_factory(settings):
    from chalicelib.storage import unit_of_work

    return lambda: unit_of_work(settings)


@dataclass
class Reply:
    status: int
    body: dict | None
    headers: dict

    @property
    def error(self) -> dict:
        return self.body["error"]


class Api:
    """chalice.test.Client with JSON in and out, and tokens remembered per user."""

    def __init__(self, client):
        self.client = client

    def call(self, method: str, path: str, json_body=None, *, token: str | None = None,
             headers: dict | None = None, raw: bytes | None = None) -> Reply:
        sent = {"content-type": "application/json", **(headers or {})}
        if token:
            sent["authorization"] = f"Bearer {token}"
        body = raw if raw is not None else (b"" if json_body is None else json.dumps(json_body).encode())
        response = self.client.http.request(method, path, headers=sent, body=body)
        parsed = json.loads(response.body) if response.body else None
        return Reply(response.status_code, parsed, {k.lower(): v for k, v in response.headers.items()})

    def get(self, path, **kw): return self.call("GET", path, **kw)
    def post(self, path, json_body=None, **kw): return self.call("POST", path, json_body, **kw)
    def put(self, path, json_body=None, **kw): return self.call("PUT", path, json_body, **kw)
    def delete(self, path, **kw): return self.call("DELETE", path, **kw)

    # The common steps of a scenario.
    def register(self, email: str, role: str = "candidate", password: str = "correct horse battery", **extra):
        reply = self.post("/auth/register", {"email": email, "password": password, "role": role,
                                             "name": extra.pop("name", email.split("@")[0]), **extra})
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

    with Client(app, stage_name="dev", project_dir=ROOT) as client:
        yield Api(client)
