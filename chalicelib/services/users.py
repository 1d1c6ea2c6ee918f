"""Accounts: register, log in, who am I, and the first admin."""

import dataclasses
import time
from dataclasses import dataclass

from ..auth.passwords import dummy_hash, hash_password, verify_password
from ..auth.tokens import issue_token
from ..config import Settings
from ..domain.errors import AuthenticationFailed, PermissionDenied, UnknownActor
from ..domain.models import USER_EDITABLE_FIELDS, Principal, Role, User
from ..storage import UnitOfWork
from . import throttle
from .outbox import commit


@dataclass(frozen=True)
class LoginResult:
    """A signed-in user and the bearer token issued to them."""

    access_token: str
    token_type: str
    expires_in: int
    user: User


def register(
    uow: UnitOfWork,
    settings: Settings,
    *,
    email: str,
    password: str,
    name: str | None = None,
    role: Role = Role.CANDIDATE,
) -> User:
    if role == Role.ADMIN:
        raise PermissionDenied("Admins are created with the create-admin command.")
    if role == Role.RECRUITER and not settings.allow_recruiter_signup:
        raise PermissionDenied("Recruiter sign-up is switched off; ask an admin.", code="signup_closed")
    return _create_user(uow, settings, email=email, password=password, name=name, role=role)


def create_admin(uow: UnitOfWork, settings: Settings, *, email: str, password: str, name: str) -> User:
    return _create_user(uow, settings, email=email, password=password, name=name, role=Role.ADMIN)


def _create_user(uow, settings, *, email, password, name, role) -> User:
    user = User.register(
        email=email,
        name=name or email.split("@")[0],
        role=role,
        password_hash=hash_password(password, settings.password_hash_profile),
    )
    with uow:
        uow.users.add(user)
        commit(uow, settings)
    return user


def login(
    uow: UnitOfWork, settings: Settings, *, email: str, password: str, source_ip: str | None = None
) -> LoginResult:
    """A token for the right email and password; RateLimited after too many failures (throttle.py)."""
    throttle.before_login(uow, settings, email=email, source_ip=source_ip)  # before any hashing
    with uow:
        user = uow.users.get_by_email(email)
    if user is None:
        verify_password(dummy_hash(settings.password_hash_profile), password)  # same cost as a wrong password
    if user is None or not verify_password(user.password_hash, password):
        throttle.login_failed(uow, settings, email=email, source_ip=source_ip)
        raise AuthenticationFailed("Invalid email or password.", code="invalid_credentials")
    throttle.login_succeeded(uow, settings, email=email, source_ip=source_ip)
    token = issue_token(
        user_id=user.id,
        role=user.role,
        secret=settings.jwt_secret,
        ttl_seconds=settings.jwt_ttl_seconds,
        issuer=settings.jwt_issuer,
    )
    return LoginResult(access_token=token, token_type="Bearer", expires_in=settings.jwt_ttl_seconds, user=user)


def get_me(uow: UnitOfWork, who: Principal) -> User:
    with uow:
        user = uow.users.get(who.user_id)
    if user is None:
        raise UnknownActor()
    return user


def update_me(uow: UnitOfWork, settings: Settings, who: Principal, changes: dict) -> User:
    """Change the caller's own name, phone or timezone (schemas/auth.py has validated them)."""
    unknown = set(changes) - set(USER_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not a field a user changes: {', '.join(sorted(unknown))}")
    with uow:
        user = uow.users.get(who.user_id)
        if user is None:
            raise UnknownActor()
        if changes:
            user = dataclasses.replace(user, **changes)
            uow.users.change(user, changes)
            commit(uow, settings)
    return user


KNOWN_FOR_SECONDS = 5.0  # how long an account seen to exist is trusted without reading it again
KNOWN_MAX = 10_000


def authenticate(uow: UnitOfWork, settings: Settings, claims: Principal) -> Principal:
    """Who a verified token speaks for, as the accounts say now: the one place a token meets them.

    A token may outlive its account (a deleted user, a reset database): UnknownActor (401). The
    role is the stored one, not the token's. An account seen to exist is trusted for a few
    seconds without a read; every write checks its actor in its own transaction regardless.
    """
    known_accounts = uow.storage.recent_accounts  # user id -> (stored role, when read, monotonic)
    now = time.monotonic()
    known = known_accounts.get(claims.user_id)
    if known is not None and now - known[1] < KNOWN_FOR_SECONDS:
        return Principal(claims.user_id, known[0])
    with uow:
        user = uow.users.get(claims.user_id)
    if user is None:
        raise UnknownActor()
    if len(known_accounts) >= KNOWN_MAX:
        known_accounts.clear()
    known_accounts[claims.user_id] = (Role(user.role), now)
    return Principal(user.id, Role(user.role))
