"""Response headers on every answer (security headers, X-Request-Id, CORS), and what the logs hold.

Every response, whatever made it (a view, a refusal, Chalice's own 404 and 405, an unexpected
exception, a preflight), carries the security headers and a request id. CORS answers only the
origins of ATS_CORS_ALLOW_ORIGINS. The logs have one JSON line per request, with its id, and never a
password, a token, a password hash or the signing secret. SQLite only: none of this is storage's.
"""

import json
import os
import re
from dataclasses import replace

import pytest

from tests.api.helpers import MISSING_ID, assert_error
from tests.conftest import ROOT, Reply

from .logcheck import LogCapture, SecretRecorder, record_traffic

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def _stage_origins(stage: str) -> list[str]:
    """CORS is set per stage in .chalice/config.json (the test client applies the stage's variables)."""
    with open(os.path.join(ROOT, ".chalice", "config.json")) as f:
        config = json.load(f)
    value = config["stages"][stage]["environment_variables"].get("ATS_CORS_ALLOW_ORIGINS", "")
    return [origin.strip() for origin in value.split(",") if origin.strip()]


ALLOWED = (_stage_origins("dev") or ["(none)"])[0]
PASSWORD = "correct horse battery"


def assert_security_headers(reply) -> None:
    h = reply.headers
    assert h.get("x-content-type-options") == "nosniff", h
    assert h.get("x-frame-options") == "DENY", h
    assert "frame-ancestors 'none'" in h.get("content-security-policy", ""), h
    assert h.get("referrer-policy") == "no-referrer", h
    assert h.get("strict-transport-security", "").startswith("max-age="), h
    assert REQUEST_ID.match(h.get("x-request-id", "")), h
    assert "server" not in h and "x-powered-by" not in h, h


def get_page(api, path: str, headers: dict | None = None) -> Reply:
    """A GET whose answer need not be JSON (the docs page, its script)."""
    response = api.client.http.request("GET", path, headers=headers or {}, body=b"")
    return Reply(response.status_code, response.body, {k.lower(): v for k, v in response.headers.items()})


@pytest.fixture
def people(api):
    candidate = api.signup("cora@example.com")
    recruiter = api.signup("ray@example.com", "recruiter")
    job = api.create_job(recruiter[1], title="Header Engineer")
    application = api.apply(candidate[1], job["id"])
    return {"candidate": candidate[1], "recruiter": recruiter[1], "job": job, "application": application}


def _every_kind_of_response(api, people, monkeypatch):
    """(what, reply) for answers of every kind the API gives."""
    import chalicelib.services.users as users
    from chalicelib import bootstrap

    c, r, job = people["candidate"], people["recruiter"], people["job"]
    replies = [
        ("200 ping", api.get("/ping")),
        ("200 signed in", api.get("/auth/me", token=c)),
        ("200 list", api.get("/jobs/list")),
        ("200 openapi", api.get("/openapi.json")),
        ("200 docs", get_page(api, "/docs")),
        ("200 docs script", get_page(api, "/docs/redoc.standalone.js")),
        ("201 create", api.post("/jobs/create", {"title": "Another"}, token=r)),
        ("204 delete", api.delete(f"/jobs/{api.create_job(r)['id']}", token=r)),
        ("204 preflight", api.call("OPTIONS", "/jobs/create")),
        ("400 malformed json", api.call("POST", "/auth/login", raw=b"{nope")),
        ("401 no token", api.get("/auth/me")),
        ("401 bad token", api.get("/auth/me", token="a.b.c")),
        ("401 wrong password", api.post("/auth/login", {"email": "cora@example.com", "password": "not it at all"})),
        ("403 role", api.post("/jobs/create", {"title": "x"}, token=c)),
        ("404 unknown route", api.get("/no/such/route")),
        ("404 unknown root", api.get("/")),
        ("404 missing object", api.get(f"/jobs/{MISSING_ID}")),
        ("405 wrong method", api.call("PUT", "/auth/login")),
        ("405 wrong method on an object", api.call("PATCH", f"/jobs/{job['id']}")),
        ("409 conflict", api.post("/applications/create", {"job_id": job["id"]}, token=c)),
        ("412 stale If-Match", api.put(f"/jobs/{job['id']}", {"title": "y"}, token=r, headers={"if-match": '"999"'})),
        ("413 too large", api.call("POST", "/auth/register", raw=b'{"a": "' + b"x" * (1024 * 1024) + b'"}')),
        ("422 validation", api.post("/auth/register", {"email": "nope", "password": "x"})),
    ]
    with monkeypatch.context() as patch:
        patch.setattr(users, "get_me", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("injected failure")))
        replies.append(("500 unexpected exception", api.get("/auth/me", token=c)))
        driver = type(bootstrap.storage(bootstrap.settings()).items)
        patch.setattr(driver, "ping", lambda self: (_ for _ in ()).throw(ConnectionError("down")))
        replies.append(("503 storage down", api.get("/health")))
    return replies


