"""The SQLite driver's single writes: one autocommit compare-and-swap on the document read, decided
again when another writer changed the item in between (the contract suite's races cover the
many-threads case; these make the in-between write happen, every time)."""

import pytest

from chalicelib.domain.errors import Unavailable
from chalicelib.storage.drivers import sqlite as driver
from chalicelib.storage.drivers.sqlite import SqliteItemStore
from chalicelib.storage.items import ConditionFailed, Delete, Put, Update, above, any_of, equals, missing

KEY = ("COUNTER#x", "COUNTER")


@pytest.fixture
def stores(tmp_path):
    """Two stores on one file: two processes' worth of writers."""
    path = str(tmp_path / "ats.db")
    store, other = SqliteItemStore(path), SqliteItemStore(path)
    yield store, other
    store.close()
    other.close()


def overtake(monkeypatch, write, *, times: int = 1):
    """Make `write` (another store's) happen between the driver's read of an item and its swap, on
    the first `times` reads; return the items the driver decided on."""
    decided_on = []
    real = driver.holds

    def holds(condition, item):
        if len(decided_on) < times:
            monkeypatch.setattr(driver, "holds", real)  # the other writer decides as usual
            write()
            monkeypatch.setattr(driver, "holds", holds)
        decided_on.append(item)
        return real(condition, item)

    monkeypatch.setattr(driver, "holds", holds)
    return decided_on


def test_an_update_overtaken_by_another_writer_adds_to_what_that_writer_left(stores, monkeypatch):
    store, other = stores
    store.write(Put({"PK": KEY[0], "SK": KEY[1], "n": 1}))
    decided_on = overtake(monkeypatch, lambda: other.write(Update(KEY, add={"n": 10})))

    result = store.write(Update(KEY, add={"n": 1}, condition=above("n", 0)))

    assert [item["n"] for item in decided_on] == [1, 11]  # read, overtaken, read again
    assert result == {"PK": KEY[0], "SK": KEY[1], "n": 12} == store.get(KEY)


def test_a_condition_that_no_longer_holds_after_the_other_write_fails(stores, monkeypatch):
    store, other = stores
    store.write(Put({"PK": KEY[0], "SK": KEY[1], "state": "sending"}))
    overtake(monkeypatch, lambda: other.write(Update(KEY, set={"state": "sent"})))

    with pytest.raises(ConditionFailed):
        store.write(Delete(KEY, equals("state", "sending")))

    assert store.get(KEY) == {"PK": KEY[0], "SK": KEY[1], "state": "sent"}


def test_a_put_on_a_missing_item_overtaken_by_a_creation_decides_on_the_created_one(stores, monkeypatch):
    store, other = stores
    overtake(monkeypatch, lambda: other.write(Put({"PK": KEY[0], "SK": KEY[1], "n": 5}, missing())))

    store.write(Put({"PK": KEY[0], "SK": KEY[1], "n": 1}, condition=any_of(above("n", 3), missing())))

    assert store.get(KEY) == {"PK": KEY[0], "SK": KEY[1], "n": 1}  # it held of the created item too


def test_an_item_that_keeps_changing_makes_the_store_unavailable_not_wrong(stores, monkeypatch):
    store, other = stores
    store.write(Put({"PK": KEY[0], "SK": KEY[1], "n": 0}))
    overtake(monkeypatch, lambda: other.write(Update(KEY, add={"n": 1})), times=driver.SWAP_ATTEMPTS)

    with pytest.raises(Unavailable):
        store.write(Update(KEY, set={"n": -1}, condition=above("n", -1)))

    assert store.get(KEY)["n"] == driver.SWAP_ATTEMPTS  # only the other writer's additions landed
