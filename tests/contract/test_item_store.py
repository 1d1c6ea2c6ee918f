"""The item-store contract: every driver of chalicelib.storage.items answers alike.

Same results, same errors, at the same moment, on each driver (`item_store`): memory (the
reference), sqlite, DynamoDB on moto and on DynamoDB Local. The expected values are those of
items.holds / items.updated, DynamoDB's semantics. Attribute names such as "status", "name",
"count" and "type" are DynamoDB reserved words on purpose: a driver must escape them.
"""

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial

import pytest

from chalicelib.storage.drivers.memory import MemoryItemStore
from chalicelib.storage.items import (
    INDEXES,
    MAX_TRANSACTION_ITEMS,
    All,
    AnyOf,
    Check,
    Compare,
    Condition,
    ConditionFailed,
    Delete,
    Item,
    ItemStore,
    Operation,
    Put,
    Query,
    Update,
    Value,
    above,
    absent,
    at_most,
    begins,
    below,
    contains,
    equals,
    exists,
    holds,
    key_of,
    missing,
    one_of,
)

DRIVERS = ["memory", "sqlite", "moto", "dynamodb-local"]


@pytest.fixture(params=DRIVERS)
def item_store(request, tmp_path) -> Iterator[ItemStore]:
    """A fresh, empty store of each driver. The drivers are imported here, so that one missing
    or broken driver fails only its own tests."""
    if request.param == "memory":
        yield MemoryItemStore()
        return
    if request.param == "sqlite":
        from chalicelib.storage.drivers.sqlite import SqliteItemStore

        sqlite_store = SqliteItemStore(str(tmp_path / "items.db"))
        yield sqlite_store
        sqlite_store.close()  # every thread's connection, not left to the garbage collector
        return

    from chalicelib.storage.drivers.dynamodb import DynamoItemStore

    table = f"items-test-{uuid.uuid4().hex[:12]}"
    timeouts = dict(connect_timeout=2, read_timeout=5, max_retries=2)
    if request.param == "moto":
        from moto import mock_aws

        with mock_aws():
            store = DynamoItemStore(table, region="us-east-1", endpoint=None, **timeouts)
            store.create_table()
            yield store
        return

    server = request.getfixturevalue("dynamodb_local")
    store = DynamoItemStore(table, region="us-east-1", endpoint=server.endpoint, **timeouts)
    store.create_table()
    yield store
    store.delete_table()  # keep the in-memory server small


# --- Helpers --------------------------------------------------------------------------------------


def item(pk: str, sk: str, **attributes: Value) -> Item:
    return {"PK": pk, "SK": sk, "type": "thing", **attributes}


def put_all(store: ItemStore, items: Iterable[Item]) -> None:
    """Seed the store, in transactions as large as allowed (fewer round trips on DynamoDB)."""
    puts = [Put(each) for each in items]
    for start in range(0, len(puts), MAX_TRANSACTION_ITEMS):
        store.transact(puts[start : start + MAX_TRANSACTION_ITEMS])


def sort_keys(found: Iterable[Item], name: str = "SK") -> list[str]:
    return [str(each[name]) for each in found]


def by_key(found: Iterable[Item]) -> list[Item]:
    return sorted(found, key=key_of)


def failed_operation(call: Callable[[], object]) -> Operation:
    """The operation ConditionFailed names (the call must raise it)."""
    with pytest.raises(ConditionFailed) as failure:
        call()
    return failure.value.operation


def outcome(call: Callable[[], object]) -> bool | str:
    """True if the call went through, False on ConditionFailed, the error's repr on any other."""
    try:
        call()
    except ConditionFailed:
        return False
    except Exception as error:
        return f"raised {error!r}"
    return True


