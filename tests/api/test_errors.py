"""What every route shares: the error shape, unknown routes, wrong methods, bodies, tokens, liveness."""
import time

import jwt
import pytest

from chalicelib.auth.tokens import issue_token

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
    filler = "a" * (1024 * 1024 - 200)
    raw = ('{"title": "Engineer", "ignored": "%s"}' % filler).encode()
    assert len(raw) < 1024 * 1024
    assert api.call("POST", "/jobs/create", raw=raw, token=recruiter.token).status == 201


@pytest.mark.parametrize("method,path", [
    ("GET", "/nope"), ("POST", "/nope"), ("GET", "/"), ("DELETE", "/nope/nested"),
    ("GET", "/jobs/create/extra"), ("GET", "/applications/x/y/z"), ("PUT", "/auth/login/x"),
    ("GET", "/a/b/c/d/e/f"),
])
def test_unknown_route_is_404_in_the_error_shape(api, method, path):
    assert_error(api.call(method, path), 404, "not_found")


WRONG_METHODS = [
    ("GET", "/auth/register"), ("PUT", "/auth/login"), ("DELETE", "/auth/me"), ("POST", "/auth/me"),
    ("DELETE", "/jobs/create"), ("POST", "/jobs/list"), ("PATCH", "/jobs"), ("POST", f"/jobs/{MISSING_ID}"),
    ("PATCH", f"/jobs/{MISSING_ID}"), ("GET", "/applications/create"), ("GET", "/applications/change-status"),
    ("PUT", "/applications"), ("DELETE", f"/applications/{MISSING_ID}"),
    ("GET", f"/applications/{MISSING_ID}/transition"), ("POST", f"/applications/{MISSING_ID}/history"),
    ("POST", f"/jobs/{MISSING_ID}/applications"), ("POST", "/ping"), ("DELETE", "/ping/ping"), ("POST", "/health"),
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
    base = {"sub": user_id, "role": "candidate", "iat": now, "nbf": now, "exp": now + 600, "jti": "x",
            "iss": settings.jwt_issuer}
    return {
        "garbage": "not-a-token",
        "expired": issue_token(user_id=user_id, role="candidate", secret=settings.jwt_secret, ttl_seconds=-120,
                               issuer=settings.jwt_issuer),
        "wrong-secret": jwt.encode(base, "w" * 64, algorithm="HS256"),
        "alg-none": jwt.encode(base, None, algorithm="none"),
        "missing-exp": jwt.encode({k: v for k, v in base.items() if k != "exp"}, settings.jwt_secret,
                                  algorithm="HS256"),
        "missing-sub": jwt.encode({k: v for k, v in base.items() if k != "sub"}, settings.jwt_secret,
                                  algorithm="HS256"),
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
    token = issue_token(user_id=candidate.id, role="candidate", secret=settings.jwt_secret, ttl_seconds=60,
                        issuer=settings.jwt_issuer)
    assert api.get("/auth/me", token=token).body["user"]["id"] == candidate.id


# --- liveness and readiness ---------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/ping", "/ping/ping"])
def test_ping_answers_anyone(api, path):
    reply = api.get(path)
    assert (reply.status, reply.body["status"]) == (200, "ok")


def test_health_is_200_when_storage_answers(api):
    reply = api.get("/health")
    assert (reply.status, reply.body["status"], reply.body["checks"]["storage"]) == (200, "ok", "ok")


def test_health_is_503_when_storage_does_not_answer(api, monkeypatch):
    import chalicelib.services.health as health

    def unreachable(settings):
        raise ConnectionError("storage down")

    monkeypatch.setattr(health, "unit_of_work", unreachable)
    reply = api.get("/health")
    assert (reply.status, reply.body["status"]) == (503, "unavailable")
    assert reply.body["checks"]["storage"].startswith("unavailable")
