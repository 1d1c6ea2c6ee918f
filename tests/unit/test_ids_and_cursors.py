"""Ids (ULIDs made by the domain) and signed list cursors."""

import base64
import re
from datetime import datetime

import pytest

from chalicelib.domain.errors import BadRequest
from chalicelib.domain.ids import is_id, new_id, utc_now
from chalicelib.services.pagination import Page, decode_cursor, encode_cursor, paginate

ULID = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
SECRET = "k" * 48


def test_new_id_has_the_ulid_shape():
    value = new_id()
    assert ULID.match(value), value
    assert is_id(value)


def test_ids_are_strictly_increasing_in_creation_order():
    ids = [new_id() for _ in range(5000)]  # many within one millisecond
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_id_time_part_is_the_current_millisecond():
    before = int(datetime.now().timestamp() * 1000)
    value = new_id()
    decoded = int("".join(f"{'0123456789ABCDEFGHJKMNPQRSTVWXYZ'.index(c):05b}" for c in value[:10]), 2)
    assert before - 1000 <= decoded <= before + 1000


# A fixed id, not new_id(): parameters are made at collection, which each xdist worker does alike.
AN_ID = "01M8S5QEY0EGRQWJSRGNAT1A8G"


@pytest.mark.parametrize(
    "value", ["", "x" * 26, AN_ID.lower(), AN_ID[:-1], "8" + AN_ID[1:], AN_ID[:-1] + "U", None, 26]
)
def test_is_id_refuses_what_is_not_a_ulid(value):
    assert not is_id(value)


def test_utc_now_is_iso_8601_utc_with_z():
    value = utc_now()
    assert value.endswith("Z")
    assert datetime.fromisoformat(value.replace("Z", "+00:00")).utcoffset().total_seconds() == 0


def test_cursor_round_trips():
    last = new_id()
    assert decode_cursor(SECRET, encode_cursor(SECRET, last)) == last


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "forged",
    [
        "not-a-cursor",
        "!!!!",
        _b64("no-dot-here"),
        _b64(f"{AN_ID}.forgedsignature"),
        _b64("a.b.c"),
        _b64("\u00e9t\u00e9.x"),
        base64.urlsafe_b64encode(b"\xff\xfe.\x00").decode(),
    ],
)
def test_forged_cursor_is_bad_request(forged):
    with pytest.raises(BadRequest) as raised:
        decode_cursor(SECRET, forged)
    assert raised.value.code == "invalid_cursor"


def test_cursor_signed_with_another_secret_is_bad_request():
    with pytest.raises(BadRequest):
        decode_cursor(SECRET, encode_cursor("o" * 48, new_id()))


def test_cursor_with_a_swapped_id_is_bad_request():
    good = base64.urlsafe_b64decode(encode_cursor(SECRET, new_id()) + "==").decode()
    _, signature = good.split(".")
    with pytest.raises(BadRequest):
        decode_cursor(SECRET, _b64(f"{new_id()}.{signature}"))


class Item:
    def __init__(self, id):
        self.id = id


def test_paginate_walks_every_item_once_newest_first():
    items = [Item(new_id()) for _ in range(7)]
    newest_first = sorted(items, key=lambda i: i.id, reverse=True)

    def fetch(n, before):
        return [i for i in newest_first if before is None or i.id < before][:n]

    seen, cursor = [], None
    for _ in range(10):
        page = paginate(fetch, limit=3, cursor=cursor, secret=SECRET)
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [i.id for i in seen] == [i.id for i in newest_first]


def test_paginate_gives_no_cursor_when_the_page_is_exactly_full():
    items = [Item(new_id()) for _ in range(3)]
    page = paginate(
        lambda n, before: sorted(items, key=lambda i: i.id, reverse=True)[:n], limit=3, cursor=None, secret=SECRET
    )
    assert page == Page(page.items, None) and len(page.items) == 3


def test_crockford_writes_ulid_text_of_any_length():
    from chalicelib.domain.ids import crockford

    assert crockford(1469918176385, 10) == "01ARYZ6S41"  # the ULID spec's time part
    assert crockford(0, 26) == "0" * 26 and crockford(2**130 - 1, 26) == "Z" * 26
    assert crockford(1469918176385, 9) == "1ARYZ6S41"  # an odd length: the low 45 bits
    assert crockford((1 << 80) | 31, 17) == "1" + "0" * 15 + "Z"
