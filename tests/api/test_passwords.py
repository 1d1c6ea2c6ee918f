"""Forgot, reset and verify (API.md §1): one-time links by email, stored as hashes, single use,
expiring; `forgot` tells nothing of whether the account exists; every session ends on a reset."""

import email
import email.policy
import re
from pathlib import Path

import pytest

from chalicelib.auth.opaque import token_hash
from chalicelib.services import passwords

from .conftest import PASSWORD
from .helpers import assert_error, error_fields
from .test_sessions import login, refresh, signed_in

NEW_PASSWORD = "a brand new passphrase"
PUBLIC_URL = "https://ats.example.com"


@pytest.fixture(autouse=True)
def _public_url(monkeypatch):
    monkeypatch.setenv("ATS_PUBLIC_URL", PUBLIC_URL)


def mails_to(state_dir: Path, address: str) -> list[email.message.EmailMessage]:
    """The emails the file sender left for this address, oldest first."""
    found = []
    for path in sorted((state_dir / "mail").glob("*.eml")) if (state_dir / "mail").is_dir() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address in str(message["To"]):
            found.append(message)
    return found


def link_in(message, page: str) -> str:
    """The token of the link to `page` in the email's plain text (the HTML part holds the same)."""
    text = message.get_body(("plain",)).get_content()
    found = re.search(rf"{re.escape(PUBLIC_URL)}/{page}\?token=([A-Za-z0-9_-]+)", text)
    assert found, text
    html = message.get_body(("html",)).get_content()
    assert found.group(1) in html
    return found.group(1)


def forgot(api, address: str):
    return api.post("/auth/password/forgot", {"email": address})


def reset_token(api, state_dir, address="carl@example.com") -> str:
    assert forgot(api, address).status == 202
    return link_in(mails_to(state_dir, address)[-1], "reset-password")


def reset(api, token: str, new=NEW_PASSWORD):
    return api.post("/auth/password/reset", {"token": token, "new_password": new})


# --- Forgot ---------------------------------------------------------------------------------------


def test_forgot_answers_the_same_whether_or_not_the_account_exists(api, candidate, state_dir):
    known, unknown = forgot(api, "carl@example.com"), forgot(api, "nobody@example.com")
    assert (known.status, known.body) == (unknown.status, unknown.body)
    assert known.status == 202 and set(known.body) == {"message"}
    assert len(mails_to(state_dir, "carl@example.com")) == 2  # the welcome, then the link
    assert mails_to(state_dir, "nobody@example.com") == []


def test_forgot_does_the_same_work_whether_or_not_the_account_exists(api, candidate, uow_factory, monkeypatch):
    """The same store calls, in the same order, on the request's thread: no timing tells them apart."""
    import threading

    monkeypatch.setenv("ATS_FORGOT_MAX_PER_ADDRESS", "0")  # off: the first request would start its window
    items = uow_factory().storage.items
    calls: list[str] = []
    requester = threading.get_ident()
    for name in ("get", "get_many", "select", "transact", "write"):
        real = getattr(items, name)

        def recording(*args, _real=real, _name=name, **kwargs):
            if threading.get_ident() == requester:
                calls.append(f"{_name}({len(args[0]) if _name == 'transact' else ''})")
            return _real(*args, **kwargs)

        monkeypatch.setattr(items, name, recording)
    forgot(api, "carl@example.com")
    known = list(calls)
    calls.clear()
    forgot(api, "nobody@example.com")
    assert calls == known and known


def test_the_reset_email_links_to_the_public_url_with_a_token_stored_only_as_its_hash(
    api, candidate, state_dir, uow_factory
):
    token = reset_token(api, state_dir)
    assert len(token) == 43  # 32 bytes
    with uow_factory() as uow:
        stored = uow.one_time_tokens.get(passwords.Purpose.RESET, token_hash(token))
        assert stored is not None and stored.user_id == candidate.id
        assert all(
            token not in str(value) for value in uow.storage.items.get(("RESET#" + stored.hash, "RESET")).values()
        )
        outbox = [e for s in ("pending", "sent") for e in uow.outbox.list(status=s)]
        assert all(token not in str(event.payload) for event in outbox)


def test_forgot_is_throttled_per_email_known_or_not(api, candidate):
    for address in ("carl@example.com", "nobody@example.com"):
        for _ in range(5):
            assert forgot(api, address).status == 202
        reply = forgot(api, address)
        assert_error(reply, 429, "rate_limited")
        assert int(reply.headers["retry-after"]) > 0


def test_forgot_is_throttled_per_address(api, monkeypatch):
    monkeypatch.setenv("ATS_FORGOT_MAX_PER_ADDRESS", "3")
    for n in range(3):
        assert forgot(api, f"someone{n}@example.com").status == 202
    assert_error(forgot(api, "someone-else@example.com"), 429, "rate_limited")


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "email"), ({"email": "not an email"}, "email"), ({"email": 5}, "email"), ({"email": "a@b.co", "x": 1}, "x")],
)
def test_a_malformed_forgot_body_is_422(api, state_dir, body, field):
    reply = api.post("/auth/password/forgot", body)
    assert_error(reply, 422)
    assert field in error_fields(reply)


def test_a_deactivated_account_gets_no_reset_email(api, candidate, admin, state_dir):
    assert api.patch(f"/users/{candidate.id}", {"active": False}, token=admin.token).status == 200
    assert forgot(api, "carl@example.com").status == 202
    assert len(mails_to(state_dir, "carl@example.com")) == 1  # the welcome only


