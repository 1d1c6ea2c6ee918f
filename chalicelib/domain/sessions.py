"""Sessions and one-time tokens (docs/adr/0010): what is stored of the opaque secrets a user holds.

A session is a family of refresh tokens descended from one login; each refresh spends its token
and issues the next. Reset and verification tokens are single-use links sent by email. The
secrets themselves are never stored: only their SHA-256 (chalicelib/auth/opaque.py).
"""

from dataclasses import dataclass
from enum import StrEnum

from .ids import new_id, utc_now

RESET_SECONDS = 30 * 60  # a password reset link
VERIFY_SECONDS = 7 * 24 * 3600  # an email verification link


class Purpose(StrEnum):
    """What a one-time token is for."""

    RESET = "reset"
    VERIFY = "verify"


@dataclass
class Session:
    """One login's family of refresh tokens, issued under the user's token generation."""

    id: str
    user_id: str
    generation: int
    created_at: str
    expires_at: int  # epoch seconds: the newest refresh token's expiry
    revoked_at: str | None = None

    @classmethod
    def start(cls, *, user_id: str, generation: int, expires_at: int) -> "Session":
        return cls(id=new_id(), user_id=user_id, generation=generation, created_at=utc_now(), expires_at=expires_at)


@dataclass(frozen=True)
class RefreshToken:
    """A refresh token, by the hash of its secret: good once, until it expires."""

    hash: str
    session_id: str
    user_id: str
    expires_at: int  # epoch seconds
    spent_at: str | None = None


@dataclass(frozen=True)
class OneTimeToken:
    """A reset or verification token, by the hash of its secret, for its user.

    A reset token is written whether or not an account has the email asked for (with no user
    then), so that asking does the same work either way and tells nothing.
    """

    hash: str
    purpose: Purpose
    issued_at: str
    expires_at: int  # epoch seconds
    user_id: str | None = None
    used_at: str | None = None
