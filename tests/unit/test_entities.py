"""Entity declarations: a record to an item and back, and items written before a field existed."""

import json
import math
from dataclasses import dataclass, field

from chalicelib.storage.entities import JSON, Entity


@dataclass
class Note:
    id: str
    text: str
    pinned: bool = False  # a field added after notes were first stored
    tags: list = field(default_factory=list)
    meta: dict = field(default_factory=lambda: {"v": 1})
    edited_at: str | None = None
    events: list = field(default_factory=list, compare=False)  # not stored


NOTE: Entity[Note] = Entity(
    "Note",
    Note,
    key=lambda n: (f"NOTE#{n.id}", "NOTE"),
    indexes={"GSI1": lambda n: ("NOTES", n.id)},
    renamed={"text": "body"},
    codecs={"tags": JSON, "meta": JSON},
)


def test_a_record_round_trips_through_its_item():
    note = Note("n1", "hello", pinned=True, tags=["a"], meta={"v": 2}, edited_at="2027-01-01T00:00:00Z")

    item = NOTE.item(note)

    assert item == {
        "PK": "NOTE#n1",
        "SK": "NOTE",
        "type": "Note",
        "id": "n1",
        "body": "hello",
        "pinned": True,
        "tags": '["a"]',
        "meta": '{"v": 2}',
        "edited_at": "2027-01-01T00:00:00Z",
        "GSI1PK": "NOTES",
        "GSI1SK": "n1",
    }
    assert NOTE.load(item) == note


def test_an_item_stored_before_a_field_existed_loads_with_the_fields_default():
    old_item = {"PK": "NOTE#n2", "SK": "NOTE", "type": "Note", "id": "n2", "body": "from before"}

    note = NOTE.load(old_item)

    assert note == Note("n2", "from before", pinned=False, tags=[], meta={"v": 1}, edited_at=None)
    assert NOTE.load(old_item).tags is not note.tags  # a factory's default is made afresh each time


def test_a_stored_falsy_value_is_kept_not_replaced_by_the_default():
    item = NOTE.item(Note("n3", "", pinned=False, tags=[], meta={}))

    assert NOTE.load(item) == Note("n3", "", pinned=False, tags=[], meta={})


# --- The search keys ------------------------------------------------------------------------------


def test_a_titles_word_prefixes_are_cut_deduplicated_and_capped():
    from chalicelib.storage.entities import MAX_TITLE_WORDS, title_words, word_prefixes

    assert title_words("Senior C++ Straße-Planner, (m/f/d)") == " senior c strasse planner m f d"
    assert word_prefixes("Senior C++ Straße-Planner, (m/f/d)") == ["sen", "str", "pla"]  # words under 3 left out
    assert word_prefixes("Engineer engineering ENGINE") == ["eng"]  # one item per prefix
    many = " ".join(f"{letter * 3}x" for letter in "abcdefghijklmn")
    assert word_prefixes(many) == [letter * 3 for letter in "abcdefghijklmn"][:MAX_TITLE_WORDS]


def test_a_lookup_key_is_the_normalised_value_or_its_hash_when_long():
    from chalicelib.storage.entities import LOOKUP_KEY_BYTES, lookup_key

    assert lookup_key("  BERLIN ") == lookup_key("\uff22\uff45\uff52\uff4c\uff49\uff4e") == "berlin"  # NFKC
    assert lookup_key(None) is None
    long = "\ufdfa" * 200  # 200 characters, 3600 UTF-8 bytes once NFKC expands each to 18 characters
    assert len(lookup_key(long) or "") == len("sha256:") + 64 and lookup_key(long) == lookup_key(long + " ")
    at_limit = "a" * LOOKUP_KEY_BYTES
    assert lookup_key(at_limit) == at_limit and lookup_key(at_limit + "a") != at_limit + "a"


def test_json_decodes_what_json_dumps_wrote_even_where_orjson_refuses_it():
    for value in ([], ["01HZ"], {"big": 2**70, "text": "\ud800 é", "float": 0.1}):
        assert JSON.decode(JSON.encode(value)) == value
    assert math.isnan(JSON.decode(JSON.encode([float("nan")]))[0])
    assert JSON.decode(json.dumps({"a": 1})) == {"a": 1}
