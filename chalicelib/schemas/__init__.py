"""Request and response models of the HTTP API: the views validate with them, and render with them.

One module per resource, imported by that resource's views alone: a cold start builds the models
of the resource its first request needs, and no others. This module holds what they share.

Bodies are validated strictly (a number is not a string, "5" is not a number). Fields a client
may not set (id, role on updates, version, owner, status on applications...) are not declared,
so sending them changes nothing.
"""
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..domain.ids import is_id


def Text(max_length: int, min_length: int = 0):
    """A stripped string with bounded length: every string the API takes has a bound."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)]


Id = Annotated[str, StringConstraints(min_length=26, max_length=26)]
JobStatusName = Literal["draft", "open", "closed"]
ApplicationStatusName = Literal["applied", "screening", "shortlisted", "selected", "hired", "rejected", "withdrawn"]


def check_id(value: str) -> str:
    if not is_id(value):
        raise ValueError("not a valid id")
    return value


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, defer_build=True)


# Query strings are text: these models convert ("20" is a limit of 20).
class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Text(200) | None = None


# Responses: every response wraps its resource (an envelope, or a page of items).
class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, defer_build=True)
