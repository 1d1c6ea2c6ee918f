"""The guards' storage contract (counters and idempotency records), the same on every backend.

Both repositories write at once, outside commit. Time is moved by replacing the repositories'
`clock` (the backends compare times they compute themselves), so no test waits for a window,
a lease or a TTL to run out.
"""

import threading

import boto3
import pytest

from chalicelib.storage.records import IdempotencyRecord, Window
from tests.conftest import T0, Clock


@pytest.fixture
def clock(uow_factory, monkeypatch):
    clock = Clock()
    uow = uow_factory()
    for repository in (uow.counters, uow.idempotency):
        monkeypatch.setattr(type(repository), "clock", staticmethod(clock))
    return clock


@pytest.fixture
def uow(uow_factory):
    return uow_factory()


# --- Counters ------------------------------------------------------------------------------------


def test_hits_count_up_within_a_window_and_a_new_window_starts_after_it_ends(uow, clock):
    assert uow.counters.hit("login:a", window_seconds=60) == Window(1, T0 + 60)
    clock.advance(30)
    assert uow.counters.hit("login:a", window_seconds=60) == Window(2, T0 + 60)
    clock.advance(29.5)
    assert uow.counters.hit("login:a", window_seconds=60) == Window(3, T0 + 60)  # the window is fixed
    clock.advance(0.5)  # the window has ended
    assert uow.counters.hit("login:a", window_seconds=60) == Window(1, T0 + 120)
    assert uow.counters.hit("login:a", window_seconds=60) == Window(2, T0 + 120)


def clear(uow_factory, key: str) -> None:
    """Clear the counter as a login does: its Delete committed with the unit of work's change."""
    with uow_factory() as uow:
        uow.stage(uow.counters.clearing(key))
        uow.commit()


def test_a_hit_writes_once_where_no_window_runs_and_twice_where_one_does(uow, clock, monkeypatch, uow_factory):
    """A login's counters are cleared on success: its next hits start a window in one write (a put),
    not a refused add and then a put; only a running window costs the refused put and the add."""
    store = uow.counters._items
    writes = []
    real = store.write
    monkeypatch.setattr(store, "write", lambda operation: writes.append(type(operation).__name__) or real(operation))
    uow.counters.hit("login:a", window_seconds=60)
    assert writes == ["Put"]
    writes.clear()
    assert uow.counters.hit("login:a", window_seconds=60) == Window(2, T0 + 60)
    assert writes == ["Put", "Update"]
    clear(uow_factory, "login:a")
    assert uow.counters.peek("login:a") == Window(0, 0.0)
    writes.clear()  # (the clear was a transaction; the DynamoDB driver sends one write alone as that write)
    uow.counters.hit("login:a", window_seconds=60)
    assert writes == ["Put"]


def test_counters_of_different_keys_are_independent(uow, clock):
    uow.counters.hit("login:a", window_seconds=60)
    uow.counters.hit("login:a", window_seconds=60)
    assert uow.counters.hit("login:b", window_seconds=10) == Window(1, T0 + 10)
    assert uow.counters.peek("login:a") == Window(2, T0 + 60)


def test_peek_reads_the_running_window_without_counting(uow, clock):
    assert uow.counters.peek("login:a") == Window(0, 0.0)
    uow.counters.hit("login:a", window_seconds=60)
    uow.counters.hit("login:a", window_seconds=60)
    assert uow.counters.peek("login:a") == Window(2, T0 + 60)
    assert uow.counters.peek("login:a") == Window(2, T0 + 60)
    clock.advance(60)
    assert uow.counters.peek("login:a") == Window(0, 0.0)


def test_clear_forgets_the_window(uow, clock, uow_factory):
    uow.counters.hit("login:a", window_seconds=60)
    clear(uow_factory, "login:a")
    clear(uow_factory, "login:never-hit")  # clearing nothing is fine
    assert uow_factory().counters.peek("login:a") == Window(0, 0.0)
    assert uow.counters.hit("login:a", window_seconds=60) == Window(1, T0 + 60)


def test_counters_take_effect_at_once_without_commit(uow_factory, clock):
    with uow_factory() as first:
        first.counters.hit("login:a", window_seconds=60)
        first.rollback()
    assert uow_factory().counters.peek("login:a") == Window(1, T0 + 60)


# --- Idempotency records ---------------------------------------------------------------------------


def claim(uow, key="k1", fingerprint="fp1", lease=60, ttl=86400, token="t1"):
    return uow.idempotency.claim(key, fingerprint, token, lease_seconds=lease, ttl_seconds=ttl)


def test_a_new_key_is_claimed_and_a_taken_one_returns_its_pending_record(uow, clock, uow_factory):
    assert claim(uow) is None
    held = claim(uow_factory(), fingerprint="fp2")
    assert held == IdempotencyRecord(key="k1", fingerprint="fp1", state="pending", status=None, body=None, headers={})
    assert claim(uow, key="k2") is None  # another key


def test_a_pending_record_whose_lease_ran_out_is_taken_over(uow, clock):
    assert claim(uow, lease=60) is None
    clock.advance(59)
    assert claim(uow, fingerprint="fp2").state == "pending"
    clock.advance(1)
    assert claim(uow, fingerprint="fp2", lease=60) is None  # the first request died
    held = claim(uow, fingerprint="fp3")
    assert (held.state, held.fingerprint) == ("pending", "fp2")