def test_every_response_carries_the_security_headers_and_a_request_id(api, people, monkeypatch):
    replies = _every_kind_of_response(api, people, monkeypatch)
    statuses = {what: reply.status for what, reply in replies}
    assert all(what.startswith(str(status)) for what, status in statuses.items()), statuses
    for what, reply in replies:
        assert_security_headers(reply)
        if what == "503 storage down":  # readiness answers its report, not an error
            assert reply.body["status"] == "unavailable"
        elif reply.status >= 400:
            assert_error(reply, reply.status)
        if reply.headers.get("content-type", "").startswith("application/json"):
            assert reply.headers.get("cache-control") == "no-store", (what, reply.headers)
    ids = [reply.headers["x-request-id"] for _, reply in replies]
    assert len(set(ids)) == len(ids), "a request id was given twice"
    body = dict(replies)["500 unexpected exception"].body
    assert body["error"]["code"] == "internal_error" and "injected" not in json.dumps(body)


@pytest.mark.parametrize("sent", ["abc", "req-123.ABC_def", "0" * 128, "01HZZZZZZZZZZZZZZZZZZZZZZZ"])
def test_a_valid_incoming_request_id_is_echoed(api, sent):
    for reply in (
        api.get("/ping", headers={"x-request-id": sent}),
        api.get("/nope", headers={"x-request-id": sent}),
        api.get("/auth/me", headers={"x-request-id": sent}),
    ):
        assert reply.headers["x-request-id"] == sent


@pytest.mark.parametrize(
    "sent",
    [
        "",
        " ",
        "has space",
        "x" * 129,
        "<script>alert(1)</script>",
        "a\tb",
        "id;rm -rf",
        "ünïcode",
        '"quoted"',
        "a/b",
        "a\\b",
    ],
)
def test_an_invalid_incoming_request_id_is_replaced(api, sent):
    reply = api.get("/ping", headers={"x-request-id": sent})
    assert reply.headers["x-request-id"] != sent and REQUEST_ID.match(reply.headers["x-request-id"])


# --- CORS ---------------------------------------------------------------------------------------


@pytest.fixture
def cors():
    """The dev stage (the one the API tests run) allows the origins of a local front end."""
    assert _stage_origins("dev"), "the dev stage sets ATS_CORS_ALLOW_ORIGINS"
    assert "*" not in _stage_origins("dev")


@pytest.mark.parametrize(
    "method,path,status",
    [
        ("GET", "/jobs/list", 200),
        ("GET", "/auth/me", 401),
        ("GET", "/no/such/route", 404),
        ("PUT", "/auth/login", 405),
        ("POST", "/auth/login", 422),
        ("GET", f"/jobs/{MISSING_ID}", 404),
    ],
)
def test_an_allowed_origin_gets_cors_headers_on_every_answer(api, cors, method, path, status):
    reply = api.call(method, path, {} if method == "POST" else None, headers={"origin": ALLOWED})
    assert reply.status == status
    assert reply.headers.get("access-control-allow-origin") == ALLOWED
    assert "Origin" in reply.headers.get("vary", "")
    exposed = reply.headers.get("access-control-expose-headers", "")
    assert "X-Request-Id" in exposed and "ETag" in exposed and "Retry-After" in exposed
    assert reply.headers.get("access-control-allow-credentials") is None
    assert_security_headers(reply)