# --- Reset ----------------------------------------------------------------------------------------


def test_a_reset_sets_the_password_and_signs_every_session_out(api, candidate, state_dir):
    session = login(api)
    token = reset_token(api, state_dir)
    reply = reset(api, token)
    assert reply.status == 204 and reply.body is None
    assert not signed_in(api, session["access_token"])
    assert not signed_in(api, candidate.token)
    assert_error(refresh(api, session["refresh_token"]), 401, "invalid_token")
    assert_error(api.post("/auth/login", {"email": "carl@example.com", "password": PASSWORD}), 401)
    after = login(api, password=NEW_PASSWORD)
    assert after["user"]["email_verified"] is True  # the link proved the address
    assert signed_in(api, after["access_token"])


def test_a_reset_token_works_once(api, candidate, state_dir):
    token = reset_token(api, state_dir)
    assert reset(api, token).status == 204
    error = assert_error(reset(api, token, new="yet another passphrase"), 400, "invalid_token")
    assert error["details"] == [{"field": "token", "message": "not a valid token"}]
    assert login(api, password=NEW_PASSWORD)["user"]["id"] == candidate.id


def test_an_expired_reset_token_is_refused(api, candidate, state_dir, monkeypatch):
    monkeypatch.setattr(passwords, "RESET_SECONDS", -1)  # issued already expired
    assert_error(reset(api, reset_token(api, state_dir)), 400, "invalid_token")
    assert login(api)["user"]["id"] == candidate.id


def test_a_reset_token_asked_for_before_the_password_changed_is_refused(api, candidate, state_dir):
    earlier, later = reset_token(api, state_dir), reset_token(api, state_dir)
    assert reset(api, later).status == 204
    assert_error(reset(api, earlier, new="yet another passphrase"), 400, "invalid_token")


@pytest.mark.parametrize("token", ["r" * 43, "short", "a token with spaces in it, forty-three chars"])
def test_an_unknown_or_malformed_reset_token_is_400(api, candidate, token):
    assert_error(reset(api, token), 400, "invalid_token")
    assert login(api)["user"]["id"] == candidate.id


@pytest.mark.parametrize(("new", "why"), [("password1234", "common"), ("short", "too short")])
def test_a_weak_new_password_is_422_and_leaves_the_token_usable(api, candidate, state_dir, new, why):
    token = reset_token(api, state_dir)
    reply = reset(api, token, new=new)
    assert_error(reply, 422)
    assert error_fields(reply) == {"new_password"}, why
    assert reset(api, token).status == 204


def test_a_reset_body_with_unknown_fields_is_422(api, candidate, state_dir):
    token = reset_token(api, state_dir)
    reply = api.post("/auth/password/reset", {"token": token, "new_password": NEW_PASSWORD, "email": "x@y.z"})
    assert_error(reply, 422)
    assert error_fields(reply) == {"email"}
    assert reset(api, token).status == 204


# --- Verify ---------------------------------------------------------------------------------------


def test_the_welcome_email_verifies_the_address_once(api, state_dir):
    user = api.register("vera@example.com")
    assert user["email_verified"] is False
    (welcome,) = mails_to(state_dir, "vera@example.com")
    token = link_in(welcome, "verify-email")
    reply = api.post("/auth/verify-email", {"token": token})
    assert reply.status == 204
    me = api.get("/auth/me", token=api.login("vera@example.com"))
    assert me.body["user"]["email_verified"] is True
    assert_error(api.post("/auth/verify-email", {"token": token}), 400, "invalid_token")


def test_a_reset_token_does_not_verify_and_a_verify_token_does_not_reset(api, candidate, state_dir):
    (welcome,) = mails_to(state_dir, "carl@example.com")
    verify = link_in(welcome, "verify-email")
    assert_error(reset(api, verify), 400, "invalid_token")
    assert_error(api.post("/auth/verify-email", {"token": reset_token(api, state_dir)}), 400, "invalid_token")
    assert api.post("/auth/verify-email", {"token": verify}).status == 204


@pytest.mark.parametrize("body", [{}, {"token": ""}, {"token": 43}, {"token": "t" * 43, "user_id": "x"}])
def test_a_malformed_verify_body_is_422(api, body):
    assert_error(api.post("/auth/verify-email", body), 422)


def test_an_expired_verification_token_is_refused(api, state_dir, monkeypatch):
    from chalicelib.services import users

    monkeypatch.setattr(users, "VERIFY_SECONDS", -1)  # issued already expired
    api.register("vera@example.com")
    (welcome,) = mails_to(state_dir, "vera@example.com")
    assert_error(api.post("/auth/verify-email", {"token": link_in(welcome, "verify-email")}), 400, "invalid_token")
    assert api.get("/auth/me", token=api.login("vera@example.com")).body["user"]["email_verified"] is False


@pytest.mark.parametrize("token", ["v" * 43, "short", "not/a/token"])
def test_an_unknown_or_malformed_verification_token_is_400(api, state_dir, token):
    api.register("vera@example.com")
    assert_error(api.post("/auth/verify-email", {"token": token}), 400, "invalid_token")
    assert api.get("/auth/me", token=api.login("vera@example.com")).body["user"]["email_verified"] is False
