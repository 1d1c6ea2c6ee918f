"""Sessions (docs/adr/0010): log in, refresh, log out.

A login starts a session: a family of refresh tokens, each good once. Refreshing spends the token
presented and issues the next, with a new access token, in one transaction. A spent token
presented again means a copy is in someone else's hands (RFC 9700 §4.14): the whole family is
revoked, its access tokens included, and the event is logged for the security team.
"""

import dataclasses
import logging
import time
from dataclasses import dataclass

from ..auth.opaque import new_token, token_hash, well_formed
from ..auth.passwords import dummy_hash, verify_password
from ..auth.tokens import LEEWAY_SECONDS, issue_token
from ..config import Settings
from ..domain.errors import AuthenticationFailed, ConcurrencyError, DomainError, UnknownActor
from ..domain.models import Principal, User
from ..domain.sessions import RefreshToken, Session
from ..storage import UnitOfWork
from . import throttle
from .context import Context, SignedIn
from .users import forget_account
from .versions import versioned_write

log = logging.getLogger("ats.security")


@dataclass(frozen=True)
class LoginResult:
    """A signed-in user, the bearer token issued to them and the refresh token that renews it."""

    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    user: User


class _Reused(DomainError):
    """The refresh token presented was spent already (raised by the rotation's condition)."""


def _invalid(message: str = "The refresh token is not valid.") -> AuthenticationFailed:
    return AuthenticationFailed(message, code="invalid_token")


def login(ctx: Context, *, email: str, password: str, source_ip: str | None = None) -> LoginResult:
    """A session for the right email and password; RateLimited after too many failures (throttle.py)."""
    uow, settings = ctx.uow, ctx.settings
    throttle.before_login(uow, settings, email=email, source_ip=source_ip)  # before any hashing
    with uow:
        user = uow.users.get_by_email(email)
    if user is None:
        verify_password(dummy_hash(settings.password_hash_profile), password)  # same cost as a wrong password
    if user is None or not verify_password(user.password_hash, password) or not user.active:
        throttle.login_failed(uow, settings, email=email, source_ip=source_ip)
        raise AuthenticationFailed("Invalid email or password.", code="invalid_credentials")
    expires_at = int(time.time()) + settings.refresh_ttl_seconds
    session = Session.start(user_id=user.id, generation=user.token_generation, expires_at=expires_at)
    secret = new_token()
    with uow:
        uow.sessions.start(session, RefreshToken(token_hash(secret), session.id, user.id, expires_at))
        throttle.login_succeeded(uow, settings, email=email, source_ip=source_ip)
        uow.commit()
    return _signed_in(settings, user, session, secret)


def _signed_in(settings: Settings, user: User, session: Session, refresh_secret: str) -> LoginResult:
    who = Principal(user.id, user.role, session.id, session.generation)
    access = issue_token(
        who, secret=settings.jwt_secret, ttl_seconds=settings.jwt_ttl_seconds, issuer=settings.jwt_issuer
    )
    return LoginResult(
        access_token=access,
        token_type="Bearer",
        expires_in=settings.jwt_ttl_seconds,
        refresh_token=refresh_secret,
        refresh_expires_in=session.expires_at - int(time.time()),
        user=user,
    )


def refresh(ctx: Context, *, refresh_token: str) -> LoginResult:
    """A new access and refresh pair for an unspent refresh token of a live session; the token is spent.

    A spent token (a replay, or the loser of two refreshes at once) revokes its session: 401
    refresh_token_reused. An expired or unknown token, or one whose session or user was revoked
    since: 401 invalid_token.
    """
    uow, settings = ctx.uow, ctx.settings
    if not well_formed(refresh_token):
        raise _invalid()
    digest = token_hash(refresh_token)
    for _ in range(3):  # a collision that is no reuse (DynamoDB cancels racing transactions) is tried again
        with uow:
            spent = uow.sessions.token(digest)
            if spent is None or spent.expires_at <= time.time():
                raise _invalid()
            if spent.spent_at is not None:
                _reused(uow, settings, spent)
            session, user = uow.sessions.get_with_user(spent.session_id, spent.user_id)
            if session is None or session.revoked_at is not None or user is None:
                raise _invalid()
            if not user.active or session.generation != user.token_generation:
                raise _invalid("The session was signed out: sign in again.")
            session.expires_at = int(time.time()) + settings.refresh_ttl_seconds
            secret = new_token()
            issued = RefreshToken(token_hash(secret), session.id, user.id, session.expires_at)
            uow.sessions.rotate(spent, session, user, issued, reused=_Reused("spent"))
            try:
                uow.commit()
            except _Reused:
                _reused(uow, settings, spent)
            except UnknownActor:
                raise _invalid("The session was signed out: sign in again.") from None
            except ConcurrencyError:
                continue
        return _signed_in(settings, user, session, secret)
    raise _invalid()


def _reused(uow: UnitOfWork, settings: Settings, spent: RefreshToken) -> None:
    log.warning(
        "security event: refresh_token_reused: a spent refresh token was presented again; "
        "session %s of user %s revoked",
        spent.session_id,
        spent.user_id,
    )
    revoke_session(uow, settings, spent.user_id, spent.session_id)
    raise AuthenticationFailed(
        "This refresh token was used already: its session is revoked. Sign in again.", code="refresh_token_reused"
    )


def logout(ctx: SignedIn, *, refresh_token: str) -> None:
    """Revoke the session of this refresh token (the caller's own): its refresh and access tokens."""
    found = ctx.uow.sessions.token(token_hash(refresh_token)) if well_formed(refresh_token) else None
    if found is None or found.user_id != ctx.who.user_id:
        raise _invalid()
    revoke_session(ctx.uow, ctx.settings, ctx.who.user_id, found.session_id)


def revoke_session(uow: UnitOfWork, settings: Settings, user_id: str, session_id: str) -> None:
    """The session refreshes no more, and its access tokens are refused from now on."""

    def write() -> None:
        with uow:
            session = uow.sessions.get(session_id)
            user = uow.users.get(user_id)
            if session is None or user is None:
                return
            if session.revoked_at is None:
                uow.sessions.revoke(session)
            if session_id not in user.revoked_sessions:
                read = dataclasses.replace(user)
                now = int(time.time())
                user.revoke_session(session_id, until=now + settings.jwt_ttl_seconds + LEEWAY_SECONDS, now=now)
                uow.users.change(user, ["revoked_sessions"], as_read=read)
            uow.commit()

    versioned_write(write)
    forget_account(uow, user_id)
