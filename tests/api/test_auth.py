"""POST /auth/register, POST /auth/login, GET /auth/me."""

import pytest

from .conftest import PASSWORD
from .helpers import assert_error, error_fields

USER_KEYS = {"id", "email", "name", "role", "phone", "timezone", "active", "email_verified", "created_at"}


def register(api, **body):
    return api.post("/auth/register", {"email": "dana@example.com", "password": PASSWORD, **body})


# --- register -------------------------------------------------------------------------------


def test_register_creates_a_candidate_by_default(api):
    reply = register(api, name="Dana")
    assert reply.status == 201
    user = reply.body["user"]
    assert set(user) == USER_KEYS
    assert (user["email"], user["name"], user["role"]) == ("dana@example.com", "Dana", "candidate")
    assert user["created_at"].endswith("Z")


def test_register_a_recruiter(api):
    assert register(api, role="recruiter").body["user"]["role"] == "recruiter"


def test_register_never_returns_the_password_or_its_hash(api):
    reply = register(api)
    assert PASSWORD not in str(reply.body) and "argon2" not in str(reply.body)


@pytest.mark.parametrize("second", ["dana@example.com", "DANA@EXAMPLE.COM", "Dana@Example.com", " dana@example.com "])
def test_register_a_taken_email_is_409_whatever_its_case(api, second):
    register(api)
    assert_error(api.post("/auth/register", {"email": second, "password": PASSWORD}), 409, "email_taken")


def test_register_without_password_is_422_naming_password(api):
    # The original spec's example: {"email", "name", "role"} and no password.
    reply = api.post("/auth/register", {"email": "dana@example.com", "name": "Dana", "role": "candidate"})
    assert_error(reply, 422, "validation_error")
    assert error_fields(reply) == {"password"}


def test_register_as_admin_is_refused(api):
    reply = register(api, role="admin")
    assert_error(reply, 422)
    assert "role" in error_fields(reply)
    assert api.post("/auth/login", {"email": "dana@example.com", "password": PASSWORD}).status == 401


@pytest.mark.parametrize(
    "field,value",
    [
        ("email", 5),
        ("email", None),
        ("email", ["a@b.co"]),
        ("password", 12345678),
        ("password", None),
        ("name", 5),
        ("name", {"first": "D"}),
        ("role", 1),
        ("role", "superuser"),
        ("role", None),
    ],
)
def test_register_with_a_wrong_type_is_422_naming_the_field(api, field, value):
    reply = register(api, **{field: value})
    assert_error(reply, 422)
    assert field in error_fields(reply)


@pytest.mark.parametrize(
    "field,value",
    [
        ("email", "a" * 250 + "@example.com"),
        ("password", "p" * 129),
        ("name", "n" * 201),
    ],
)
def test_register_with_an_over_long_string_is_422_naming_the_field(api, field, value):
    reply = register(api, **{field: value})
    assert_error(reply, 422)
    assert field in error_fields(reply)


@pytest.mark.parametrize(
    "field,value",
    [
        ("email", "not-an-email"),
        ("email", ""),
        ("password", "short"),
        ("name", "   "),
    ],
)
def test_register_with_an_invalid_value_is_422_naming_the_field(api, field, value):
    reply = register(api, **{field: value})
    assert_error(reply, 422)
    assert field in error_fields(reply)


def test_register_with_a_missing_email_is_422(api):
    reply = api.post("/auth/register", {"password": PASSWORD})
    assert_error(reply, 422)
    assert error_fields(reply) == {"email"}


def test_recruiter_signup_switched_off_is_403(api, monkeypatch):
    monkeypatch.setenv("ATS_ALLOW_RECRUITER_SIGNUP", "false")
    assert_error(register(api, role="recruiter"), 403)
    assert register(api, role="candidate").status == 201


# --- login --------------------------------------------------------------------------------------


def test_login_answers_a_bearer_token_and_the_user(api, candidate):
    reply = api.post("/auth/login", {"email": "carl@example.com", "password": PASSWORD})
    assert reply.status == 200
    assert set(reply.body) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_expires_in",
        "user",
    }
    assert (reply.body["token_type"], reply.body["expires_in"]) == ("Bearer", 900)
    assert reply.body["user"]["id"] == candidate.id
    me = api.get("/auth/me", token=reply.body["access_token"])
    assert me.body["user"]["id"] == candidate.id


def test_login_email_is_case_insensitive(api, candidate):
    assert api.post("/auth/login", {"email": "CARL@Example.COM", "password": PASSWORD}).status == 200


def test_login_keeps_spaces_that_are_part_of_the_password(api):
    password = "  spaces around me  "
    assert api.post("/auth/register", {"email": "sam@example.com", "password": password}).status == 201
    assert api.post("/auth/login", {"email": "sam@example.com", "password": password}).status == 200
    assert_error(api.post("/auth/login", {"email": "sam@example.com", "password": password.strip()}), 401)


