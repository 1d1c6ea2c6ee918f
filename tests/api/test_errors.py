"""What every route shares: the error shape, unknown routes, wrong methods, bodies, tokens, liveness."""

import json
import time

import jwt
import pytest

from chalicelib.auth.tokens import issue_token
from chalicelib.domain.models import Principal
from tests.conftest import Reply

from .helpers import MISSING_ID, assert_error

# (method, path, role of the caller who passes authentication, needs an application/job id)
BODY_ROUTES = [
    ("POST", "/auth/register", None),
    ("POST", "/auth/login", None),
    ("POST", "/jobs/create", "recruiter"),
    ("POST", "/jobs", "recruiter"),
    ("PUT", "/jobs/{job}", "recruiter"),
    ("POST", "/applications/create", "candidate"),
    ("POST", "/applications", "candidate"),
    ("POST", "/applications/change-status", "recruiter"),
    ("POST", "/applications/{application}/transition", "recruiter"),
]


@pytest.fixture
def route(request, api, recruiter, candidate, job, application):
    """A body route of BODY_ROUTES, made concrete: the path with real ids, the caller's token."""
    method, path, role = request.param
    token = {"recruiter": recruiter.token, "candidate": candidate.token, None: None}[role]
    return method, path.format(job=job["id"], application=application["id"]), token


def body_routes():
    return pytest.mark.parametrize("route", BODY_ROUTES, indirect=True, ids=[f"{m} {p}" for m, p, _ in BODY_ROUTES])


MALFORMED = [b"{not json", b'{"a": 1', b"\xff\xfe", b"{'single': 'quotes'}"]
NOT_OBJECTS = [b"[]", b'["a"]', b'"text"', b"42", b"null", b"true", b""]


@body_routes()
def test_malformed_json_is_400(api, route):
    method, path, token = route
    for raw in MALFORMED:
        assert_error(api.call(method, path, raw=raw, token=token), 400, "malformed_json")


@body_routes()
def test_body_that_is_not_an_object_is_400(api, route):
    method, path, token = route
    for raw in NOT_OBJECTS:
        assert_error(api.call(method, path, raw=raw, token=token), 400)


@body_routes()
def test_body_over_one_mebibyte_is_413(api, route):
    method, path, token = route
    raw = b'{"email": "' + b"a" * (1024 * 1024) + b'"}'
    assert_error(api.call(method, path, raw=raw, token=token), 413)


def test_body_just_under_the_limit_is_not_413(api, recruiter):
    raw = b'{"title": "Engineer"' + b" " * (1024 * 1024 - 200) + b"}"  # JSON may hold that much whitespace
    assert len(raw) < 1024 * 1024
    assert api.call("POST", "/jobs/create", raw=raw, token=recruiter.token).status == 201


def nested(depth: int) -> bytes:
    """A body object whose field `nested` holds lists nested until the whole is `depth` levels deep."""
    return b'{"nested": ' + b"[" * (depth - 1) + b"1" + b"]" * (depth - 1) + b"}"


def send_deep(api, method: str, path: str, raw: bytes, token: str | None) -> Reply:
    """Straight to the client: the suite's own traffic recorder parses bodies with a parser these overflow."""
    headers = {"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})}
    response = api.client.http.request(method, path, headers=headers, body=raw)
    return Reply(
        response.status_code,
        json.loads(response.body) if response.body else None,
        {k.lower(): v for k, v in response.headers.items()},
    )


# 33: one level too deep; 900: deep, yet under what Python's parser takes; 1 000 and 100 000: beyond it.
@body_routes()
@pytest.mark.parametrize("depth", [33, 900, 1000, 100_000])
def test_json_nested_too_deep_is_400_malformed_json(api, route, depth):
    method, path, token = route
    error = assert_error(send_deep(api, method, path, nested(depth), token), 400, "malformed_json")
    assert "32 levels" in error["message"]
    deep_objects = b'{"a": ' * depth + b"1" + b"}" * depth
    assert_error(send_deep(api, method, path, deep_objects, token), 400, "malformed_json")


@body_routes()
def test_json_nested_within_the_limit_reaches_validation(api, route):
    method, path, token = route
    reply = api.call(method, path, raw=nested(32), token=token)
    assert_error(reply, 422, "validation_error")
    assert "nested" in {detail["field"] for detail in reply.body["error"]["details"]}


def test_a_deep_body_writes_nothing(api, recruiter):
    body = b'{"title": "Deep", "description": ' + b"[" * 900 + b"]" * 900 + b"}"
    assert_error(send_deep(api, "POST", "/jobs/create", body, recruiter.token), 400, "malformed_json")
    assert api.get("/jobs/list?mine=true", token=recruiter.token).body["items"] == []


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/nope"),
        ("POST", "/nope"),
        ("GET", "/"),
        ("DELETE", "/nope/nested"),
        ("GET", "/jobs/create/extra"),
        ("GET", "/applications/x/y/z"),
        ("PUT", "/auth/login/x"),
        ("GET", "/a/b/c/d/e/f"),
    ],
)
def test_unknown_route_is_404_in_the_error_shape(api, method, path):
    assert_error(api.call(method, path), 404, "not_found")


