"""Cursor pages, newest first (a history: oldest first). A cursor is the last id served (or, on a page
a read bound cut short, the last id read), signed against forgery."""

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from ..domain.errors import BadRequest
from ..domain.ids import is_id
from ..storage.items import Found


class Identified(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=Identified)  # a page holds items named by an id, its order and its cursor


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of items, and the cursor of the next (None on the last)."""

    items: list[T]
    next_cursor: str | None


def _signature(secret: str, last_id: str) -> str:
    digest = hmac.new(f"cursor:{secret}".encode(), last_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def encode_cursor(secret: str, last_id: str) -> str:
    return base64.urlsafe_b64encode(f"{last_id}.{_signature(secret, last_id)}".encode()).decode().rstrip("=")


def decode_cursor(secret: str, cursor: str) -> str:
    try:
        last_id, signature = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(".")
    except ValueError:
        last_id, signature = "", ""
    if not (is_id(last_id) and hmac.compare_digest(signature, _signature(secret, last_id))):
        raise BadRequest(
            "The cursor is not valid.",
            code="invalid_cursor",
            details=[{"field": "cursor", "message": "not a cursor this API issued"}],
        )
    return last_id


def paginate(fetch: Callable[[int, str | None], list[T]], *, limit: int, cursor: str | None, secret: str) -> Page[T]:
    """fetch(n, last_id): up to n items following the last one served. One more than asked tells
    whether a next page exists. A fetch that a read bound ended early says where (Found.stopped_at):
    the page is what it found, maybe nothing, and the next goes on from there."""
    last_id = decode_cursor(secret, cursor) if cursor else None
    items = fetch(limit + 1, last_id)
    if len(items) > limit:
        items = items[:limit]
        return Page(items, encode_cursor(secret, items[-1].id))
    stopped_at = items.stopped_at if isinstance(items, Found) else None
    return Page(items, None if stopped_at is None else encode_cursor(secret, stopped_at))