def test_wrong_password_and_unknown_email_give_the_same_401(api, candidate):
    wrong_password = api.post("/auth/login", {"email": "carl@example.com", "password": "not the password"})
    unknown_email = api.post("/auth/login", {"email": "nobody@example.com", "password": PASSWORD})
    assert_error(wrong_password, 401, "invalid_credentials")
    assert_error(unknown_email, 401, "invalid_credentials")
    assert wrong_password.body == unknown_email.body


@pytest.mark.parametrize(
    "body,field",
    [
        ({"password": PASSWORD}, "email"),
        ({"email": "carl@example.com"}, "password"),
        ({"email": 1, "password": PASSWORD}, "email"),
        ({"email": "carl@example.com", "password": 1}, "password"),
        ({"email": "x" * 255, "password": PASSWORD}, "email"),
        ({"email": "carl@example.com", "password": "p" * 1025}, "password"),
    ],
)
def test_login_with_invalid_fields_is_422(api, body, field):
    reply = api.post("/auth/login", body)
    assert_error(reply, 422)
    assert field in error_fields(reply)


# --- login throttling: by (email, address), with per-email and per-address ceilings ----------------

WRONG = "not the password"


@pytest.fixture
def from_address(api, monkeypatch):
    """Log in as if from `address`: chalice's local gateway reports the source address it is given."""
    from chalice.local import LambdaEventConverter

    def login(address: str, email: str, password: str):
        monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", address)
        return api.post("/auth/login", {"email": email, "password": password})

    return login


def test_five_wrong_guesses_lock_their_pair_and_the_owner_still_signs_in_elsewhere(api, candidate, from_address):
    for _ in range(5):
        assert_error(from_address("203.0.113.7", "carl@example.com", WRONG), 401, "invalid_credentials")
    locked = from_address("203.0.113.7", "carl@example.com", PASSWORD)  # even the right password, from there
    assert_error(locked, 429, "rate_limited")
    assert 0 < int(locked.headers["retry-after"]) <= 900
    owner = from_address("198.51.100.1", "carl@example.com", PASSWORD)
    assert owner.status == 200 and owner.body["user"]["id"] == candidate.id
    assert_error(from_address("203.0.113.7", "carl@example.com", PASSWORD), 429, "rate_limited")


def test_behind_one_shared_address_twenty_failures_lock_no_one_else_out(api, candidate, other_candidate, from_address):
    for n in range(20):  # every caller here has the same address, as under `chalice local`
        assert_error(from_address("127.0.0.1", f"guess{n % 4}@example.com", WRONG), 401)
    for email in ("carl@example.com", "cleo@example.com"):
        assert from_address("127.0.0.1", email, PASSWORD).status == 200


def test_guesses_spread_over_addresses_meet_the_emails_ceiling(api, candidate, from_address, monkeypatch):
    monkeypatch.setenv("ATS_LOGIN_MAX_FAILURES_PER_EMAIL", "6")
    for n in range(3):  # two guesses each: no pair is locked
        for _ in range(2):
            assert_error(from_address(f"192.0.2.{n}", "carl@example.com", WRONG), 401)
    assert_error(from_address("192.0.2.99", "carl@example.com", PASSWORD), 429, "rate_limited")
    assert from_address("192.0.2.99", "cleo@example.com", WRONG).status == 401  # other emails are not affected


def test_failures_from_one_address_meet_its_ceiling_and_other_addresses_sign_in(
    api, candidate, from_address, monkeypatch
):
    monkeypatch.setenv("ATS_LOGIN_MAX_FAILURES_PER_ADDRESS", "4")
    for n in range(4):
        assert_error(from_address("203.0.113.7", f"guess{n}@example.com", WRONG), 401)
    assert_error(from_address("203.0.113.7", "carl@example.com", PASSWORD), 429, "rate_limited")
    assert from_address("198.51.100.1", "carl@example.com", PASSWORD).status == 200


def test_a_successful_login_gives_the_pair_a_fresh_allowance(api, candidate, from_address):
    for _ in range(2):
        for _ in range(4):
            assert_error(from_address("203.0.113.7", "carl@example.com", WRONG), 401)
        assert from_address("203.0.113.7", "carl@example.com", PASSWORD).status == 200


# --- me -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["candidate", "recruiter", "admin"])
def test_me_is_the_caller(api, request, who):
    actor = request.getfixturevalue(who)
    reply = api.get("/auth/me", token=actor.token)
    assert reply.status == 200
    assert set(reply.body["user"]) == USER_KEYS
    assert (reply.body["user"]["id"], reply.body["user"]["role"]) == (actor.id, who)


def test_me_without_a_token_is_401(api):
    assert_error(api.get("/auth/me"), 401, "not_authenticated")