@pytest.mark.parametrize(
    "path,methods",
    [
        ("/jobs/create", {"POST"}),
        ("/jobs", {"GET", "POST"}),
        (f"/jobs/{MISSING_ID}", {"GET", "PUT", "DELETE"}),
        (f"/applications/{MISSING_ID}/transition", {"POST"}),
        ("/auth/login", {"POST"}),
    ],
)
def test_a_preflight_from_an_allowed_origin_is_204_with_methods_and_headers(api, cors, path, methods):
    reply = api.call(
        "OPTIONS",
        path,
        headers={
            "origin": ALLOWED,
            "access-control-request-method": sorted(methods)[0],
            "access-control-request-headers": "authorization, content-type",
        },
    )
    assert reply.status == 204
    assert reply.headers.get("access-control-allow-origin") == ALLOWED
    allowed_methods = {m.strip() for m in reply.headers["access-control-allow-methods"].split(",")}
    assert methods <= allowed_methods and "OPTIONS" not in allowed_methods
    allowed_headers = {h.strip().lower() for h in reply.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "if-match", "idempotency-key"} <= allowed_headers
    assert int(reply.headers["access-control-max-age"]) > 0
    assert_security_headers(reply)


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example.com",
        "null",
        f"{ALLOWED}.evil.com",
        f"{ALLOWED}/",
        ALLOWED.replace("http://", "https://"),
        f"{ALLOWED}0",
        ALLOWED.upper(),
        "",
        f"{ALLOWED}, https://evil.example.com",
    ],
)
def test_a_foreign_origin_gets_no_cors_headers(api, cors, origin):
    for reply in (
        api.get("/jobs/list", headers={"origin": origin}),
        api.get("/auth/me", headers={"origin": origin}),
        api.call("OPTIONS", "/jobs/create", headers={"origin": origin, "access-control-request-method": "POST"}),
    ):
        assert not any(name.startswith("access-control-") for name in reply.headers), reply.headers
        assert_security_headers(reply)


def test_prod_allows_no_origin_until_one_is_set(backend):
    assert _stage_origins("prod") == []


def test_without_allowed_origins_nobody_gets_cors_headers(settings):
    """The stages cannot be switched in one test client, so this asks the middleware's own function."""
    from ats_functions.http import cors_headers

    none = replace(settings, cors_allow_origins=())
    for origin in (ALLOWED, "https://evil.example.com", "*", None):
        assert cors_headers(none, origin, None) == {} and cors_headers(none, origin, "GET, POST") == {}


def test_a_wildcard_allows_any_origin_without_credentials(settings):
    from ats_functions.http import cors_headers

    anyone = replace(settings, cors_allow_origins=("*",))
    headers = cors_headers(anyone, "https://anyone.example.com", None)
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert not any(name.lower() == "access-control-allow-credentials" for name in headers)
    assert cors_headers(anyone, None, None) == {}  # not a browser's cross-origin request


# --- logs ---------------------------------------------------------------------------------------


@pytest.fixture
def captured(monkeypatch):
    recorder = SecretRecorder()
    record_traffic(monkeypatch, recorder)
    with LogCapture() as capture:
        yield capture, recorder


