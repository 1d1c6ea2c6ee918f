"""Forged, broken and stale tokens: each is 401 in the error shape, on every signed-in route.

Only a token HS256-signed with the server's secret, carrying every required claim (sub, role,
iat, exp, jti, iss), from our issuer, inside its validity window, and living no longer than the
configured lifetime (ATS_JWT_TTL_SECONDS, from iat to exp), is accepted. SQLite only: token
checks happen before any storage is read.
"""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from chalicelib.auth.tokens import LEEWAY_SECONDS, issue_token
from chalicelib.domain.models import Principal
from tests.api.helpers import MISSING_ID, assert_error

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

# Signed-in routes (and one where signing in is optional: a token, when sent, must be valid).
ROUTES = ["/auth/me", "/applications", f"/applications/{MISSING_ID}", "/jobs/list"]
REQUIRED = ["sub", "role", "iat", "exp", "jti", "iss"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: dict) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def hs256(claims: dict, key: bytes, header: dict | None = None) -> str:
    """An HS256 token made by hand, so any key (a PEM public key too) can sign it."""
    signing_input = f"{segment(header or {'alg': 'HS256', 'typ': 'JWT'})}.{segment(claims)}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


@pytest.fixture
def victim(api, settings):
    """A candidate with a token the server issued, and the claims such a token carries."""
    user, token = api.signup("victim@example.com")
    now = int(time.time())
    issued = jwt.decode(token, options={"verify_signature": False})
    claims = {
        "sub": user["id"],
        "role": "candidate",
        "sid": issued["sid"],
        "gen": issued["gen"],
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "a" * 32,
        "iss": settings.jwt_issuer,
    }
    return user, token, claims


def bad_tokens(settings, victim) -> dict[str, str]:
    user, token, claims = victim
    secret = settings.jwt_secret
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    ec_key = ec.generate_private_key(ec.SECP256R1())
    header, payload, signature = token.split(".")
    now = int(time.time())
    beyond = LEEWAY_SECONDS + 3600
    longest = claims["iat"] + settings.jwt_ttl_seconds + LEEWAY_SECONDS  # the latest exp accepted
    unverified = jwt.decode(token, options={"verify_signature": False})
    tokens = {
        "alg none": f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims)}.",
        "alg None": f"{segment({'alg': 'None', 'typ': 'JWT'})}.{segment(claims)}.",
        "alg NONE with the real signature": f"{segment({'alg': 'NONE'})}.{payload}.{signature}",
        "alg none, pyjwt": jwt.encode(claims, None, algorithm="none"),
        "wrong secret": jwt.encode(claims, "w" * 64, algorithm="HS256"),
        "empty signature": f"{header}.{payload}.",
        "RS256 with a generated key": jwt.encode(claims, rsa_key, algorithm="RS256"),
        "ES256 with a generated key": jwt.encode(claims, ec_key, algorithm="ES256"),
        "HS256 keyed with an RSA public key": hs256(claims, public_pem),
        "HS512 with the real secret": jwt.encode(claims, secret, algorithm="HS512"),
        "expired": jwt.encode(
            {**claims, "iat": now - 7200, "nbf": now - 7200, "exp": now - beyond}, secret, algorithm="HS256"
        ),
        "expired, issued by the server": issue_token(
            Principal(user["id"], "candidate", "01HZZZZZZZZZZZZZZZZZZZZZZS", 0),
            secret=secret,
            ttl_seconds=-beyond,
            issuer=settings.jwt_issuer,
        ),
        "not yet valid": jwt.encode({**claims, "nbf": now + beyond}, secret, algorithm="HS256"),
        "issued in the future": jwt.encode({**claims, "iat": now + beyond, "nbf": now}, secret, algorithm="HS256"),
        "wrong issuer": jwt.encode({**claims, "iss": "https://evil.example.com"}, secret, algorithm="HS256"),
        "outlives the configured lifetime": jwt.encode({**claims, "exp": longest + 1}, secret, algorithm="HS256"),
        "valid for ten years": jwt.encode({**claims, "exp": now + 10 * 365 * 86400}, secret, algorithm="HS256"),
        "unknown role": jwt.encode({**claims, "role": "root"}, secret, algorithm="HS256"),
        "sub not a string": jwt.encode({**claims, "sub": 12345}, secret, algorithm="HS256"),
        "tampered payload: role admin": f"{header}.{segment({**unverified, 'role': 'admin'})}.{signature}",
        "tampered payload: another sub": f"{header}.{segment({**claims, 'sub': MISSING_ID})}.{signature}",
        "tampered payload: later exp": f"{header}.{segment({**claims, 'exp': now + 10**8})}.{signature}",
        "truncated": token[:-5],
        "two segments": f"{header}.{payload}",
        "four segments": f"{token}.{signature}",
        "not base64": "!!!.???.***",
        "garbage": "not-a-token",
    }
    for claim in REQUIRED:
        tokens[f"missing {claim}"] = jwt.encode(
            {k: v for k, v in claims.items() if k != claim}, secret, algorithm="HS256"
        )
    return tokens


