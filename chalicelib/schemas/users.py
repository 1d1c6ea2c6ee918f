"""Users as admins see and change them, and as staff see each other."""

from typing import Annotated

from . import AbsentOr, Changes, NextCursor, Out, Query, Text
from .auth import RoleName, UserOut


class UserListQuery(Query):
    role: RoleName | None = None
    active: bool | None = None  # "true" or "false"
    q: Annotated[str, Text(254, 1)] | None = None  # a prefix of the name or the email, any case


class UserPage(Out):
    items: list[UserOut]
    next_cursor: NextCursor


class StaffUserOut(Out):
    """What staff see of other staff."""

    id: str
    name: str
    email: str
    role: RoleName


class UserOrStaffEnvelope(Out):
    user: UserOut | StaffUserOut  # the whole account for admins; StaffUserOut's fields for staff


class UserUpdateRequest(Changes):
    """Only the fields sent change."""

    role: AbsentOr[RoleName] = None
    active: AbsentOr[bool] = None
