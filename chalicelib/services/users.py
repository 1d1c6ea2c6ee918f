"""Accounts: register, who am I, the first admin, the admins' view of users, and the check of a
token against its account."""

import dataclasses
import time

from ..auth.opaque import derived_token, new_nonce, token_hash
from ..auth.passwords import hash_password
from ..domain.errors import Conflict, NotFound, PermissionDenied, UnknownActor
from ..domain.models import USER_EDITABLE_FIELDS, Principal, Role, User
from ..domain.sessions import VERIFY_SECONDS, OneTimeToken, Purpose
from ..storage import UnitOfWork
from ..storage.records import UserQuery
from .context import Context, SignedIn
from .outbox import commit
from .pagination import Page, paginate
from .versions import versioned_write


def register(
    ctx: Context,
    *,
    email: str,
    password: str,
    name: str | None = None,
    role: Role = Role.CANDIDATE,
) -> User:
    if role == Role.ADMIN:
        raise PermissionDenied("Admins are created with the create-admin command.")
    if role == Role.RECRUITER and not ctx.settings.allow_recruiter_signup:
        raise PermissionDenied("Recruiter sign-up is switched off; ask an admin.", code="signup_closed")
    return _create_user(ctx, email=email, password=password, name=name, role=role)


def create_admin(ctx: Context, *, email: str, password: str, name: str) -> User:
    return _create_user(ctx, email=email, password=password, name=name, role=Role.ADMIN)


def _create_user(ctx: Context, *, email: str, password: str, name: str | None, role: Role) -> User:
    """The account, and the verification token its welcome email links to, in one transaction."""
    settings, nonce = ctx.settings, new_nonce()
    user = User.register(
        email=email,
        name=name or email.split("@")[0],
        role=role,
        password_hash=hash_password(password, settings.password_hash_profile),
        verify_nonce=nonce,
    )
    verify = OneTimeToken(
        hash=token_hash(derived_token(settings.jwt_secret, Purpose.VERIFY, nonce)),
        purpose=Purpose.VERIFY,
        issued_at=user.created_at,
        expires_at=int(time.time()) + VERIFY_SECONDS,
        user_id=user.id,
    )
    with ctx.uow as uow:
        uow.users.add(user)
        uow.one_time_tokens.add(verify)
        commit(uow, settings)
    return user


def get_me(ctx: SignedIn) -> User:
    with ctx.uow as uow:
        user = uow.users.get(ctx.who.user_id)
    if user is None:
        raise UnknownActor()
    return user


def update_me(ctx: SignedIn, changes: dict) -> User:
    """Change the caller's own name, phone or timezone (schemas/auth.py has validated them)."""
    unknown = set(changes) - set(USER_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not a field a user changes: {', '.join(sorted(unknown))}")
    with ctx.uow as uow:
        user = uow.users.get(ctx.who.user_id)
        if user is None:
            raise UnknownActor()
        if changes:
            user = dataclasses.replace(user, **changes)
            uow.users.change(user, changes)
            commit(uow, ctx.settings)
    return user


# --- The admins' view -------------------------------------------------------------------------------


def list_users(ctx: SignedIn, query: UserQuery, *, limit: int, cursor: str | None) -> Page[User]:
    if not ctx.who.is_admin:
        raise PermissionDenied("Only admins list users.")
    with ctx.uow as uow:
        return paginate(
            lambda n, last: uow.users.page(query, limit=n, before=last),
            limit=limit,
            cursor=cursor,
            secret=ctx.settings.jwt_secret,
        )


def get_user(ctx: SignedIn, user_id: str) -> User:
    """A user as an admin sees them; staff see other staff (the views show them less)."""
    who = ctx.who
    with ctx.uow as uow:
        user = uow.users.get(user_id)
    if user is None or not (who.is_admin or (_is_staff(who.role) and _is_staff(user.role) and user.active)):
        raise NotFound("User not found.")
    return user


def _is_staff(role: str) -> bool:
    return role in (Role.RECRUITER, Role.ADMIN)


def update_user(ctx: SignedIn, user_id: str, changes: dict) -> User:
    """An admin changes a user's role or active state. Deactivating revokes every session of the
    user at once; the last active admin is neither demoted nor deactivated (409 last_admin)."""
    if not ctx.who.is_admin:
        raise PermissionDenied("Only admins change users.")

    def write() -> User:
        with ctx.uow as uow:
            user = uow.users.get(user_id)
            if user is None:
                raise NotFound("User not found.")
            read = dataclasses.replace(user)
            fields = user.administer(changes)
            if not fields:
                return user
            if read.is_active_admin and not user.is_active_admin:
                _keep_another_admin(uow, user.id)
            uow.users.change(user, fields, as_read=read)
            commit(uow, ctx.settings)
            return user

    changed = versioned_write(write)
    forget_account(ctx.uow, user_id)
    return changed


def _keep_another_admin(uow: UnitOfWork, leaving: str) -> None:
    """Make the commit conditional on another admin staying active: one is enough, as concurrent
    demotions each check an admin the others may be changing, and one of them must then fail."""
    last = Conflict("This is the last active admin: make another admin first.", code="last_admin")
    others = [u for u in uow.users.page(UserQuery(role=Role.ADMIN, active=True), limit=2) if u.id != leaving]
    if not others:
        raise last
    uow.users.require_active_admin(others[0].id, last)


# --- Tokens meet accounts -----------------------------------------------------------------------------

KNOWN_FOR_SECONDS = 5.0  # how long an account read is trusted without reading it again


def authenticate(ctx: Context, claims: Principal) -> Principal:
    """Who a verified token speaks for, as the accounts say now: the one place a token meets them.

    A token may outlive what it stood for: its account gone (a deleted user, a reset database) or
    deactivated, its session signed out, its generation revoked by a password change or reset
    (User.accepts): UnknownActor (401). The role is the stored one, not the token's. An account
    read is trusted for a few seconds without reading it again (a change made on this process
    forgets it at once: forget_account); every write checks its actor in its own transaction.
    """
    uow = ctx.uow
    recent = uow.storage.recent_accounts
    now = time.monotonic()
    user = recent_account(uow, claims.user_id, now)
    if user is None:
        changes = recent.changes()
        with uow:
            user = uow.users.get(claims.user_id)
        if user is None:
            raise UnknownActor()
        recent.keep(claims.user_id, user, now, changes)
    if not user.accepts(claims.session_id, claims.generation):
        raise UnknownActor("This token was revoked: sign in again.")
    return Principal(user.id, Role(user.role), claims.session_id, claims.generation)


def recent_account(uow: UnitOfWork, user_id: str, now: float | None = None) -> User | None:
    """The account as read here less than KNOWN_FOR_SECONDS ago (by authenticate), if it was."""
    known = uow.storage.recent_accounts.get(user_id)
    if known is None or (time.monotonic() if now is None else now) - known[1] >= KNOWN_FOR_SECONDS:
        return None
    return known[0]


def forget_account(uow: UnitOfWork, user_id: str) -> None:
    """Read the account afresh on its next request here: it just changed."""
    uow.storage.recent_accounts.forget(user_id)