KINDS = [
    "alg none",
    "alg None",
    "alg NONE with the real signature",
    "alg none, pyjwt",
    "wrong secret",
    "empty signature",
    "RS256 with a generated key",
    "ES256 with a generated key",
    "HS256 keyed with an RSA public key",
    "HS512 with the real secret",
    "expired",
    "expired, issued by the server",
    "not yet valid",
    "issued in the future",
    "wrong issuer",
    "outlives the configured lifetime",
    "valid for ten years",
    "unknown role",
    "sub not a string",
    "tampered payload: role admin",
    "tampered payload: another sub",
    "tampered payload: later exp",
    "truncated",
    "two segments",
    "four segments",
    "not base64",
    "garbage",
    *[f"missing {claim}" for claim in REQUIRED],
]


def test_the_claims_used_here_make_a_token_that_is_accepted(api, settings, victim):
    """The control: the same claims, HS256-signed with the server's secret, sign in."""
    user, token, claims = victim
    assert api.get("/auth/me", token=token).body["user"]["id"] == user["id"]
    forged_right = jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
    assert api.get("/auth/me", token=forged_right).body["user"]["id"] == user["id"]
    assert api.get("/applications", token=forged_right).status == 200


def test_a_token_signed_for_at_most_the_configured_lifetime_is_accepted(api, settings, victim):
    """The control of "outlives the configured lifetime": the longest `exp` the server accepts."""
    user, _, claims = victim
    longest = {**claims, "exp": claims["iat"] + settings.jwt_ttl_seconds + LEEWAY_SECONDS}
    token = jwt.encode(longest, settings.jwt_secret, algorithm="HS256")
    assert api.get("/auth/me", token=token).body["user"]["id"] == user["id"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_forged_or_broken_token_is_401(api, settings, victim, kind):
    token = bad_tokens(settings, victim)[kind]
    for path in ROUTES:
        error = assert_error(api.get(path, token=token), 401, "invalid_token")
        assert token not in error["message"]


def test_a_token_held_to_the_server_secret_stays_refused_after_a_valid_one(api, settings, victim):
    """The verified-token cache must key on the whole token: a valid token first does not let its forgeries in."""
    _, token, claims = victim
    assert api.get("/auth/me", token=token).status == 200
    header, _, signature = token.split(".")
    admin = f"{header}.{segment({**claims, 'role': 'admin'})}.{signature}"
    assert_error(api.get("/admin/outbox", token=admin), 401, "invalid_token")
    assert_error(api.get("/admin/outbox", token=token), 403)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "bearer",
        "Basic dXNlcjpwYXNzd29yZA==",
        "Digest username=x",
        "garbage",
        "Token abc.def.ghi",
        "Bearer not.a.jwt",
        "Bearer\tabc",
        "Bearer a b",
        "JWT {token}",
        "{token}",
        "Bearer {token} trailing",
        "Bearer {token}x",
    ],
)
def test_a_malformed_authorization_header_is_401(api, victim, header):
    token = victim[1]
    for path in ROUTES:
        assert_error(api.get(path, headers={"authorization": header.format(token=token)}), 401)


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_bearer_scheme_is_case_insensitive(api, victim, scheme):
    user, token, _ = victim
    assert api.get("/auth/me", headers={"authorization": f"{scheme} {token}"}).body["user"]["id"] == user["id"]
