"""JWT access tokens: HS256 only, every claim we rely on required.

`sid` is the session (refresh-token family) the token was issued in, `gen` the user's token
generation then: users.authenticate checks both against the user (docs/adr/0010)."""

import time
import uuid

import jwt

from ..domain.errors import AuthenticationFailed
from ..domain.models import Principal, Role

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "role", "iat", "exp", "jti", "iss", "sid", "gen"]
LEEWAY_SECONDS = 10


def issue_token(who: Principal, *, secret: str, ttl_seconds: int, issuer: str) -> str:
    """An access token speaking for `who` (its session and token generation included): what
    verify_token gives back."""
    now = int(time.time())
    claims = {
        "sub": who.user_id,
        "role": str(who.role),
        "sid": who.session_id,
        "gen": who.generation,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
        "iss": issuer,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


# Tokens that verified, so a client's every request does not pay the signature and claim checks
# again (~70 us, a fifth of a read). The key is the whole token with the secret, issuer and lifetime it was
# checked against, so only a token that verified can hit, and a hit is refused once it expires.
_verified: dict[tuple[str, str, str, int | None], tuple[Principal, int]] = {}
_VERIFIED_MAX = 4096


def verify_token(token: str, *, secret: str, issuer: str, max_lifetime: int | None = None) -> Principal:
    """The token's principal. `max_lifetime` (seconds, the configured TTL) refuses an `exp` set further
    after `iat` than this server ever issues: a token minted with the secret must not outlive the policy."""
    key = (token, secret, issuer, max_lifetime)
    hit = _verified.get(key)
    if hit is not None and hit[1] > time.time() - LEEWAY_SECONDS:  # pyjwt's own expiry rule
        return hit[0]
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": REQUIRED_CLAIMS},
        )
        expires = int(claims["exp"])
        if max_lifetime is not None and expires - int(claims["iat"]) > max_lifetime + LEEWAY_SECONDS:
            raise ValueError("the token outlives the configured lifetime")
        generation = claims["gen"]
        if type(generation) is not int:
            raise ValueError("the token's generation is not a number")
        principal = Principal(str(claims["sub"]), Role(claims["role"]), str(claims["sid"]), generation)
    except (jwt.InvalidTokenError, ValueError, TypeError, OverflowError):
        raise AuthenticationFailed("Invalid or expired token.", code="invalid_token") from None
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[key] = (principal, expires)
    return principal
