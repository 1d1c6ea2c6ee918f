"""Sessions (API.md §1, docs/adr/0010): login's refresh token, rotation, reuse detection, logout,
password change; and every revocation refused on the very next request, reads and writes alike."""

import logging

import pytest

from .conftest import PASSWORD
from .helpers import Gateway, assert_error, error_fields, race
from .test_races import statuses

NEW_PASSWORD = "a brand new passphrase"


def login(api, email="carl@example.com", password=PASSWORD) -> dict:
    reply = api.post("/auth/login", {"email": email, "password": password})
    assert reply.status == 200, reply.body
    return reply.body


def refresh(api, refresh_token: str):
    return api.post("/auth/refresh", {"refresh_token": refresh_token})


def signed_in(api, access_token: str) -> bool:
    """Whether the token is let in on a read and on a write alike (and never half of it)."""
    read = api.get("/auth/me", token=access_token)
    write = api.patch("/auth/me", {"timezone": "Europe/Berlin"}, token=access_token)
    assert (read.status == 200) == (write.status == 200), (read.body, write.body)
    if read.status != 200:
        assert_error(read, 401, "invalid_token")
        assert_error(write, 401, "invalid_token")
    return read.status == 200


# --- Login and refresh ----------------------------------------------------------------------------


def test_login_adds_an_opaque_refresh_token(api, candidate):
    body = login(api)
    assert len(body["refresh_token"]) == 43 and "." not in body["refresh_token"]  # 32 random bytes, no JWT
    assert body["expires_in"] == 900 and body["refresh_expires_in"] > 24 * 3600
    assert signed_in(api, body["access_token"])


def test_a_refresh_answers_a_new_pair_and_spends_the_token(api, candidate):
    first = login(api)
    reply = refresh(api, first["refresh_token"])
    assert reply.status == 200
    assert set(reply.body) == set(first)
    assert reply.body["user"]["id"] == candidate.id
    assert reply.body["refresh_token"] != first["refresh_token"]
    assert reply.body["access_token"] != first["access_token"]
    assert signed_in(api, reply.body["access_token"])
    again = refresh(api, reply.body["refresh_token"])  # the new one is good once too
    assert again.status == 200


def test_a_spent_refresh_token_revokes_its_whole_family(api, candidate, caplog):
    first = login(api)
    second = refresh(api, first["refresh_token"]).body
    third = refresh(api, second["refresh_token"]).body
    with caplog.at_level(logging.WARNING, logger="ats.security"):
        replay = refresh(api, first["refresh_token"])
    assert_error(replay, 401, "refresh_token_reused")
    assert any("refresh_token_reused" in record.getMessage() for record in caplog.records)
    # Every token descended from that login is refused from now on: refresh and access alike.
    assert_error(refresh(api, third["refresh_token"]), 401, "invalid_token")
    assert not signed_in(api, third["access_token"])
    assert not signed_in(api, first["access_token"])


def test_another_login_is_another_family(api, candidate):
    stolen, mine = login(api), login(api)
    refresh(api, stolen["refresh_token"])
    assert_error(refresh(api, stolen["refresh_token"]), 401, "refresh_token_reused")
    assert signed_in(api, mine["access_token"])
    assert refresh(api, mine["refresh_token"]).status == 200


@pytest.mark.parametrize(
    "token",
    ["r" * 43, "r" * 42, "not a token at all", "eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo"],
)
def test_an_unknown_or_malformed_refresh_token_is_401(api, candidate, token):
    assert_error(refresh(api, token), 401, "invalid_token")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "refresh_token"),
        ({"refresh_token": ""}, "refresh_token"),
        ({"refresh_token": 7}, "refresh_token"),
        ({"refresh_token": "r" * 43, "user_id": "x"}, "user_id"),
        ({"refresh_token": "r" * 201}, "refresh_token"),
    ],
)
def test_a_malformed_refresh_body_is_422(api, body, field):
    reply = api.post("/auth/refresh", body)
    assert_error(reply, 422)
    assert field in error_fields(reply)


def test_an_access_token_is_no_refresh_token(api, candidate):
    reply = refresh(api, candidate.token)  # a JWT is far longer than any refresh token
    assert_error(reply, 422)
    assert error_fields(reply) == {"refresh_token"}


def test_an_expired_refresh_token_is_401(api, candidate, monkeypatch):
    import time

    body = login(api)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 31 * 24 * 3600)  # past its 30 days
    assert_error(refresh(api, body["refresh_token"]), 401, "invalid_token")
    monkeypatch.setattr(time, "time", real)
    assert refresh(api, body["refresh_token"]).status == 200  # nothing was spent by the refusal


# --- Logout ---------------------------------------------------------------------------------------


def test_logout_revokes_that_session_only(api, candidate):
    leaving, staying = login(api), login(api)
    reply = api.post("/auth/logout", {"refresh_token": leaving["refresh_token"]}, token=leaving["access_token"])
    assert reply.status == 204 and reply.body is None
    assert not signed_in(api, leaving["access_token"])
    assert_error(refresh(api, leaving["refresh_token"]), 401)
    assert signed_in(api, staying["access_token"])
    assert refresh(api, staying["refresh_token"]).status == 200


