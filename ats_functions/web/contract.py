"""What one endpoint takes and gives. The wrapper (registry.Handler) enforces it, and openapi.py
publishes the same contracts, so the API and its document cannot drift apart."""

import re
from dataclasses import dataclass

from pydantic import BaseModel


@dataclass(frozen=True)
class Contract:
    """What one endpoint takes and gives; the wrapper enforces it, openapi.py publishes it."""

    name: str  # the view's name: the operation's id
    paths: tuple[str, ...]  # the first is the route of record; the others are aliases
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    returns: type[BaseModel] | None = None  # None: 204 No Content
    status: int = 200
    auth: str = "public"  # public | optional (a token, when sent, must be valid) | required
    roles: tuple[str, ...] = ()  # when set, only these roles; others get 403
    etag: str | None = None  # the key of the returned resource whose version is the ETag
    if_match: bool = False  # takes If-Match
    idempotent: bool = False  # takes Idempotency-Key
    errors: tuple[int, ...] = ()  # the statuses the use case itself can answer
    # Statuses answered with a model of their own rather than the error shape (/health's 503: its report).
    answers: tuple[tuple[int, type[BaseModel]], ...] = ()

    def operation_id(self, path: str) -> str:
        return self.name if path == self.paths[0] else f"{self.name}_via_{slug(path)}"

    def error_statuses(self) -> set[int]:
        statuses = {400, 500, *self.errors}  # 400: any request may carry two Authorization headers
        if self.body is not None:
            statuses |= {413, 415, 422}
        if self.query is not None:
            statuses.add(422)
        if self.auth != "public":
            statuses.add(401)
        if self.roles:
            statuses.add(403)
        if self.if_match:
            statuses.add(412)
        if self.idempotent:
            statuses |= {409, 422}
        return statuses


def slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_")
