"""JWT access tokens: HS256 pinned, every claim required, anything else is AuthenticationFailed."""

import time

import jwt
import pytest

from chalicelib.auth.passwords import hash_password, verify_password
from chalicelib.auth.tokens import LEEWAY_SECONDS, issue_token, verify_token
from chalicelib.domain.errors import AuthenticationFailed
from chalicelib.domain.models import Principal, Role

SECRET = "s" * 64
USER_ID = "01HZZZZZZZZZZZZZZZZZZZZZZ1"


SESSION_ID = "01HZZZZZZZZZZZZZZZZZZZZZZS"


def claims(**changes) -> dict:
    now = int(time.time())
    values = {"sub": USER_ID, "role": "recruiter", "iat": now, "nbf": now, "exp": now + 600, "jti": "abc", "iss": "ats"}
    values.update({"sid": SESSION_ID, "gen": 0})
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def issued(*, role, ttl_seconds: int) -> str:
    return issue_token(Principal(USER_ID, role, SESSION_ID, 4), secret=SECRET, ttl_seconds=ttl_seconds, issuer="ats")


def test_issued_token_verifies_to_its_principal():
    token = issued(role=Role.RECRUITER, ttl_seconds=60)
    principal = verify_token(token, secret=SECRET, issuer="ats")
    assert (principal.user_id, principal.role) == (USER_ID, Role.RECRUITER)
    assert (principal.session_id, principal.generation) == (SESSION_ID, 4)


def test_issued_token_carries_the_required_claims_and_hs256():
    token = issued(role="candidate", ttl_seconds=60)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert {"sub", "role", "iat", "exp", "jti", "sid", "gen"} <= set(
        jwt.decode(token, SECRET, algorithms=["HS256"], issuer="ats")
    )


def _refused(token: str, **kwargs) -> AuthenticationFailed:
    with pytest.raises(AuthenticationFailed) as raised:
        verify_token(
            token,
            secret=kwargs.get("secret", SECRET),
            issuer=kwargs.get("issuer", "ats"),
            max_lifetime=kwargs.get("max_lifetime"),
        )
    return raised.value


def test_a_token_living_longer_than_the_configured_lifetime_is_refused():
    now = int(time.time())
    longest = jwt.encode(claims(iat=now, exp=now + 600 + LEEWAY_SECONDS), SECRET, algorithm="HS256")
    assert verify_token(longest, secret=SECRET, issuer="ats", max_lifetime=600).user_id == USER_ID
    longer = jwt.encode(claims(iat=now, exp=now + 600 + LEEWAY_SECONDS + 1), SECRET, algorithm="HS256")
    assert _refused(longer, max_lifetime=600).code == "invalid_token"
    assert verify_token(longer, secret=SECRET, issuer="ats", max_lifetime=3600).user_id == USER_ID
    # A token verified under a longer lifetime is not let in from the cache under a shorter one.
    _refused(longer, max_lifetime=600)


def test_an_issued_token_lives_exactly_the_configured_lifetime():
    token = issued(role="candidate", ttl_seconds=600)
    assert verify_token(token, secret=SECRET, issuer="ats", max_lifetime=600).user_id == USER_ID


def test_expired_token_is_refused():
    past = int(time.time()) - 3600
    _refused(jwt.encode(claims(iat=past, nbf=past, exp=past + 60), SECRET, algorithm="HS256"))


def test_token_signed_with_another_secret_is_refused():
    _refused(jwt.encode(claims(), "o" * 64, algorithm="HS256"))


def test_token_from_another_issuer_is_refused():
    _refused(jwt.encode(claims(iss="someone-else"), SECRET, algorithm="HS256"))


def test_unsigned_alg_none_token_is_refused():
    _refused(jwt.encode(claims(), None, algorithm="none"))


def test_token_with_another_algorithm_is_refused():
    _refused(jwt.encode(claims(), SECRET, algorithm="HS512"))


@pytest.mark.parametrize("missing", ["sub", "role", "iat", "exp", "jti"])
def test_token_missing_a_required_claim_is_refused(missing):
    _refused(jwt.encode(claims(**{missing: None}), SECRET, algorithm="HS256"))


def test_token_with_an_unknown_role_is_refused():
    _refused(jwt.encode(claims(role="superuser"), SECRET, algorithm="HS256"))


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x"])
def test_garbage_is_refused(garbage):
    assert _refused(garbage).code == "invalid_token"


def test_password_hash_verifies_only_the_same_password():
    stored = hash_password("correct horse battery", "fast")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "correct horse batterY")
    assert not verify_password("not-a-hash", "correct horse battery")


@pytest.mark.parametrize("missing", ["sid", "gen"])
def test_a_token_without_its_session_or_generation_is_refused(missing):
    _refused(jwt.encode(claims(**{missing: None}), SECRET, algorithm="HS256"))


@pytest.mark.parametrize("generation", ["0", 1.5, True, None])
def test_a_generation_that_is_not_a_whole_number_is_refused(generation):
    token = jwt.encode({**claims(), "gen": generation}, SECRET, algorithm="HS256")
    assert _refused(token).code == "invalid_token"
