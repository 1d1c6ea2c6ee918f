"""Passwords and emails proven: change, forgot, reset, verify (docs/adr/0010).

A change keeps the caller signed in and signs every other session out; a reset signs every
session out. Reset and verification links carry one-time tokens, stored as hashes, spent on use.
`forgot` does the same work and answers the same whether or not the account exists.
"""

import dataclasses
import time

from ..auth.opaque import derived_token, new_nonce, token_hash, well_formed
from ..auth.passwords import hash_password, verify_password
from ..domain.errors import BadRequest, UnknownActor, ValidationFailed
from ..domain.events import PasswordResetRequested
from ..domain.ids import utc_now
from ..domain.models import User
from ..domain.sessions import RESET_SECONDS, OneTimeToken, Purpose
from ..storage import UnitOfWork
from . import throttle
from .context import Context, SignedIn
from .outbox import commit
from .users import forget_account
from .versions import versioned_write

# What a password change writes of the user: the hash and the revocation of the other sessions.
PASSWORD_FIELDS = ("password_hash", "password_changed_at", "token_generation", "kept_session", "kept_generation")


def _invalid_token() -> BadRequest:
    return BadRequest(
        "The link is not valid: it was used already, has expired, or was never issued.",
        code="invalid_token",
        details=[{"field": "token", "message": "not a valid token"}],
    )


def change_password(
    ctx: SignedIn,
    *,
    current_password: str,
    new_password: str,
    source_ip: str | None = None,
) -> None:
    """Set a new password; the caller's session stays signed in, every other is signed out.

    The current password is checked as a login is (throttled alike): a stolen access token alone
    does not take the account over.
    """
    uow, settings, who = ctx.uow, ctx.settings, ctx.who
    with uow:
        user = uow.users.get(who.user_id)
    if user is None:
        raise UnknownActor()
    throttle.before_login(uow, settings, email=user.email, source_ip=source_ip)
    if not verify_password(user.password_hash, current_password):
        throttle.login_failed(uow, settings, email=user.email, source_ip=source_ip)
        raise ValidationFailed(
            "The current password is wrong.",
            code="wrong_password",
            details=[{"field": "current_password", "message": "not the account's password"}],
        )
    if new_password == current_password:
        raise ValidationFailed(
            "The new password is the current one.",
            details=[{"field": "new_password", "message": "must differ from the current password"}],
        )
    password_hash = hash_password(new_password, ctx.settings.password_hash_profile)

    def write() -> None:
        with uow:
            user = uow.users.get(who.user_id)
            session = uow.sessions.get(who.session_id) if who.session_id else None
            if user is None:
                raise UnknownActor()
            read = dataclasses.replace(user)
            user.set_password(password_hash, keep=who)
            uow.users.change(user, PASSWORD_FIELDS, as_read=read)
            if session is not None:
                uow.sessions.move(session, user.token_generation)  # its refresh goes on working
            throttle.login_succeeded(uow, settings, email=user.email, source_ip=source_ip)
            uow.commit()

    versioned_write(write)
    forget_account(uow, who.user_id)


def forgot_password(ctx: Context, *, email: str, source_ip: str | None = None) -> None:
    """Email a reset link to the account of this email, if there is one (and it is active).

    Either way one guard is read and one token and one outbox event are written: the answer and
    its time tell nothing. The deliverer sends the email, or nothing when no account has it.
    """
    uow, settings = ctx.uow, ctx.settings
    throttle.before_reset_request(uow, settings, email=email, source_ip=source_ip)
    nonce = new_nonce()
    with uow:
        user_id = uow.users.user_id_of(email)
        uow.one_time_tokens.add(
            OneTimeToken(
                hash=token_hash(derived_token(settings.jwt_secret, Purpose.RESET, nonce)),
                purpose=Purpose.RESET,
                issued_at=utc_now(),
                expires_at=int(time.time()) + RESET_SECONDS,
                user_id=user_id,
            )
        )
        uow.record(PasswordResetRequested(user_id=user_id, nonce=nonce))
        commit(uow, settings)


def _usable(uow: UnitOfWork, purpose: Purpose, token: str) -> tuple[OneTimeToken, User]:
    """The unspent, unexpired token and its (active) user; BadRequest invalid_token otherwise."""
    found = uow.one_time_tokens.get(purpose, token_hash(token)) if well_formed(token) else None
    if found is None or found.used_at is not None or found.expires_at <= time.time() or found.user_id is None:
        raise _invalid_token()
    user = uow.users.get(found.user_id)
    if user is None or not user.active:
        raise _invalid_token()
    return found, user


def reset_password(ctx: Context, *, token: str, new_password: str) -> None:
    """Set the password from a reset link; every session of the user is signed out. The link also
    proves the email, so the account counts as verified."""
    uow = ctx.uow
    with uow:
        _usable(uow, Purpose.RESET, token)  # refuse a bad token before paying for the hash
    password_hash = hash_password(new_password, ctx.settings.password_hash_profile)

    def write() -> str:
        with uow:
            found, user = _usable(uow, Purpose.RESET, token)
            if user.password_changed_at is not None and found.issued_at < user.password_changed_at:
                raise _invalid_token()  # asked for before the password last changed
            read = dataclasses.replace(user)
            user.set_password(password_hash)
            fields = [*PASSWORD_FIELDS]
            if not user.email_verified:
                user.email_verified_at = utc_now()
                fields.append("email_verified_at")
            uow.one_time_tokens.use(found, failure=_invalid_token())
            uow.users.change(user, fields, as_read=read)
            uow.commit()
            return user.id

    forget_account(uow, versioned_write(write))


def verify_email(ctx: Context, *, token: str) -> None:
    """Mark the user's email verified from the link in their welcome email; the token is spent."""
    uow = ctx.uow

    def write() -> str:
        with uow:
            found, user = _usable(uow, Purpose.VERIFY, token)
            uow.one_time_tokens.use(found, failure=_invalid_token())
            if not user.email_verified:
                read = dataclasses.replace(user)
                user.email_verified_at = utc_now()
                uow.users.change(user, ["email_verified_at"], as_read=read)
            uow.commit()
            return user.id

    forget_account(uow, versioned_write(write))
