"""Accounts: registration, login, and the user as the API shows it."""

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from ..auth.policy import MAX_LENGTH, MIN_LENGTH, is_common
from . import Body, Out, Text

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


class UserOut(Out):
    id: str
    email: str
    name: str
    role: Literal["candidate", "recruiter", "admin"]
    created_at: str


class LoginOut(Out):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    user: UserOut


class UserEnvelope(Out):
    user: UserOut
