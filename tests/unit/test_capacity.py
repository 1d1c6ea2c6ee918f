"""The write-capacity table beside the key design is what bench/capacity.py measures, and every
partition of it stays under half of DynamoDB's partition limit in both loads."""

from bench import billing, capacity
from chalicelib.storage import entities
from chalicelib.storage.items import Check, Delete, Put, Update


def test_the_table_in_the_key_design_is_what_the_scenarios_measure():
    rows = capacity.measure(seconds=1)
    assert capacity.table(rows) in entities.__doc__
    assert {row.index for row in rows} >= {"table", "GSI1", "GSI2", "GSI6"}
    for row in rows:
        assert set(row.busiest) <= {"viral", "tenant"}
        for wcu in row.busiest.values():
            assert capacity.share(wcu) < capacity.TARGET, (row.index, row.partition, wcu)
    # The partitions the unsharded design made hot are there, on their shards.
    patterns = {(row.index, row.partition) for row in rows}
    assert {("GSI6", "APPS#applied#<shard>"), ("GSI1", "OUTBOX#pending#<shard>")} <= patterns


def test_writes_are_billed_as_dynamodb_bills_them():
    store = capacity.RecordingItemStore()
    store.recording = True
    small = {"PK": "APP#1", "SK": "APP", "GSI6PK": "APPS#applied#1", "GSI6SK": "1"}
    store.transact([Put(dict(small)), Check(("JOB#1", "JOB"), None)])  # type: ignore[arg-type]
    assert store.wcu == {("table", "APP#1"): 2, ("table", "JOB#1"): 2, ("GSI6", "APPS#applied#1"): 1}
    store.wcu.clear()
    store.write(Update(("APP#1", "APP"), set={"GSI6PK": "APPS#screening#1", "text": "x" * 3000}))
    # the larger of before and after, once (no transaction); a delete there and a put here
    assert store.wcu == {("table", "APP#1"): 3, ("GSI6", "APPS#applied#1"): 1, ("GSI6", "APPS#screening#1"): 4}
    store.wcu.clear()
    store.write(Delete(("APP#1", "APP")))
    assert store.wcu == {("table", "APP#1"): 3, ("GSI6", "APPS#screening#1"): 4}
    assert capacity.pattern("APPS#applied#3") == "APPS#applied#<shard>"
    assert capacity.pattern("FUNNEL#01HZZZZZZZZZZZZZZZZZZZZZZ1#7") == "FUNNEL#<id>#<shard>"
    assert (billing.value_size("ab"), billing.value_size(12345), billing.value_size(1.5)) == (2, 4, 2)
