"""The rules of revocation (User.accepts and friends, docs/adr/0010) without I/O, and how long a
revoked token lasts on a process that did not make the change: at most users.KNOWN_FOR_SECONDS."""

import pytest

from chalicelib.auth.tokens import verify_token
from chalicelib.domain.errors import UnknownActor
from chalicelib.domain.models import Principal, Role, User
from chalicelib.services import sessions, users
from chalicelib.services.context import context_for
from chalicelib.storage.repositories import UnitOfWork
from chalicelib.storage.stores import Storage

from .fakes import MemoryStorage

PASSWORD = "correct horse battery"


def a_user(**fields) -> User:
    return User(
        id="01HZZZZZZZZZZZZZZZZZZZZZZ1",
        email="u@example.com",
        name="U",
        role=Role.CANDIDATE,
        password_hash="h",
        created_at="2026-01-01T00:00:00Z",
        **fields,
    )


def test_a_token_of_the_users_generation_is_accepted_and_others_not():
    user = a_user(token_generation=3)
    assert user.accepts("S1", 3)
    assert not user.accepts("S1", 2) and not user.accepts("S1", 4)


def test_a_new_generation_refuses_every_earlier_token_but_the_kept_sessions():
    user = a_user()
    user.revoke_every_session(keep=Principal(user.id, Role.CANDIDATE, "MINE", 0))
    assert user.token_generation == 1
    assert user.accepts("MINE", 0)  # the caller's old access token
    assert user.accepts("MINE", 1) and user.accepts("OTHER", 1)  # tokens issued from now on
    assert not user.accepts("OTHER", 0)
    user.revoke_every_session()  # a reset keeps none
    assert not user.accepts("MINE", 0) and not user.accepts("MINE", 1) and user.accepts("MINE", 2)


def test_a_revoked_session_is_refused_whatever_its_generation():
    user = a_user()
    user.revoke_session("GONE", until=200, now=100)
    assert not user.accepts("GONE", 0) and user.accepts("OTHER", 0)


def test_revoked_sessions_are_forgotten_once_their_last_access_token_expired():
    user = a_user()
    user.revoke_session("OLD", until=150, now=100)
    user.revoke_session("NEW", until=400, now=300)
    assert user.revoked_sessions == {"NEW": 400}


def test_revoking_never_changes_the_dict_a_reader_holds():
    """Services keep the user as read to condition their write on it: a change makes a new dict."""
    user = a_user()
    before = user.revoked_sessions
    user.revoke_session("S", until=2, now=1)
    assert before == {} and user.revoked_sessions == {"S": 2}


def test_a_deactivated_user_accepts_no_token():
    assert not a_user(deactivated_at="2026-01-02T00:00:00Z").accepts("S", 0)


def test_another_process_trusts_what_it_read_for_a_few_seconds_at_most(monkeypatch, settings):
    """Two processes over one database: each has its own storage object, hence its own cache."""
    store = MemoryStorage()
    here = store.unit_of_work
    there = Storage.over(store.items)
    users.register(context_for(here(), settings), email="carl@example.com", password=PASSWORD)
    login = sessions.login(context_for(here(), settings), email="carl@example.com", password=PASSWORD)
    claims = verify_token(login.access_token, secret=settings.jwt_secret, issuer=settings.jwt_issuer)
    clock = [1000.0]
    monkeypatch.setattr(users.time, "monotonic", lambda: clock[0])
    assert (
        users.authenticate(context_for(UnitOfWork(there), settings), claims).user_id == claims.user_id
    )  # read, and kept
    sessions.logout(context_for(here(), settings, claims), refresh_token=login.refresh_token)
    with pytest.raises(UnknownActor):  # the process that made the change: at once
        users.authenticate(context_for(here(), settings), claims)
    clock[0] += users.KNOWN_FOR_SECONDS - 0.1
    assert (
        users.authenticate(context_for(UnitOfWork(there), settings), claims).user_id == claims.user_id
    )  # its copy still
    clock[0] += 0.2
    with pytest.raises(UnknownActor):  # read again: refused
        users.authenticate(context_for(UnitOfWork(there), settings), claims)


def test_deactivating_revokes_every_session_and_reactivating_none_back():
    user = a_user()
    assert set(user.administer({"active": False})) == {"deactivated_at", "token_generation"}
    assert not user.active and user.token_generation == 1
    assert user.administer({"active": False}) == []  # already: nothing changes
    assert user.administer({"active": True}) == ["deactivated_at"]
    assert user.active and not user.accepts("S", 0) and user.accepts("S", 1)


def test_a_role_change_is_the_role_only():
    user = a_user()
    assert user.administer({"role": "recruiter"}) == ["role"] and user.role == Role.RECRUITER
    assert user.administer({"role": "recruiter"}) == []