def test_logout_with_another_users_refresh_token_is_refused_and_revokes_nothing(api, candidate, other_candidate):
    theirs = login(api, "cleo@example.com")
    reply = api.post("/auth/logout", {"refresh_token": theirs["refresh_token"]}, token=candidate.token)
    assert_error(reply, 401, "invalid_token")
    assert signed_in(api, theirs["access_token"])
    assert refresh(api, theirs["refresh_token"]).status == 200


def test_logout_needs_a_signed_in_caller(api, candidate):
    body = login(api)
    assert_error(api.post("/auth/logout", {"refresh_token": body["refresh_token"]}), 401, "not_authenticated")
    assert refresh(api, body["refresh_token"]).status == 200


# --- Password change ----------------------------------------------------------------------------


def change_password(api, token: str, current=PASSWORD, new=NEW_PASSWORD):
    return api.post("/auth/password/change", {"current_password": current, "new_password": new}, token=token)


def test_a_password_change_keeps_the_caller_and_signs_every_other_session_out(api, candidate):
    mine, other = login(api), login(api)
    assert change_password(api, mine["access_token"]).status == 204
    assert signed_in(api, mine["access_token"])  # the calling session stays signed in
    assert not signed_in(api, other["access_token"])  # at once, not at its expiry
    assert_error(refresh(api, other["refresh_token"]), 401, "invalid_token")
    renewed = refresh(api, mine["refresh_token"])
    assert renewed.status == 200 and signed_in(api, renewed.body["access_token"])
    assert_error(api.post("/auth/login", {"email": "carl@example.com", "password": PASSWORD}), 401)
    assert login(api, password=NEW_PASSWORD)["user"]["id"] == candidate.id


def test_a_wrong_current_password_changes_nothing(api, candidate):
    other = login(api)
    reply = change_password(api, candidate.token, current="not my password")
    assert_error(reply, 422, "wrong_password")
    assert error_fields(reply) == {"current_password"}
    assert signed_in(api, other["access_token"])
    assert login(api)["user"]["id"] == candidate.id


@pytest.mark.parametrize(
    ("new", "why"), [("password1234", "common"), ("short", "too short"), (PASSWORD, "the current one")]
)
def test_a_weak_or_unchanged_new_password_is_422_and_changes_nothing(api, candidate, new, why):
    other = login(api)
    reply = change_password(api, candidate.token, new=new)
    assert_error(reply, 422)
    assert error_fields(reply) == {"new_password"}, why
    assert signed_in(api, other["access_token"])
    assert login(api)["user"]["id"] == candidate.id


def test_a_password_change_takes_unknown_fields_as_errors(api, candidate):
    reply = api.post(
        "/auth/password/change",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "keep_sessions": True},
        token=candidate.token,
    )
    assert_error(reply, 422)
    assert error_fields(reply) == {"keep_sessions"}
    assert login(api)["user"]["id"] == candidate.id


def test_guessing_the_current_password_is_throttled_like_logins(api, candidate):
    for _ in range(5):
        assert_error(change_password(api, candidate.token, current="guess guess guess"), 422, "wrong_password")
    reply = change_password(api, candidate.token)
    assert_error(reply, 429, "rate_limited")
    assert int(reply.headers["retry-after"]) > 0


# --- Races ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "dynamodb-local"], indirect=True)
@pytest.mark.parametrize("clients", [2, 20])
def test_simultaneous_refreshes_of_one_token_yield_one_pair(api, candidate, clients):
    """One wins the token; every other one presents a spent token: reuse, 401. The family is then
    revoked (a copy of the token is loose), so the winner's pair is refused next."""
    gateway = Gateway()
    body = login(api)
    outcomes = race(
        *[
            lambda: gateway.call("POST", "/auth/refresh", {"refresh_token": body["refresh_token"]}, token="")
            for _ in range(clients)
        ]
    )
    assert statuses(outcomes) == [200] + [401] * (clients - 1)
    codes = {reply["error"]["code"] for status, reply in outcomes if status == 401}
    assert codes <= {"refresh_token_reused", "invalid_token"} and "refresh_token_reused" in codes
    (winner,) = [reply for status, reply in outcomes if status == 200]
    assert_error(refresh(api, winner["refresh_token"]), 401, "invalid_token")
    assert not signed_in(api, winner["access_token"])


@pytest.mark.parametrize(
    ("body", "status"), [({"refresh_token": "r" * 43}, 401), ({}, 422), ({"refresh_token": 1}, 422)]
)
def test_logout_with_an_unknown_or_malformed_token_changes_nothing(api, candidate, body, status):
    mine = login(api)
    assert_error(api.post("/auth/logout", body, token=mine["access_token"]), status)
    assert signed_in(api, mine["access_token"])
    assert refresh(api, mine["refresh_token"]).status == 200