def run_together(count: int, action: Callable[[int], object]) -> list[object]:
    """Run action(i) on `count` threads released at once; each result, or the exception it raised."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = action(i)
        except Exception as error:
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is still running"
    return results


# moto's in-process DynamoDB has no locks: concurrent writes interleave there (lost updates, two
# winners), so the races run on the drivers that do lock; DynamoDB Local holds the DynamoDB driver to them.
LOCKING_DRIVERS = pytest.mark.parametrize("item_store", [d for d in DRIVERS if d != "moto"], indirect=True)


# --- get, get_many --------------------------------------------------------------------------------


def test_get_of_an_absent_item_is_none(item_store):
    assert item_store.get(("NOPE", "NOPE")) is None


def test_an_item_comes_back_as_written(item_store):
    written = item(
        "USER#1",
        "USER",
        name="Zoë — 東京 🚀",
        quoted='it\'s "quoted"\nover two lines',
        count=7,
        zero=0,
        negative=-42,
        big=2**53 + 1,  # not exact as a float
        ratio=2.5,
        small=1e-7,
        at=1_800_000_000.123456,  # an epoch time in microseconds: exact, not rounded
        GSI1PK="USERS",
        GSI1SK="01H",
    )
    item_store.transact([Put(written)])

    found = item_store.get(("USER#1", "USER"))

    assert found == written
    assert {name: type(value) for name, value in found.items()} == {
        name: type(value) for name, value in written.items()
    }, "an int comes back an int, a float a float (never a Decimal)"
    assert found["at"] == 1_800_000_000.123456


def test_what_the_store_returns_is_a_copy(item_store):
    written = item("P", "a", n=1, GSI1PK="G", GSI1SK="a")
    item_store.transact([Put(written)])
    written["n"] = 99  # changing what was written changes nothing stored

    for found in (
        item_store.get(("P", "a")),
        *item_store.get_many([("P", "a")]),
        *item_store.query("P"),
        *item_store.query("G", index="GSI1"),
    ):
        assert found is not None
        assert found["n"] == 1
        found["n"] = 2
        found["extra"] = "x"
    returned = item_store.write(Update(("P", "a"), set={"m": 1}))
    assert returned is not None
    returned["n"] = 3

    assert item_store.get(("P", "a")) == item("P", "a", n=1, m=1, GSI1PK="G", GSI1SK="a")


def test_get_many_skips_missing_keys_and_takes_duplicates_and_more_than_100(item_store):
    stored = [item(f"USER#{i:03d}", "USER", n=i) for i in range(130)]
    put_all(item_store, stored)
    keys = [key_of(each) for each in stored] + [(f"GHOST#{i}", "USER") for i in range(20)]
    keys += keys[:10]  # duplicates

    found = item_store.get_many(key for key in keys)  # any iterable, read once

    assert by_key(found) == by_key(stored)


def test_get_many_of_no_keys_or_only_missing_ones_is_empty(item_store):
    assert item_store.get_many([]) == []
    assert item_store.get_many([("GHOST", "A"), ("GHOST", "B")]) == []


# --- query ----------------------------------------------------------------------------------------


def test_query_reads_one_partition_in_sort_key_order(item_store):
    # Binary (code point) order: digits before capitals before lower case; "10" before "9".
    keys = ["b", "a", "B", "A#2", "A#10", "~", "10", "9"]
    partition = [item("P", sk, n=i) for i, sk in enumerate(keys)]
    put_all(item_store, [*partition, item("P2", "a"), item("P#", "a"), item("Q", "c")])

    assert item_store.query("P") == sorted(partition, key=lambda each: each["SK"])
    assert sort_keys(item_store.query("P", descending=True)) == sorted(keys, reverse=True)


def test_an_eventually_consistent_get_finds_a_written_item(item_store):
    put_all(item_store, [item("P", "A", n=1)])
    assert item_store.get(("P", "A"), consistent=False) == item("P", "A", n=1)
    assert item_store.get(("P", "B"), consistent=False) is None


def test_select_many_answers_each_query_in_order(item_store):
    put_all(
        item_store,
        [item("P", sk, GSI1PK="G", GSI1SK=sk, n=i) for i, sk in enumerate("abc")] + [item("Q", sk) for sk in "xyz"],
    )
    queries = [
        Query("Q", descending=True, limit=2),
        Query("G", "GSI1", before="c"),
        Query("NONE"),
        Query("P", filter=equals("n", 1)),
    ]
    assert item_store.select_many(queries) == [item_store.select(query) for query in queries]
    assert [sort_keys(found) for found in item_store.select_many(queries)] == [["z", "y"], ["a", "b"], [], ["b"]]
    assert item_store.select_many([]) == []


def test_query_after_and_before_are_exclusive(item_store):
    put_all(item_store, [item("P", sk) for sk in "abcde"])

    assert sort_keys(item_store.query("P", after="b")) == ["c", "d", "e"]
    assert sort_keys(item_store.query("P", before="d")) == ["a", "b", "c"]
    assert sort_keys(item_store.query("P", after="b", before="e")) == ["c", "d"]
    assert sort_keys(item_store.query("P", after="bb")) == ["c", "d", "e"]  # a bound needs not be a key
    assert sort_keys(item_store.query("P", after="b", descending=True)) == ["e", "d", "c"]
    assert sort_keys(item_store.query("P", before="d", descending=True)) == ["c", "b", "a"]
    assert item_store.query("P", after="e") == []
    assert item_store.query("P", before="a") == []
    assert item_store.query("P", after="c", before="d") == []


def test_query_prefix_alone_and_with_bounds(item_store):
    keys = ["A", "APP", "APP#1", "APP#2", "APP#3", "APPLIED", "HIST#1", "HIST#2"]
    put_all(item_store, [item("APP#9", sk) for sk in keys])

    def query(**options) -> list[str]:
        return sort_keys(item_store.query("APP#9", **options))

    assert query(prefix="APP#") == ["APP#1", "APP#2", "APP#3"]
    assert query(prefix="APP") == ["APP", "APP#1", "APP#2", "APP#3", "APPLIED"]
    assert query(prefix="HIST#", descending=True) == ["HIST#2", "HIST#1"]
    assert query(prefix="NOPE") == []
    # with after: inside the prefix's range, below it, above it
    assert query(prefix="APP#", after="APP#1") == ["APP#2", "APP#3"]
    assert query(prefix="APP#", after="A") == ["APP#1", "APP#2", "APP#3"]
    assert query(prefix="APP#", after="APP#3") == []
    assert query(prefix="APP#", after="HIST") == []
    # with before: inside, above, below
    assert query(prefix="APP#", before="APP#3") == ["APP#1", "APP#2"]
    assert query(prefix="APP#", before="B") == ["APP#1", "APP#2", "APP#3"]
    assert query(prefix="APP#", before="APP#") == []
    assert query(prefix="APP#", before="A") == []
    # both, and with the other options
    assert query(prefix="APP#", after="APP#1", before="APP#3") == ["APP#2"]
    assert query(prefix="APP#", after="APP#1", descending=True, limit=1) == ["APP#3"]
    assert query(prefix="APP#", before="APP#3", descending=True) == ["APP#2", "APP#1"]


def test_query_limit(item_store):
    put_all(item_store, [item("P", sk) for sk in "abcde"])

    assert sort_keys(item_store.query("P", limit=2)) == ["a", "b"]
    assert sort_keys(item_store.query("P", limit=2, descending=True)) == ["e", "d"]
    assert sort_keys(item_store.query("P", limit=2, after="b")) == ["c", "d"]
    assert sort_keys(item_store.query("P", limit=1, prefix="c")) == ["c"]
    assert sort_keys(item_store.query("P", limit=10)) == ["a", "b", "c", "d", "e"]


# 250 items in P (and in G of GSI3), "000" to "249": those of 000, 050, ... 200 match.
EVERY_50TH_MATCHES = [
    item("P", f"{i:03d}", status="match" if i % 50 == 0 else "other", GSI3PK="G", GSI3SK=f"{i:03d}") for i in range(250)
]
matching = equals("status", "match")


def test_query_with_filter_and_limit_reads_past_what_it_filters_out(item_store):
    # Only every 50th item matches: a driver that applies the limit before the filter (as
    # DynamoDB's Limit does) and stops at the first page finds fewer than 3.
    put_all(item_store, EVERY_50TH_MATCHES)

    assert sort_keys(item_store.query("P", filter=matching, limit=3)) == ["000", "050", "100"]
    assert sort_keys(item_store.query("P", filter=matching, limit=3, descending=True)) == ["200", "150", "100"]
    assert sort_keys(item_store.query("P", filter=matching)) == ["000", "050", "100", "150", "200"]
    assert sort_keys(item_store.query("P", filter=matching, limit=2, after="000")) == ["050", "100"]
    assert sort_keys(item_store.query("G", index="GSI3", filter=matching, limit=3), "GSI3SK") == ["000", "050", "100"]


def test_query_reads_at_most_its_bound_and_says_where_it_stopped(item_store):
    # Every 50th item matches: with a bound of 60 a query finds what the first 60 hold, and
    # says where it stopped, so the next read goes on from there.
    put_all(item_store, EVERY_50TH_MATCHES)

    first = item_store.query("P", filter=matching, limit=3, reads=60)
    assert (sort_keys(first), first.stopped_at) == (["000", "050"], "059")
    after = item_store.query("P", filter=matching, limit=3, reads=60, after=first.stopped_at)
    assert (sort_keys(after), after.stopped_at) == (["100"], "119")
    down = item_store.query("G", index="GSI3", filter=matching, descending=True, limit=3, reads=60)
    assert (sort_keys(down, "GSI3SK"), down.stopped_at) == (["200"], "190")
    below = item_store.query("G", index="GSI3", filter=matching, descending=True, reads=60, before="190")
    assert (sort_keys(below, "GSI3SK"), below.stopped_at) == (["150"], "130")
    # Nothing matches: a bounded read, an empty page, and where to go on.
    none = item_store.query("P", filter=equals("status", "gone"), limit=20, reads=30)
    assert (list(none), none.stopped_at) == ([], "029")
    # The limit reached first, or the range's end: no stop to report.
    enough = item_store.query("P", filter=matching, limit=2, reads=60)
    assert (sort_keys(enough), enough.stopped_at) == (["000", "050"], None)
    tail = item_store.query("P", filter=matching, reads=60, after="200")
    assert (list(tail), tail.stopped_at) == ([], None)
    # Without a filter the bound is a limit that says where it stopped; with prefix and bounds alike.
    plain = item_store.query("P", limit=10, reads=4, after="010")
    assert (sort_keys(plain), plain.stopped_at) == (["011", "012", "013", "014"], "014")
    ranged = item_store.query("P", filter=matching, prefix="1", after="100", before="160", reads=55)
    assert (sort_keys(ranged), ranged.stopped_at) == (["150"], "155")
    assert item_store.query("P", limit=3).stopped_at is None


FILTERED: list[Item] = [
    item("P", "1", status="open", count=1, name="Backend Engineer"),
    item("P", "2", status="closed", count=2, name="Frontend Engineer", note="x"),
    item("P", "3", status="draft", count=3, name="Data Analyst"),
    {"PK": "P", "SK": "4", "type": "history", "status": "open", "count": 4.5, "name": "Designer"},
]

FILTERS: list[tuple[Condition, list[str]]] = [
    (equals("status", "open"), ["1", "4"]),
    (equals("type", "history"), ["4"]),
    (equals("count", 2), ["2"]),
    (equals("count", "2"), []),  # a number never equals a string
    (one_of("status", ["closed", "draft"]), ["2", "3"]),
    (one_of("count", [1, 4.5, "3"]), ["1", "4"]),
    (contains("name", "Engineer"), ["1", "2"]),
    (contains("name", "engineer"), []),
    (begins("name", "Front"), ["2"]),
    (begins("name", "Engineer"), []),  # a prefix, not a substring
    (begins("count", "4"), []),  # a number never begins with text
    (absent("note"), ["1", "3", "4"]),
    (below("count", 3), ["1", "2"]),
    (at_most("count", 3), ["1", "2", "3"]),
    (above("count", 3), ["4"]),
    (Compare("count", ">=", 3), ["3", "4"]),
    (above("status", "draft"), ["1", "4"]),
    (All((equals("status", "open"), equals("type", "thing"))), ["1"]),
    (AnyOf((equals("status", "draft"), contains("name", "Front"))), ["2", "3"]),
    (All((AnyOf((absent("note"), equals("count", 2))), below("count", 4))), ["1", "2", "3"]),
    (AnyOf((equals("status", "gone"), absent("status"))), []),
    (one_of("status", []), []),
    (exists(), ["1", "2", "3", "4"]),  # every item a query reads exists
    (AnyOf((missing(), equals("count", 2))), ["2"]),
]


def test_query_filter_of_every_condition_kind(item_store):
    put_all(item_store, FILTERED)

    found = {repr(condition): sort_keys(item_store.query("P", filter=condition)) for condition, _ in FILTERS}

    assert found == {repr(condition): expected for condition, expected in FILTERS}


def test_query_filters_are_the_reference_semantics():
    """The table above agrees with items.holds (no store needed)."""
    for condition, expected in FILTERS:
        assert sort_keys(each for each in FILTERED if holds(condition, each)) == expected, condition


def test_query_on_an_index_is_sparse_and_sorted_on_the_index_sort_key(item_store):
    job1 = item("JOB#1", "JOB", GSI1PK="JOBS#open", GSI1SK="01B", title="one")
    job2 = item("JOB#2", "JOB", GSI1PK="JOBS#open", GSI1SK="01A", title="two")
    closed = item("JOB#3", "JOB", GSI1PK="JOBS#closed", GSI1SK="01C")
    unindexed = item("JOB#4", "JOB", GSI1SK="01D")  # no GSI1PK: not in GSI1
    half = item("JOB#5", "JOB", GSI1PK="JOBS#open")  # no GSI1SK: not in GSI1 either
    same_pk = item("JOBS#open", "01E")  # the table's PK, not the index's
    put_all(item_store, [job1, job2, closed, unindexed, half, same_pk])

    assert item_store.query("JOBS#open", index="GSI1") == [job2, job1]  # whole items, in GSI1SK order
    assert item_store.query("JOBS#open", index="GSI1", descending=True) == [job1, job2]
    assert item_store.query("JOBS#open", index="GSI1", after="01A") == [job1]
    assert item_store.query("JOBS#open", index="GSI1", before="01B") == [job2]
    assert item_store.query("JOBS#open", index="GSI1", prefix="01B") == [job1]
    assert item_store.query("JOBS#open", index="GSI1", limit=1) == [job2]
    assert item_store.query("JOBS#open", index="GSI1", filter=equals("title", "one")) == [job1]
    assert item_store.query("JOBS#closed", index="GSI1") == [closed]
    assert item_store.query("JOBS#open") == [same_pk]

    # Dropping the index keys takes an item out of the index; setting them puts one in.
    item_store.transact(
        [
            Update(key_of(job1), set={"GSI1PK": None, "GSI1SK": None}),
            Update(key_of(unindexed), set={"GSI1PK": "JOBS#open"}),
        ]
    )
    assert sort_keys(item_store.query("JOBS#open", index="GSI1"), "PK") == ["JOB#2", "JOB#4"]


def test_an_overwrite_moves_an_item_from_index_entry_to_index_entry(item_store):
    key = ("A", "X")
    item_store.transact([Put(item(*key, version=1, GSI1PK="G", GSI1SK="1", GSI2PK="H", GSI2SK="1"))])

    # Over the item read: a new GSI1 sort key, out of GSI2 (its sort key dropped), into GSI3.
    moved = item(*key, version=2, GSI1PK="G", GSI1SK="2", GSI2PK="H", GSI3PK="K", GSI3SK="1")
    item_store.transact([Put(moved, condition=equals("version", 1))])
    assert item_store.query("G", index="GSI1") == [moved] == item_store.query("G", index="GSI1", prefix="2")
    assert item_store.query("H", index="GSI2") == []
    assert item_store.query("K", index="GSI3") == [moved]

    # An update: GSI1 to another partition, back into GSI2, out of GSI3; then a write of the same kind.
    item_store.transact([Update(key, set={"GSI1PK": "G2", "GSI2SK": "0", "GSI3PK": None}, condition=exists())])
    item_store.write(Update(key, set={"GSI2PK": "H2", "GSI4PK": "L", "GSI4SK": "1"}, condition=exists()))
    after = item(*key, version=2, GSI1PK="G2", GSI1SK="2", GSI2PK="H2", GSI2SK="0", GSI3SK="1", GSI4PK="L", GSI4SK="1")
    assert item_store.get(key) == after
    assert [item_store.query(pk, index=index) for pk, index in [("G", "GSI1"), ("H", "GSI2"), ("K", "GSI3")]] == [
        []
    ] * 3
    assert [item_store.query(pk, index=index) for pk, index in [("G2", "GSI1"), ("H2", "GSI2"), ("L", "GSI4")]] == [
        [after]
    ] * 3


def test_query_on_every_index(item_store):
    put_all(
        item_store,
        [item(f"E#{index}", "E", **{f"{index}PK": "SAME", f"{index}SK": index}) for index in INDEXES],
    )

    for index in INDEXES:
        assert sort_keys(item_store.query("SAME", index=index), "PK") == [f"E#{index}"], index


def test_query_of_an_empty_partition(item_store):
    item_store.transact([Put(item("P", "a", GSI1PK="G", GSI1SK="a"))])

    assert item_store.query("EMPTY") == []
    assert item_store.query("EMPTY", index="GSI1") == []
    assert item_store.query("EMPTY", prefix="a", limit=5, descending=True, filter=exists()) == []
    assert item_store.query("G", index="GSI2") == []


# --- Conditions -----------------------------------------------------------------------------------

JOB: Item = {
    "PK": "JOB#1",
    "SK": "JOB",
    "type": "job",
    "status": "open",
    "name": "Backend Engineer",
    "count": 5,
    "score": 2.5,
}
JOB_KEY = key_of(JOB)

# (what it tests, the condition, whether it holds of JOB)
ON_AN_ITEM: list[tuple[str, Condition, bool]] = [
    ("exists", exists(), True),
    ("missing", missing(), False),
    ("absent, unset", absent("nowhere"), True),
    ("absent, set", absent("status"), False),
    ("= string", equals("status", "open"), True),
    ("= other string", equals("status", "closed"), False),
    ("= is case-sensitive", equals("status", "Open"), False),
    ("= on the key", equals("PK", "JOB#1"), True),
    ("= on type", equals("type", "job"), True),
    ("= int", equals("count", 5), True),
    ("= int to float", equals("count", 5.0), True),
    ("= float", equals("score", 2.5), True),
    ("= other number", equals("count", 6), False),
    ("= number attribute, string value", equals("count", "5"), False),
    ("= string attribute, number value", equals("status", 5), False),
    ("= unset", equals("nowhere", "open"), False),
    ("< number", below("count", 6), True),
    ("< number, equal", below("count", 5), False),
    ("< float", below("score", 2.51), True),
    ("<= number, equal", at_most("count", 5), True),
    ("<= number, below", at_most("count", 4), False),
    ("> number", above("count", 4.5), True),
    ("> number, equal", above("count", 5), False),
    (">= number, equal", Compare("count", ">=", 5), True),
    (">= number, above", Compare("count", ">=", 6), False),
    ("< string", below("status", "opened"), True),
    ("< string, equal", below("status", "open"), False),
    ("<= string, equal", at_most("status", "open"), True),
    ("> string", above("status", "closed"), True),
    ("> string, capitals sort first", above("status", "Zebra"), True),
    ("> string, after", above("status", "p"), False),
    ("< number attribute, string value", below("count", "9"), False),
    ("> number attribute, string value", above("count", "0"), False),
    ("> string attribute, number value", above("status", 0), False),
    ("< unset", below("nowhere", 10), False),
    ("one_of, in", one_of("status", ["closed", "open"]), True),
    ("one_of, not in", one_of("status", ["closed", "draft"]), False),
    ("one_of numbers", one_of("count", [4, 5]), True),
    ("one_of, number as string", one_of("count", ["5"]), False),
    ("one_of, mixed", one_of("count", ["5", 5]), True),
    ("one_of, unset", one_of("nowhere", ["open"]), False),
    ("one_of, no values", one_of("status", []), False),
    ("contains", contains("name", "end Eng"), True),
    ("contains, case-sensitive", contains("name", "engineer"), False),
    ("contains, number attribute", contains("count", "5"), False),
    ("contains, unset", contains("nowhere", "a"), False),
    ("begins", begins("name", "Backend E"), True),
    ("begins, case-sensitive", begins("name", "backend"), False),
    ("begins, not a prefix", begins("name", "Engineer"), False),
    ("begins, unset", begins("nowhere", "a"), False),
    ("all_of, all hold", All((exists(), equals("status", "open"), absent("nowhere"))), True),
    ("all_of, one fails", All((exists(), equals("status", "closed"))), False),
    ("any_of, one holds", AnyOf((equals("status", "closed"), equals("count", 5))), True),
    ("any_of, none holds", AnyOf((missing(), equals("status", "closed"))), False),
    (
        "nested",
        All((AnyOf((missing(), equals("status", "open"))), AnyOf((absent("nowhere"), below("count", 0))))),
        True,
    ),
]

# (what it tests, the condition, whether it holds when there is no item)
ON_A_MISSING_ITEM: list[tuple[str, Condition, bool]] = [
    ("exists", exists(), False),
    ("missing", missing(), True),
    ("absent", absent("status"), True),
    ("=", equals("status", "open"), False),
    ("<", below("count", 10), False),
    ("one_of", one_of("status", ["open"]), False),
    ("contains", contains("name", "a"), False),
    ("begins", begins("name", "a"), False),
    ("any_of", AnyOf((exists(), absent("status"))), True),
    ("all_of, holds", All((missing(), absent("status"))), True),
    ("all_of, fails", All((missing(), equals("status", "open"))), False),
]


def test_the_condition_cases_are_the_reference_semantics():
    """The tables above agree with items.holds (no store needed)."""
    assert [name for name, condition, expected in ON_AN_ITEM if holds(condition, JOB) != expected] == []
    assert [name for name, condition, expected in ON_A_MISSING_ITEM if holds(condition, None) != expected] == []


def disagreements(cases: Sequence[tuple[str, Condition, bool]], attempt: Callable[[int, Condition], object]):
    """The cases whose outcome is not the expected one, each with what happened."""
    found: dict[str, bool | str] = {}
    for i, (name, condition, expected) in enumerate(cases):
        happened = outcome(lambda: attempt(i, condition))  # noqa: B023  (called at once, in this iteration)
        if happened != expected:
            found[name] = happened
    return found


def test_every_condition_kind_in_a_transaction_check(item_store):
    item_store.transact([Put(JOB)])

    wrong = disagreements(ON_AN_ITEM, lambda i, condition: item_store.transact([Check(JOB_KEY, condition)]))
    assert wrong == {}, wrong
    assert item_store.get(JOB_KEY) == JOB


def test_every_condition_kind_in_a_transaction_update(item_store):
    """An Update's own values and names must not clash with its condition's."""
    item_store.transact([Put(JOB)])

    def attempt(i: int, condition: Condition) -> None:
        item_store.transact(
            [Update(JOB_KEY, set={"status": "open", "touched": i}, add={"count": 0}, condition=condition)]
        )
        assert item_store.get(JOB_KEY) == {**JOB, "touched": i}, "an update that went through is written"

    wrong = disagreements(ON_AN_ITEM, attempt)
    assert wrong == {}, wrong


def test_every_condition_kind_in_a_write(item_store):
    item_store.transact([Put(JOB)])
    touched: list[int] = []

    def attempt(i: int, condition: Condition) -> None:
        item_store.write(Update(JOB_KEY, set={"name": JOB["name"], "touched": i}, condition=condition))
        touched.append(i)

    wrong = disagreements(ON_AN_ITEM, attempt)
    assert wrong == {}, wrong
    assert item_store.get(JOB_KEY) == {**JOB, "touched": touched[-1]}, "only the writes whose condition held"


def test_every_condition_kind_on_a_missing_item(item_store):
    checked = disagreements(ON_A_MISSING_ITEM, lambda i, condition: item_store.transact([Check(JOB_KEY, condition)]))
    deleted = disagreements(
        ON_A_MISSING_ITEM, lambda i, condition: item_store.write(Delete(JOB_KEY, condition=condition))
    )

    assert (checked, deleted) == ({}, {}), (checked, deleted)
    assert item_store.get(JOB_KEY) is None


def test_a_condition_sees_the_item_as_before_the_write(item_store):
    """The versioned write: the condition is on the very attribute the update changes."""
    key = ("JOB#1", "JOB")
    item_store.transact([Put(item(*key, version=1, status="open"))])
    bump = Update(key, set={"status": "closed"}, add={"version": 1}, condition=equals("version", 1))

    assert item_store.write(bump) == item(*key, version=2, status="closed")
    assert failed_operation(lambda: item_store.write(bump)) == bump
    assert failed_operation(lambda: item_store.transact([bump])) == bump

    item_store.transact([Update(key, set={"status": "open"}, add={"version": 1}, condition=equals("version", 2))])
    assert item_store.get(key) == item(*key, version=3, status="open")


# --- transact -------------------------------------------------------------------------------------


def test_transact_is_all_or_nothing(item_store):
    b, c, d = item("B", "B", n=1), item("C", "C", status="open"), item("D", "D")
    put_all(item_store, [b, c, d])
    operations = [
        Put(item("A", "A"), condition=missing()),
        Update(key_of(b), set={"n": 2}, add={"m": 1}),
        Check(key_of(c), equals("status", "closed")),  # fails
        Delete(key_of(d)),
    ]

    assert failed_operation(lambda: item_store.transact(operations)) == operations[2]

    assert item_store.get(("A", "A")) is None
    assert by_key(item_store.get_many([("A", "A"), key_of(b), key_of(c), key_of(d)])) == [b, c, d]


def test_condition_failed_names_the_first_failing_operation_in_the_callers_order(item_store):
    existing = {kind: item(f"X#{kind}", "X", status="open") for kind in ("put", "update", "delete", "check")}
    put_all(item_store, existing.values())
    failing = {
        "put": Put(existing["put"], condition=missing()),
        "update": Update(key_of(existing["update"]), set={"status": "closed"}, condition=equals("status", "closed")),
        "delete": Delete(key_of(existing["delete"]), condition=absent("status")),
    }
    check = Check(key_of(existing["check"]), equals("status", "closed"))  # fails too
    fine = Put(item("NEW", "NEW"))

    named = {}
    for kind, operation in failing.items():
        named[f"{kind} then check"] = failed_operation(partial(item_store.transact, [fine, operation, check]))
        named[f"check then {kind}"] = failed_operation(partial(item_store.transact, [check, fine, operation]))

    assert named == {
        **{f"{kind} then check": operation for kind, operation in failing.items()},
        **{f"check then {kind}": check for kind in failing},
    }
    assert item_store.get(("NEW", "NEW")) is None
    assert by_key(item_store.get_many(key_of(each) for each in existing.values())) == by_key(existing.values())


def test_the_first_of_several_creations_whose_key_is_taken_is_the_one_named(item_store):
    taken = [item("T#1", "X", n=1), item("T#2", "X", n=2)]
    put_all(item_store, taken)
    operations = [
        Put(item("N#1", "X"), condition=missing()),
        Put(item("T#1", "X", n=9), condition=missing()),  # taken: the first to fail
        Put(item("N#2", "X", GSI1PK="G", GSI1SK="2"), condition=missing()),
        Put(item("T#2", "X", n=9), condition=missing()),  # taken too
        Put(item("N#3", "X")),
    ]

    assert failed_operation(lambda: item_store.transact(operations)) is operations[1]
    assert failed_operation(lambda: item_store.transact(operations[2:])) is operations[3]

    assert by_key(item_store.get_many([("N#1", "X"), ("N#2", "X"), ("N#3", "X"), *map(key_of, taken)])) == taken
    assert item_store.query("G", index="GSI1") == []


def test_put_replaces_the_whole_item(item_store):
    key = ("P", "a")
    item_store.transact([Put(item(*key, a=1, b="two", GSI1PK="G", GSI1SK="a"))])
    item_store.transact([Put(item(*key, a=3))])
    assert item_store.get(key) == item(*key, a=3)
    assert item_store.query("G", index="GSI1") == []

    assert item_store.write(Put(item(*key, c="c"))) == item(*key, c="c")
    assert item_store.get(key) == item(*key, c="c")


def test_update_sets_removes_and_adds(item_store):
    key = ("P", "a")
    item_store.transact([Put(item(*key, status="open", count=5, score=1.5, note="x"))])

    item_store.transact(
        [
            Update(
                key,
                set={"status": "closed", "title": "New", "note": None, "nowhere": None},
                add={"count": 2, "score": 0.25, "hits": 3, "balance": -1},
            )
        ]
    )

    assert item_store.get(key) == item(*key, status="closed", title="New", count=7, score=1.75, hits=3, balance=-1)


def test_update_of_a_missing_item_creates_it_from_its_key(item_store):
    item_store.transact([Update(("A", "1"), set={"status": "new"}, add={"n": 2})])
    assert item_store.get(("A", "1")) == {"PK": "A", "SK": "1", "status": "new", "n": 2}

    assert item_store.write(Update(("B", "1"), add={"n": 1})) == {"PK": "B", "SK": "1", "n": 1}
    assert item_store.get(("B", "1")) == {"PK": "B", "SK": "1", "n": 1}

    item_store.transact([Update(("C", "1"))])  # nothing to set: the key alone
    assert item_store.write(Update(("D", "1"), set={"gone": None})) == {"PK": "D", "SK": "1"}
    assert by_key(item_store.get_many([("C", "1"), ("D", "1")])) == [{"PK": "C", "SK": "1"}, {"PK": "D", "SK": "1"}]


def test_update_of_a_missing_item_whose_condition_fails_creates_nothing(item_store):
    update = Update(("A", "1"), set={"status": "new"}, condition=exists())

    assert failed_operation(lambda: item_store.transact([update])) == update
    assert failed_operation(lambda: item_store.write(update)) == update
    assert item_store.get(("A", "1")) is None


def test_delete_of_a_missing_item_is_fine(item_store):
    item_store.transact([Delete(("GHOST", "A"))])
    assert item_store.write(Delete(("GHOST", "A"))) is None
    assert item_store.get(("GHOST", "A")) is None


def test_delete_removes_the_item_from_the_table_and_its_indexes(item_store):
    gone = item("P", "a", GSI1PK="G", GSI1SK="a")
    item_store.transact([Put(gone), Put(item("P", "b"))])

    item_store.transact([Delete(key_of(gone), condition=exists())])

    assert item_store.get(key_of(gone)) is None
    assert sort_keys(item_store.query("P")) == ["b"]
    assert item_store.query("G", index="GSI1") == []


def test_check_writes_nothing(item_store):
    kept = item("P", "a", n=1)
    item_store.transact([Put(kept)])

    item_store.transact([Check(key_of(kept), exists()), Check(("GHOST", "A"), missing()), Put(item("P", "b"))])

    assert item_store.get(key_of(kept)) == kept
    assert item_store.get(("GHOST", "A")) is None
    assert item_store.get(("P", "b")) == item("P", "b")


def test_two_operations_on_one_key_are_refused(item_store):
    a = item("A", "A")
    for operations in (
        [Put(item("B", "B")), Put(a), Update(key_of(a), set={"n": 1})],
        [Put(item("B", "B")), Check(key_of(a), missing()), Put(a)],
        [Put(item("B", "B")), Delete(key_of(a)), Delete(key_of(a))],
    ):
        with pytest.raises(ValueError):
            item_store.transact(operations)

    assert item_store.get_many([("A", "A"), ("B", "B")]) == []


def test_a_transaction_holds_at_most_100_operations(item_store):
    many = [item(f"P#{i:03d}", "X") for i in range(MAX_TRANSACTION_ITEMS + 1)]

    with pytest.raises(ValueError):
        item_store.transact([Put(each) for each in many])
    assert item_store.get_many(key_of(each) for each in many) == []

    item_store.transact([Put(each) for each in many[:MAX_TRANSACTION_ITEMS]])
    assert by_key(item_store.get_many(key_of(each) for each in many)) == many[:MAX_TRANSACTION_ITEMS]


def test_an_empty_transaction_does_nothing(item_store):
    item_store.transact([])
    assert item_store.query("P") == []


def test_the_operation_named_keeps_its_failure(item_store):
    """The caller raises operation.failure: the operation comes back whole."""
    item_store.transact([Put(JOB)])
    failure = LookupError("job closed")
    operation = Check(JOB_KEY, equals("status", "closed"), failure=failure)

    named = failed_operation(lambda: item_store.transact([operation]))

    assert named.failure is failure


# --- write ----------------------------------------------------------------------------------------


def test_write_returns_the_item_after_it(item_store):
    key = ("P", "a")
    written = item(*key, status="open", count=1)

    assert item_store.write(Put(written, condition=missing())) == written
    assert item_store.write(Update(key, set={"title": "T"}, add={"count": 1})) == {**written, "title": "T", "count": 2}
    assert item_store.get(key) == {**written, "title": "T", "count": 2}
    assert item_store.write(Delete(key, condition=exists())) is None
    assert item_store.get(key) is None


def test_write_whose_condition_fails_names_it_and_changes_nothing(item_store):
    item_store.transact([Put(JOB)])

    for operation in (
        Put(item(*JOB_KEY, status="new"), condition=missing()),
        Update(JOB_KEY, set={"status": "closed"}, add={"count": 1}, condition=equals("status", "closed")),
        Delete(JOB_KEY, condition=absent("status")),
    ):
        assert failed_operation(partial(item_store.write, operation)) == operation
        assert item_store.get(JOB_KEY) == JOB


# --- Concurrency ----------------------------------------------------------------------------------


@LOCKING_DRIVERS
def test_concurrent_increments_are_all_counted(item_store):
    key = ("COUNTER#x", "COUNTER")

    results = run_together(20, lambda i: item_store.write(Update(key, add={"n": 1})))

    assert [type(result) for result in results] == [dict] * 20, results
    assert sorted(result["n"] for result in results) == list(range(1, 21))  # type: ignore[index]
    assert item_store.get(key) == {"PK": key[0], "SK": key[1], "n": 20}


@LOCKING_DRIVERS
def test_concurrent_creations_of_one_item_let_exactly_one_through(item_store):
    key = ("EMAIL#a@example.com", "EMAIL")

    def create(i: int) -> None:
        item_store.transact([Put(item(*key, writer=i), condition=missing())])

    results = run_together(20, create)

    winners = [i for i, result in enumerate(results) if result is None]
    losers = [result for result in results if isinstance(result, ConditionFailed)]
    assert len(winners) == 1 and len(losers) == 19, results
    assert item_store.get(key) == item(*key, writer=winners[0])


# --- TTL ------------------------------------------------------------------------------------------


def test_an_item_with_a_future_ttl_round_trips(item_store):
    counter = item("COUNTER#x", "COUNTER", n=1, ttl=int(time.time()) + 3600)
    item_store.transact([Put(counter)])

    assert item_store.get(key_of(counter)) == counter
    assert item_store.query("COUNTER#x") == [counter]


def test_an_item_with_a_past_ttl_is_accepted(item_store):
    """Deletion lags: whether it can still be read is up to the store, so only the write is asserted."""
    expired = item("COUNTER#y", "COUNTER", n=1, ttl=int(time.time()) - 3600)

    item_store.transact([Put(expired)])
    assert item_store.write(Put(expired)) == expired


def test_ping(item_store):
    assert item_store.ping() is None


def test_scan_finds_every_item_of_a_type_and_only_those(item_store, monkeypatch):
    """The maintenance commands' read (cli reindex): every item of its type, across partitions."""
    from tests.conftest import DYNAMODB_CALLS

    wanted = [item(f"P{n}", "X", type="Wanted", n=n) for n in range(30)]
    put_all(item_store, [*wanted, item("P0", "Y", type="Other"), item("Q", "X", type="Other")])
    found = item_store.scan("Wanted")
    DYNAMODB_CALLS.clear()  # the one Scan allowed in the suite: this is no list
    assert sorted(found, key=lambda i: str(i["PK"])) == sorted(wanted, key=lambda i: str(i["PK"]))
    assert item_store.scan("Nothing") == []
    DYNAMODB_CALLS.clear()