WRONG_METHODS = [
    ("GET", "/auth/register"),
    ("PUT", "/auth/login"),
    ("DELETE", "/auth/me"),
    ("POST", "/auth/me"),
    ("DELETE", "/jobs/create"),
    ("POST", "/jobs/list"),
    ("PATCH", "/jobs"),
    ("POST", f"/jobs/{MISSING_ID}"),
    ("PATCH", f"/jobs/{MISSING_ID}"),
    ("GET", "/applications/create"),
    ("GET", "/applications/change-status"),
    ("PUT", "/applications"),
    ("DELETE", f"/applications/{MISSING_ID}"),
    ("GET", f"/applications/{MISSING_ID}/transition"),
    ("POST", f"/applications/{MISSING_ID}/history"),
    ("POST", f"/jobs/{MISSING_ID}/applications"),
    ("POST", "/ping"),
    ("DELETE", "/ping/ping"),
    ("POST", "/health"),
]


@pytest.mark.parametrize("method,path", WRONG_METHODS)
def test_wrong_method_is_405_in_the_error_shape(api, method, path):
    reply = api.call(method, path)
    assert_error(reply, 405, "method_not_allowed")
    assert method not in reply.headers.get("allow", "")


# --- tokens -------------------------------------------------------------------------------------

SIGNED_IN_GETS = ["/auth/me", "/applications", f"/applications/{MISSING_ID}", f"/applications/{MISSING_ID}/history"]


@pytest.mark.parametrize("path", SIGNED_IN_GETS)
def test_signed_in_route_without_a_token_is_401(api, path):
    assert_error(api.get(path), 401)


def _bad_tokens(settings, user_id):
    now = int(time.time())
    base = {
        "sub": user_id,
        "role": "candidate",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "x",
        "iss": settings.jwt_issuer,
    }
    return {
        "garbage": "not-a-token",
        "expired": issue_token(
            Principal(user_id, "candidate", "01HZZZZZZZZZZZZZZZZZZZZZZS", 0),
            secret=settings.jwt_secret,
            ttl_seconds=-120,
            issuer=settings.jwt_issuer,
        ),
        "wrong-secret": jwt.encode(base, "w" * 64, algorithm="HS256"),
        "alg-none": jwt.encode(base, None, algorithm="none"),
        "missing-exp": jwt.encode(
            {k: v for k, v in base.items() if k != "exp"}, settings.jwt_secret, algorithm="HS256"
        ),
        "missing-sub": jwt.encode(
            {k: v for k, v in base.items() if k != "sub"}, settings.jwt_secret, algorithm="HS256"
        ),
        "bad-role": jwt.encode({**base, "role": "root"}, settings.jwt_secret, algorithm="HS256"),
    }


BAD_TOKENS = ["garbage", "expired", "wrong-secret", "alg-none", "missing-exp", "missing-sub", "bad-role"]


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_a_bad_token_is_401_even_on_public_routes(api, settings, candidate, kind):
    token = _bad_tokens(settings, candidate.id)[kind]
    for path in ("/auth/me", "/applications", "/jobs/list", "/jobs", "/applications/" + MISSING_ID):
        assert_error(api.get(path, token=token), 401, "invalid_token")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc"])
def test_an_authorization_header_that_is_not_bearer_is_401(api, header):
    assert_error(api.get("/auth/me", headers={"authorization": header}), 401)


def test_a_valid_token_of_the_right_secret_is_accepted(api, settings, candidate):
    token = issue_token(
        Principal(candidate.id, "candidate", "01HZZZZZZZZZZZZZZZZZZZZZZS", 0),
        secret=settings.jwt_secret,
        ttl_seconds=60,
        issuer=settings.jwt_issuer,
    )
    assert api.get("/auth/me", token=token).body["user"]["id"] == candidate.id


# --- liveness and readiness ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ping", "/ping/ping"])
def test_ping_answers_anyone(api, path):
    reply = api.get(path)
    assert (reply.status, reply.body["status"]) == (200, "ok")


def test_health_is_200_when_storage_answers(api):
    reply = api.get("/health")
    assert (reply.status, reply.body["status"], reply.body["checks"]["storage"]) == (200, "ok", "ok")


def test_health_is_503_when_storage_does_not_answer(api, uow_factory, monkeypatch):
    def unreachable(self):
        raise ConnectionError("storage down")

    monkeypatch.setattr(type(uow_factory().storage.items), "ping", unreachable)  # the driver's
    reply = api.get("/health")
    assert (reply.status, reply.body["status"]) == (503, "unavailable")
    assert reply.body["checks"]["storage"].startswith("unavailable")
