"""The README walkthrough over real HTTP: `chalice local` in a subprocess on a free port, SQLite in a tmp dir."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Http:
    """JSON over urllib, one connection per request (chalice local stalls on keep-alive)."""

    def __init__(self, base: str):
        self.base = base

    def call(self, method: str, path: str, body=None, token: str | None = None) -> tuple[int, dict | None]:
        headers = {"Connection": "close", "Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        return status, (json.loads(raw) if raw else None)


def _server_env(tmp) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATS_")}
    env.update(ATS_STATE_DIR=str(tmp / "state"), ATS_SQLITE_PATH=str(tmp / "state" / "ats.db"),
               ATS_PASSWORD_HASH_PROFILE="fast", ATS_EMAIL_BACKEND="file")
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    port = free_port()
    chalice = os.path.join(os.path.dirname(sys.executable), "chalice")
    log = open(tmp / "server.log", "wb")
    process = subprocess.Popen(
        [chalice, "local", "--stage", "dev", "--host", "127.0.0.1", "--port", str(port), "--no-autoreload"],
        cwd=ROOT, env=_server_env(tmp), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    http = Http(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"chalice local exited with {process.returncode}:\n{(tmp / 'server.log').read_text()}")
            try:
                if http.call("GET", "/ping")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"chalice local did not answer /ping:\n{(tmp / 'server.log').read_text()}")
            time.sleep(0.2)
        yield http, tmp
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def test_readme_walkthrough(server):
    http, tmp = server

    # A recruiter and a candidate sign up, and log in.
    status, body = http.call("POST", "/auth/register", {"email": "rita@example.com", "password": PASSWORD,
                                                        "name": "Rita", "role": "recruiter"})
    assert (status, body["user"]["role"]) == (201, "recruiter")
    status, body = http.call("POST", "/auth/register", {"email": "carl@example.com", "password": PASSWORD,
                                                        "name": "Carl"})
    assert (status, body["user"]["role"]) == (201, "candidate")
    candidate_id = body["user"]["id"]
    status, body = http.call("POST", "/auth/login", {"email": "rita@example.com", "password": PASSWORD})
    assert status == 200 and body["token_type"] == "Bearer"
    recruiter, recruiter_id = body["access_token"], body["user"]["id"]
    status, body = http.call("POST", "/auth/login", {"email": "carl@example.com", "password": PASSWORD})
    assert status == 200
    candidate = body["access_token"]

    # The recruiter publishes a job; anyone can list open jobs.
    status, body = http.call("POST", "/jobs/create", {"title": "Platform Engineer", "location": "Berlin",
                                                      "department": "Infrastructure"}, token=recruiter)
    assert status == 201
    job = body["job"]["id"]
    status, body = http.call("GET", "/jobs/list?limit=10")
    assert (status, [item["id"] for item in body["items"]], body["next_cursor"]) == (200, [job], None)

    # The candidate applies.
    status, body = http.call("POST", "/applications/create", {"job_id": job, "cover_letter": "I run platforms."},
                             token=candidate)
    assert (status, body["application"]["status"]) == (201, "applied")
    application = body["application"]["id"]

    # The recruiter moves the application screening -> shortlisted -> selected.
    for target in ("screening", "shortlisted", "selected"):
        status, body = http.call("POST", "/applications/change-status",
                                 {"application_id": application, "status": target, "reason": f"moving to {target}"},
                                 token=recruiter)
        assert (status, body["application"]["status"]) == (200, target)

    # Either of them reads the history: every change, creation included, oldest first.
    status, body = http.call("GET", f"/applications/{application}/history", token=candidate)
    assert status == 200
    assert [(e["from_status"], e["to_status"], e["actor_id"], e["reason"]) for e in body["items"]] == [
        (None, "applied", candidate_id, None),
        ("applied", "screening", recruiter_id, "moving to screening"),
        ("screening", "shortlisted", recruiter_id, "moving to shortlisted"),
        ("shortlisted", "selected", recruiter_id, "moving to selected"),
    ]

    # The server kept its data where the environment said.
    assert (tmp / "state" / "ats.db").exists()


@pytest.mark.parametrize("method,path,status,code", [
    ("GET", "/no/such/route", 404, "not_found"),
    ("DELETE", "/jobs/list", 405, "method_not_allowed"),
    ("GET", "/auth/me", 401, "not_authenticated"),
])
def test_errors_over_http_have_the_one_shape(server, method, path, status, code):
    http, _ = server
    answered, body = http.call(method, path)
    assert answered == status
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code


def test_malformed_json_over_http_is_400(server):
    http, _ = server
    request = urllib.request.Request(http.base + "/auth/register", data=b"{oops", method="POST",
                                     headers={"Connection": "close", "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=30)
    assert raised.value.code == 400
    assert json.loads(raised.value.read())["error"]["code"] == "malformed_json"
