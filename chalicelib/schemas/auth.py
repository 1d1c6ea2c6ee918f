"""Accounts: registration, login, and the user as the API shows it."""

import functools
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from ..auth.policy import MAX_LENGTH, MIN_LENGTH, is_common
from . import AbsentOr, Body, Changes, Out, Text

# The HTML living standard's valid e-mail address: ASCII only, so every mail server takes it as it is
# (an internationalised address needs SMTPUTF8 all the way to the recipient's server).
EMAIL_PATTERN = (
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_EMAIL = re.compile(EMAIL_PATTERN)
_LOCAL_PART = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+")
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _what_is_wrong(email: str) -> str:
    """The pattern's verdict in words: the first thing that keeps this from being an address."""
    if not email.isascii():
        return "only ASCII email addresses are accepted"
    local, at, domain = email.partition("@")
    if not at:
        return "an email address needs an @, as in name@example.com"
    if "@" in domain:
        return "an email address has one @"
    if not local:
        return "the part before the @ is empty"
    if not _LOCAL_PART.fullmatch(local):
        return "the part before the @ may hold only letters, digits and .!#$%&'*+/=?^_`{|}~-"
    labels = domain.split(".")
    if len(labels) < 2:
        return "the domain after the @ needs a dot, as in example.com"
    if not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        return (
            "each part of the domain between dots must be 1 to 63 letters, digits or hyphens, "
            "not starting or ending with a hyphen"
        )
    return "this is not a valid email address"


def _valid_email(email: str) -> str:
    if not _EMAIL.fullmatch(email):
        raise ValueError(_what_is_wrong(email))
    return email


Email = Annotated[str, Text(254, 3), AfterValidator(_valid_email), Field(json_schema_extra={"pattern": EMAIL_PATTERN})]


def _not_common(password: str) -> str:
    if is_common(password):
        raise ValueError("this password is too common; choose another")
    return password


# Not stripped: spaces are part of a password.
Password = Annotated[str, Text(MAX_LENGTH, MIN_LENGTH, strip=False), AfterValidator(_not_common)]


class RegisterRequest(Body):
    email: Email
    password: Password
    name: Annotated[str, Text(200, 1)] | None = None
    role: Literal["candidate", "recruiter"] = "candidate"


class LoginRequest(Body):
    email: Annotated[str, Text(254, 1)]
    # Not stripped: registration keeps spaces that are part of a password, so login must too.
    password: Annotated[str, Text(1024, 1, strip=False)]


def _phone_number(text: str) -> str:
    """In E.164 (+4930123456), from any form phonenumbers reads with its country code."""
    import phonenumbers  # on first use: only a profile change needs its metadata

    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number: write it with its country code, as in +49 30 123456") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number for its country code")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@functools.cache
def _time_zone_names() -> frozenset[str]:
    """The IANA names tzdata ships (its own list, not the system's files: no "localtime", no paths)."""
    from importlib.resources import files

    return frozenset(files("tzdata").joinpath("zones").read_text().split()) - {"Factory"}


def _time_zone(name: str) -> str:
    if name not in _time_zone_names():
        raise ValueError("not an IANA time zone name, as in Europe/Berlin or America/New_York")
    return name


class ProfileUpdateRequest(Changes):
    """Only the fields sent change; null clears phone or timezone."""

    name: AbsentOr[Annotated[str, Text(200, 1)]] = None
    phone: Annotated[str, Text(40, 1), AfterValidator(_phone_number)] | None = None
    timezone: Annotated[str, Text(64, 1), AfterValidator(_time_zone)] | None = None


# A refresh, reset or verification token as a client sends it back: at most this long (ours are 43).
Token = Annotated[str, Text(200, 1)]


class RefreshRequest(Body):
    refresh_token: Token


class PasswordChangeRequest(Body):
    current_password: Annotated[str, Text(1024, 1, strip=False)]
    new_password: Password


class ForgotPasswordRequest(Body):
    email: Email


class ResetPasswordRequest(Body):
    token: Token
    new_password: Password


class VerifyEmailRequest(Body):
    token: Token


RoleName = Literal["candidate", "recruiter", "admin"]


class UserOut(Out):
    id: str
    email: str
    name: str
    role: RoleName
    phone: str | None
    timezone: str | None
    active: bool
    email_verified: bool
    created_at: str


class LoginOut(Out):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int  # seconds the access token lives
    refresh_token: str  # good once: POST /auth/refresh trades it for a new pair
    refresh_expires_in: int
    user: UserOut


class AcceptedOut(Out):
    message: str


class UserEnvelope(Out):
    user: UserOut