def test_a_completed_record_answers_every_later_claim(uow, clock, uow_factory):
    assert claim(uow) is None
    assert uow.idempotency.complete(
        "k1", "t1", status=201, body='{"job": {"id": "01J"}}', headers={"Location": "/jobs/01J", "ETag": '"1"'}
    )
    clock.advance(3600)  # long past the lease: a done record is never taken over
    done = claim(uow_factory(), fingerprint="other")
    assert done == IdempotencyRecord(
        key="k1",
        fingerprint="fp1",
        state="done",
        status=201,
        body='{"job": {"id": "01J"}}',
        headers={"Location": "/jobs/01J", "ETag": '"1"'},
    )
    uow.idempotency.release("k1", "t1")  # a done record is not released
    assert claim(uow).state == "done"


def test_a_released_record_can_be_claimed_again_at_once(uow, clock):
    assert claim(uow) is None
    uow.idempotency.release("k1", "t1")
    assert claim(uow, fingerprint="fp2") is None
    assert claim(uow).fingerprint == "fp2"
    uow.idempotency.release("never-claimed", "t1")  # nothing to release is fine


def test_a_record_is_forgotten_after_its_ttl(uow, clock):
    assert claim(uow, ttl=600) is None
    assert uow.idempotency.complete("k1", "t1", status=201, body="{}", headers={})
    clock.advance(599)
    assert claim(uow).state == "done"
    clock.advance(1)
    assert claim(uow, fingerprint="fp2", ttl=600) is None
    assert claim(uow).fingerprint == "fp2"


def test_complete_after_a_release_changes_nothing(uow, clock):
    assert claim(uow) is None
    uow.idempotency.release("k1", "t1")
    assert not uow.idempotency.complete("k1", "t1", status=201, body="{}", headers={})
    assert claim(uow) is None  # no record was made by the late complete


def test_only_the_holders_token_completes_or_releases_a_claim(uow, clock, uow_factory):
    """A request that outlived its lease cannot touch the claim a retry took over."""
    assert claim(uow, token="first") is None
    clock.advance(60)
    assert claim(uow_factory(), fingerprint="fp1", token="retry") is None  # the lease ran out: taken over
    assert not uow.idempotency.complete("k1", "first", status=201, body='"late"', headers={})
    uow.idempotency.release("k1", "first")
    assert claim(uow_factory(), token="third").state == "pending"  # still the retry's
    assert uow_factory().idempotency.complete("k1", "retry", status=201, body='"retry"', headers={})
    assert claim(uow_factory(), token="fourth").body == '"retry"'
    uow.idempotency.release("k1", "retry")  # a done record stays, whoever asks
    assert claim(uow_factory(), token="fifth").state == "done"


# --- Concurrency (real servers: SQLite's lock, DynamoDB Local's conditions) ----------------------

CONCURRENT = pytest.mark.parametrize("backend", ["sqlite", "dynamodb-local"], indirect=True)


def run_threads(count: int, work) -> list:
    results, errors = [None] * count, []
    start = threading.Barrier(count)

    def run(index):
        try:
            start.wait()
            results[index] = work(index)
        except BaseException as error:  # reported below, on the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


@CONCURRENT
def test_concurrent_hits_are_all_counted(uow_factory):
    threads, hits_each = 6, 8

    def hammer(_):
        uow = uow_factory()  # one unit of work (and SQLite connection) per thread
        return [uow.counters.hit("login:hot", window_seconds=3600).count for _ in range(hits_each)]

    counts = [count for result in run_threads(threads, hammer) for count in result]
    # Every hit saw a different count: no increment was lost or applied twice.
    assert sorted(counts) == list(range(1, threads * hits_each + 1))
    assert uow_factory().counters.peek("login:hot").count == threads * hits_each


@CONCURRENT
def test_concurrent_hits_on_an_ended_window_start_exactly_one_new_window(uow_factory, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(type(uow_factory().counters), "clock", staticmethod(clock))
    uow_factory().counters.hit("login:hot", window_seconds=60)
    clock.advance(61)  # every thread finds the window ended
    counts = run_threads(6, lambda _: uow_factory().counters.hit("login:hot", window_seconds=60))
    assert sorted(window.count for window in counts) == [1, 2, 3, 4, 5, 6]
    assert {window.ends_at for window in counts} == {T0 + 121}


@CONCURRENT
def test_concurrent_claims_of_one_key_have_one_winner(uow_factory):
    results = run_threads(6, lambda index: claim(uow_factory(), key="race", fingerprint=f"fp{index}"))
    winners = [index for index, result in enumerate(results) if result is None]
    assert len(winners) == 1
    assert {result.fingerprint for result in results if result is not None} == {f"fp{winners[0]}"}


# --- DynamoDB: the items expire by the table's TTL ------------------------------------------------


@pytest.mark.parametrize("backend", ["moto", "dynamodb-local"], indirect=True)
def test_dynamodb_items_carry_the_tables_ttl_attribute(settings, uow):
    uow.counters.hit("login:a", window_seconds=60)
    assert claim(uow) is None
    client = boto3.client("dynamodb", region_name=settings.aws_region, endpoint_url=settings.dynamodb_endpoint)
    ttl = client.describe_time_to_live(TableName=settings.table_name)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ttl")
    table = settings.table_name
    counter = client.get_item(TableName=table, Key=_key("COUNTER#login:a", "COUNTER"), ConsistentRead=True)
    record = client.get_item(TableName=table, Key=_key("IDEMPOTENCY#k1", "IDEMPOTENCY"), ConsistentRead=True)
    assert int(counter["Item"]["ttl"]["N"]) >= float(counter["Item"]["ends_at"]["N"])
    assert int(record["Item"]["ttl"]["N"]) >= float(record["Item"]["expires_at"]["N"])


def _key(pk: str, sk: str) -> dict:
    return {"PK": {"S": pk}, "SK": {"S": sk}}
