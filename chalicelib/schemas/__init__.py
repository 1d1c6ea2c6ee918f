"""Request and response models of the HTTP API: the views validate with them, and render with them.

One module per resource, imported by that resource's views alone: a cold start builds the models
of the resource its first request needs, and no others. This module holds what they share.

Input is strict. Bodies: a number is not a string, "5" is not a number. Bodies and query strings:
a field or parameter the model does not declare is refused (422 naming it), so a typo (`rol`) or
a field a client may not set (id, version, owner, the status of an application...) is an error,
never silently dropped. Every string refuses control characters (tab and newline only in long text).
"""

import re
from collections.abc import Iterator
from dataclasses import KW_ONLY, dataclass
from typing import Annotated, Any, TypeVar

from annotated_types import GroupedMetadata
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, StringConstraints

from ..domain.ids import is_id
from ..domain.models import JobStatus
from ..domain.pipeline import ApplicationStatus

# Control characters (C0, DEL, C1): NUL truncates, CR and LF split email headers, none is text.
_CONTROL = r"\x00-\x1f\x7f-\x9f"
_CONTROL_BUT_LINES = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # long text may hold tabs and line breaks


def _refusing(control: str, allowed: str):
    found = re.compile(f"[{control}]").search

    def check(value):
        match = found(value) if isinstance(value, str) else None  # not a string: the type check says so
        if match:
            raise ValueError(
                f"must not contain control characters{allowed} (U+{ord(match.group()):04X} at position {match.start()})"
            )
        return value

    return check


_SINGLE_LINE = BeforeValidator(_refusing(_CONTROL, " such as NUL, tab or newline"))
_MULTILINE = BeforeValidator(_refusing(_CONTROL_BUT_LINES, " other than tab and newline"))


@dataclass(frozen=True)
class Text(GroupedMetadata):
    """A string with bounded length and no control characters: every string the API takes is one,
    `Annotated[str, Text(200)]`.

    Checked before stripping, so that a control character is refused, not silently trimmed; the
    OpenAPI document carries the same rule as a pattern.
    """

    max_length: int
    min_length: int = 0
    _: KW_ONLY
    multiline: bool = False
    strip: bool = True

    def __iter__(self) -> Iterator[Any]:
        control, check = (_CONTROL_BUT_LINES, _MULTILINE) if self.multiline else (_CONTROL, _SINGLE_LINE)
        yield StringConstraints(strip_whitespace=self.strip, min_length=self.min_length, max_length=self.max_length)
        yield check
        yield Field(json_schema_extra={"pattern": f"^[^{control}]*$"})


# The cursor of a list that filters: a page a read bound cut short carries one though it is short.
NextCursor = Annotated[
    str | None,
    Field(
        description="the cursor of the next page, null on the last; a filtered page reads a bounded number of "
        "stored items, so it may hold fewer than limit (even none) and still have one: follow it until null"
    ),
]

# A ULID (chalicelib.domain.ids): what check_id accepts, for the OpenAPI document.
Id = Annotated[
    str,
    StringConstraints(min_length=26, max_length=26),
    Field(json_schema_extra={"pattern": "^[0-7][0-9A-HJKMNP-TV-Z]{25}$"}),
]
DEFAULT_LIMIT, MAX_LIMIT = 20, 100  # the page size of every list, unless asked; and its most


# The domain's enums, taken from their values even in a strict body (JSON has no enums).
FROM_VALUE = Strict(False)
JobStatusName = Annotated[JobStatus, FROM_VALUE]
ApplicationStatusName = Annotated[ApplicationStatus, FROM_VALUE]


def check_id(value: str) -> str:
    if not is_id(value):
        raise ValueError("not a valid id")
    return value


def check_optional_id(value: str | None) -> str | None:
    return None if value is None else check_id(value)


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, defer_build=True)


class Changes(Body):
    """A body of changes: only the fields the client sent change (absent is not null)."""

    def changes(self) -> dict:
        return {name: getattr(self, name) for name in self.model_fields_set}


def _value_only(schema: dict) -> None:
    """The document shows the value alone: null is not among what the field takes."""
    schema.update(schema.pop("anyOf")[0])


def _refuse_null(value):
    if value is None:
        raise ValueError("may not be null")
    return value


T = TypeVar("T")

# A field of a Changes body that may be absent (no change) but not null: AbsentOr[<its type>] = None.
AbsentOr = Annotated[T | None, BeforeValidator(_refuse_null), Field(json_schema_extra=_value_only)]


# Query strings are text: these models convert ("20" is a limit of 20).
class QueryString(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Query(QueryString):
    """The query of a list: a page of it."""

    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT
    cursor: Annotated[str, Text(200)] | None = None


# Responses: every response wraps its resource (an envelope, or a page of items).
class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, defer_build=True)
