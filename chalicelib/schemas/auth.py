"""Accounts: registration, login, and the user as the API shows it."""
from typing import Annotated, Literal

from pydantic import AfterValidator, StringConstraints

from ..auth.policy import MAX_LENGTH, MIN_LENGTH, is_common
from . import Body, Out, Text

# The HTML living standard's valid e-mail address: ASCII, so every mail server takes it as it is.
EMAIL_PATTERN = (r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                 r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254, pattern=EMAIL_PATTERN)]


def _not_common(password: str) -> str:
    if is_common(password):
        raise ValueError("this password is too common; choose another")
    return password


Password = Annotated[str, StringConstraints(min_length=MIN_LENGTH, max_length=MAX_LENGTH),
                     AfterValidator(_not_common)]


class RegisterRequest(Body):
    email: Email
    password: Password
    name: Text(200, 1) | None = None
    role: Literal["candidate", "recruiter"] = "candidate"


class LoginRequest(Body):
    email: Text(254, 1)
    # Not stripped: registration keeps spaces that are part of a password, so login must too.
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


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