def test_a_full_scenario_logs_one_line_per_request_and_no_secret(api, settings, monkeypatch, captured):
    import chalicelib.services.users as users
    from tests.conftest import settle_email

    capture, recorder = captured
    sent = []

    def call(method, path, body=None, **kw):
        reply = api.call(method, path, body, **kw)
        sent.append((method, path, reply))
        return reply

    passwords = {
        "candidate": "Candidate pass phrase 1",
        "recruiter": "Recruiter pass phrase 2",
        "wrong": "Totally wrong pass phrase 3",
    }
    call("POST", "/auth/register", {"email": "lena@example.com", "password": passwords["candidate"], "name": "Lena"})
    call(
        "POST", "/auth/register", {"email": "rolf@example.com", "password": passwords["recruiter"], "role": "recruiter"}
    )
    candidate = call("POST", "/auth/login", {"email": "lena@example.com", "password": passwords["candidate"]}).body[
        "access_token"
    ]
    recruiter = call("POST", "/auth/login", {"email": "rolf@example.com", "password": passwords["recruiter"]}).body[
        "access_token"
    ]
    assert call("POST", "/auth/login", {"email": "lena@example.com", "password": passwords["wrong"]}).status == 401
    assert call("POST", "/auth/login", {"email": "nobody@example.com", "password": passwords["wrong"]}).status == 401
    assert call("GET", "/auth/me", token=candidate).status == 200
    job = call("POST", "/jobs/create", {"title": "Logged Job"}, token=recruiter).body["job"]
    application = call(
        "POST", "/applications/create", {"job_id": job["id"], "cover_letter": "Hi"}, token=candidate
    ).body["application"]
    assert (
        call(
            "POST",
            "/applications/change-status",
            {"application_id": application["id"], "status": "screening", "reason": "good"},
            token=recruiter,
        ).status
        == 200
    )
    assert (
        call("POST", f"/applications/{application['id']}/transition", {"to_state": "hired"}, token=recruiter).status
        == 409
    )
    assert call("POST", "/auth/register", {"email": "bad", "password": passwords["wrong"]}).status == 422
    assert call("GET", "/auth/me", token=candidate + "x").status == 401
    assert call("GET", "/nope/nope").status == 404
    with monkeypatch.context() as patch:
        patch.setattr(users, "get_me", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("injected failure")))
        assert call("GET", "/auth/me", token=candidate).status == 500
    settle_email()

    lines = capture.requests()
    assert len(lines) == len(sent), [(line["method"], line["path"]) for line in lines]
    for line, (method, _, reply) in zip(lines, sent, strict=True):
        assert line["request_id"] == reply.headers["x-request-id"]
        assert (line["method"], line["status"]) == (method, reply.status)
        assert isinstance(line["path"], str) and line["path"].startswith("/")
        assert line["level"] == "INFO" and isinstance(line["duration_ms"], (int, float))
    # A signed-in request names its user; the rest of its lines carry its request id.
    me = next(
        line for line, (_, path, reply) in zip(lines, sent, strict=True) if path == "/auth/me" and reply.status == 200
    )
    assert me["user_id"] == application["candidate_id"]
    ids = {reply.headers["x-request-id"] for _, _, reply in sent}
    failed = [e for e in capture.entries() if e["level"] == "ERROR"]
    assert failed and all(e.get("request_id") in ids for e in failed)  # the 500, with its request's id

    assert set(passwords.values()) <= recorder.passwords and {candidate, recruiter} <= recorder.tokens
    assert recorder.hashes and len(capture.lines) > len(sent)  # emails and refusals were logged too
    recorder.assert_clean(capture.lines)


def test_the_log_check_finds_what_it_looks_for(backend):
    """The check itself: a line with a password, a token, a hash or the secret is caught."""
    from chalicelib.auth.passwords import hash_password

    recorder = SecretRecorder()
    recorder.add_password("Candidate pass phrase 1")
    recorder.tokens.add("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ")
    made = hash_password("Candidate pass phrase 1", "fast")
    recorder.add_hash(made)
    digest = made.rsplit("$", 1)[1]
    for line in (
        '{"message": "Candidate pass phrase 1"}',
        '{"t": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.xyz"}',
        f'{{"h": "{made}"}}',
        f'{{"d": "{digest}"}}',
        '{"h": "$argon2id$v=19$"}',
    ):
        assert recorder.leaks([line]), line
    assert not recorder.leaks(['{"message": "request", "path": "/auth/login", "status": 401}'])
