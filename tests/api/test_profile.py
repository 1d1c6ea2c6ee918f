"""PATCH /auth/me: a user changes their own name, phone (E.164) and timezone (IANA), on every backend."""

import pytest

from .helpers import assert_error, error_fields


def me(api, actor):
    reply = api.get("/auth/me", token=actor.token)
    assert reply.status == 200, reply.body
    return reply.body["user"]


def test_a_user_sets_name_phone_and_timezone(api, candidate):
    reply = api.patch(
        "/auth/me", {"name": "Cara Doe", "phone": "+49 30 1234567", "timezone": "Europe/Berlin"}, token=candidate.token
    )

    assert reply.status == 200, reply.body
    user = reply.body["user"]
    assert (user["name"], user["phone"], user["timezone"]) == ("Cara Doe", "+49301234567", "Europe/Berlin")
    assert me(api, candidate) == user  # stored, as answered
    assert (user["id"], user["email"], user["role"]) == (candidate.id, candidate.user["email"], "candidate")


def test_only_the_fields_sent_change_and_null_clears_phone_or_timezone(api, recruiter):
    api.patch("/auth/me", {"phone": "+1 202-555-0143", "timezone": "America/New_York"}, token=recruiter.token)

    reply = api.patch("/auth/me", {"timezone": None}, token=recruiter.token)

    assert reply.status == 200, reply.body
    user = me(api, recruiter)
    assert (user["name"], user["phone"], user["timezone"]) == (recruiter.user["name"], "+12025550143", None)


def test_an_empty_change_changes_nothing(api, candidate):
    before = me(api, candidate)
    reply = api.patch("/auth/me", {}, token=candidate.token)
    assert reply.status == 200 and reply.body["user"] == before == me(api, candidate)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"phone": "030 1234567"}, "phone"),  # no country code
        ({"phone": "+49 1"}, "phone"),  # too short for any German number
        ({"phone": "call me"}, "phone"),
        ({"phone": 4930123}, "phone"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "localtime"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"email": "new@example.com"}, "email"),  # not changed here
        ({"role": "admin"}, "role"),
        ({"password_hash": "x"}, "password_hash"),
    ],
)
def test_a_bad_change_is_422_naming_the_field_and_changes_nothing(api, candidate, body, field):
    before = me(api, candidate)

    reply = api.patch("/auth/me", body, token=candidate.token)

    assert_error(reply, 422, "validation_error")
    assert field in error_fields(reply)
    assert me(api, candidate) == before


def test_a_valid_field_beside_a_bad_one_is_not_written_either(api, candidate):
    before = me(api, candidate)
    assert_error(api.patch("/auth/me", {"name": "New", "phone": "nope"}, token=candidate.token), 422)
    assert me(api, candidate) == before


def test_changing_the_profile_needs_a_sign_in(api):
    assert_error(api.patch("/auth/me", {"name": "Nobody"}), 401, "not_authenticated")


def test_the_change_does_not_touch_the_password(api, candidate):
    api.patch("/auth/me", {"name": "Still Me"}, token=candidate.token)
    login = api.post("/auth/login", {"email": candidate.user["email"], "password": "correct horse battery"})
    assert login.status == 200 and login.body["user"]["name"] == "Still Me"
