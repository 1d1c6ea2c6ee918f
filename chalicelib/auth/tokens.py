"""JWT access tokens: HS256 only, every claim we rely on required."""
import time
import uuid

import jwt

from ..domain.errors import AuthenticationFailed
from ..domain.models import Principal, Role

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "role", "iat", "exp", "jti", "iss"]
LEEWAY_SECONDS = 10


def issue_token(*, user_id: str, role: str, secret: str, ttl_seconds: int, issuer: str) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "role": str(role), "iat": now, "nbf": now, "exp": now + ttl_seconds,
              "jti": uuid.uuid4().hex, "iss": issuer}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(token: str, *, secret: str, issuer: str) -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=issuer, leeway=LEEWAY_SECONDS,
                            options={"require": REQUIRED_CLAIMS})
        return Principal(user_id=str(claims["sub"]), role=Role(claims["role"]))
    except (jwt.InvalidTokenError, ValueError, TypeError):
        raise AuthenticationFailed("Invalid or expired token.", code="invalid_token") from None
