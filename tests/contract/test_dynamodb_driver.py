"""What only the DynamoDB item-store driver has: its table, the items of the old code, its calls.

The items of the old per-entity code are golden: the typed items it wrote, put and read here with a
raw boto3 client. The port's semantics, the same on every driver, are the cross-driver contract
suite's. Each test here runs on moto (in-process) and on DynamoDB Local, on a fresh table of its own.
"""

import json
import math
import threading
import time
import uuid
from dataclasses import dataclass

import boto3
import pytest
import urllib3
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from pynamodb.exceptions import CancellationReason, TableDoesNotExist, TransactWriteError, VerboseClientError

from chalicelib.domain.errors import ConcurrencyError, Unavailable
from chalicelib.storage import items
from chalicelib.storage.drivers import dynamodb as driver
from chalicelib.storage.drivers.dynamodb import DynamoItemStore
from chalicelib.storage.dynamodb_local import free_port
from chalicelib.storage.entities import index_shard
from chalicelib.storage.items import Check, ConditionFailed, Delete, Put, Update
from chalicelib.storage.reindex import reindex
from chalicelib.storage.stores import Outbox

from ..conftest import DYNAMODB_CALLS, DYNAMODB_ENDPOINT_VARIABLES

REGION = "us-east-1"


@dataclass
class Where:
    table: str
    endpoint: str | None  # None: moto


@pytest.fixture(params=["moto", pytest.param("dynamodb-local", marks=[pytest.mark.java, pytest.mark.network])])
def where(request, monkeypatch):
    """A DynamoDB to test on and a fresh table name; no endpoint from the environment gets in the way."""
    table = f"ats-test-{uuid.uuid4().hex[:12]}"
    for name in DYNAMODB_ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if request.param == "moto":
        with mock_aws():
            yield Where(table, None)
    else:
        yield Where(table, request.getfixturevalue("dynamodb_local").endpoint)


def open_store(table: str, endpoint: str | None, **overrides) -> DynamoItemStore:
    options = dict(region=REGION, endpoint=endpoint, connect_timeout=2.0, read_timeout=5.0, max_retries=2)
    return DynamoItemStore(table, **{**options, **overrides})


@pytest.fixture
def store(where):
    """The driver on its fresh table, deleted after the test."""
    made = open_store(where.table, where.endpoint)
    assert made.create_table() is True
    yield made
    made.delete_table()


@pytest.fixture
def calls(no_dynamodb_scan):
    """The DynamoDB operations botocore sends from now on (tests/conftest.py records them)."""
    no_dynamodb_scan.clear()
    return no_dynamodb_scan


def client(where: Where):
    return boto3.client("dynamodb", region_name=REGION, endpoint_url=where.endpoint)


# --- The table ------------------------------------------------------------------------------------


# The table deployed today, as the old PynamoDB models created it (DescribeTable of their table).
INDEX_KEYS = [f"GSI{n}{part}" for n in range(1, 7) for part in ("PK", "SK")]
DEPLOYED_TABLE = {
    "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in ["PK", "SK", *INDEX_KEYS]],
    "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": f"GSI{n}",
            "KeySchema": [
                {"AttributeName": f"GSI{n}PK", "KeyType": "HASH"},
                {"AttributeName": f"GSI{n}SK", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
        for n in range(1, 7)
    ],
    "BillingMode": "PAY_PER_REQUEST",
    "StreamViewType": "NEW_AND_OLD_IMAGES",
    "TimeToLive": "ttl",
}


def test_the_schema_is_the_deployed_tables():
    def by_name(entries, name):
        return sorted(entries, key=lambda entry: entry[name])

    ours = driver.TABLE_SCHEMA
    assert by_name(ours["AttributeDefinitions"], "AttributeName") == by_name(
        DEPLOYED_TABLE["AttributeDefinitions"], "AttributeName"
    )
    assert by_name(ours["KeySchema"], "KeyType") == DEPLOYED_TABLE["KeySchema"]
    indexes = {i["IndexName"]: i for i in ours["GlobalSecondaryIndexes"]}
    deployed = {i["IndexName"]: i for i in DEPLOYED_TABLE["GlobalSecondaryIndexes"]}
    assert sorted(indexes) == sorted(deployed) == list(driver.INDEX_NAMES) == list(items.INDEXES)
    for name, index in indexes.items():
        assert by_name(index["KeySchema"], "KeyType") == deployed[name]["KeySchema"]
        assert index["Projection"] == deployed[name]["Projection"]
    assert set(ours) == {"AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes"}  # nothing else to deploy
    assert DEPLOYED_TABLE["BillingMode"] == driver.BILLING_MODE
    assert DEPLOYED_TABLE["StreamViewType"] == driver.STREAM_VIEW_TYPE
    assert DEPLOYED_TABLE["TimeToLive"] == driver.TTL_ATTRIBUTE


def test_the_table_made_has_the_indexes_the_stream_and_the_ttl(where, store):
    table = client(where).describe_table(TableName=where.table)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"PK": "HASH", "SK": "RANGE"}
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert sorted(indexes) == [f"GSI{n}" for n in range(1, 7)]
    for name, index in indexes.items():
        assert {k["AttributeName"]: k["KeyType"] for k in index["KeySchema"]} == {
            f"{name}PK": "HASH",
            f"{name}SK": "RANGE",
        }
        assert index["Projection"]["ProjectionType"] == "ALL"
    ttl = client(where).describe_time_to_live(TableName=where.table)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING") and ttl["AttributeName"] == "ttl"


def test_create_table_creates_once_even_with_concurrent_creators(where, store):
    assert store.create_table() is False
    assert open_store(where.table, where.endpoint).create_table() is False  # another process

    other = f"{where.table}-b"
    creators = [open_store(other, where.endpoint) for _ in range(3)]
    results: list[bool] = []
    threads = [threading.Thread(target=lambda s=s: results.append(s.create_table())) for s in creators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, True]  # a ResourceInUseException is no failure
    creators[0].delete_table()
    creators[1].delete_table()  # gone already: nothing to do
    with pytest.raises(Unavailable, match="create-tables"):
        creators[2].get(("PK", "SK"))


def test_a_creator_that_lost_the_race_waits_for_the_table(where, store, monkeypatch):
    """CreateTable's ResourceInUseException (another process created it meanwhile) is no failure."""
    late = open_store(where.table, where.endpoint)
    real = late.table.describe_table
    described = []

    def describe_table():
        described.append(1)
        if len(described) == 1:
            raise TableDoesNotExist(where.table)  # as it was before the other process created it
        return real()

    monkeypatch.setattr(late.table, "describe_table", describe_table)
    assert late.create_table() is False
    assert len(described) >= 2  # it waited for ACTIVE


# --- The items of the old code --------------------------------------------------------------------

# Every kind of item the old per-entity code (PynamoDB models) wrote, exactly as DynamoDB held it:
# captured from that code's writes (users, guards, a live and a deleted job, an application and its
# history, an outbox event marked failed and a pending one, a sent delivery, a counter and the
# idempotency records of a completed and a pending claim). The new driver must read and write these.
T = "2027-01-15T09:30:00.123Z"
REC, CAN, JOB, GONE, APP, HIST, EV1, EV2 = (
    "01KREC",
    "01KCAN",
    "01KJOB",
    "01KGONE",
    "01KAPP",
    "01KHIST",
    "01KEV1",
    "01KEV2",
)
NOW = 1_800_000_000.25  # the clock the counter and the idempotency records were written at


def S(value: str) -> dict[str, str]:
    return {"S": value}


def N(text: str) -> dict[str, str]:
    return {"N": text}


OLD_ITEMS: list[dict[str, dict[str, str]]] = [
    {
        "PK": S(f"USER#{REC}"),
        "SK": S("USER"),
        "type": S("User"),
        "id": S(REC),
        "email": S("Rita@Example.com"),
        "name": S("Rita"),
        "role": S("recruiter"),
        "password_hash": S("h1"),
        "created_at": S(T),
    },
    {
        "PK": S(f"USER#{CAN}"),
        "SK": S("USER"),
        "type": S("User"),
        "id": S(CAN),
        "email": S("carl@example.com"),
        "name": S("Carl"),
        "role": S("candidate"),
        "password_hash": S("h2"),
        "created_at": S(T),
    },
    {"PK": S("EMAIL#rita@example.com"), "SK": S("EMAIL"), "type": S("EmailGuard"), "user_id": S(REC)},
    {"PK": S("EMAIL#carl@example.com"), "SK": S("EMAIL"), "type": S("EmailGuard"), "user_id": S(CAN)},
    {
        "PK": S(f"JOB#{JOB}"),
        "SK": S("JOB"),
        "type": S("Job"),
        "id": S(JOB),
        "owner_id": S(REC),
        "title": S("Straße Engineer"),
        "title_key": S("strasse engineer"),
        "location": S("Berlin"),
        "location_key": S("berlin"),
        "department": S("Eng"),
        "department_key": S("eng"),
        "status": S("open"),
        "version": N("1"),
        "created_at": S(T),
        "updated_at": S(T),
        "GSI1PK": S("JOBS#open"),
        "GSI1SK": S(JOB),
        "GSI2PK": S(f"OWNER#{REC}#open"),
        "GSI2SK": S(JOB),
    },
    {  # deleted: out of every list index; an empty description is kept
        "PK": S(f"JOB#{GONE}"),
        "SK": S("JOB"),
        "type": S("Job"),
        "id": S(GONE),
        "owner_id": S(REC),
        "title": S("Gone"),
        "title_key": S("gone"),
        "description": S(""),
        "employment_type": S("full-time"),
        "status": S("closed"),
        "version": N("3"),
        "created_at": S(T),
        "updated_at": S(T),
        "deleted_at": S(T),
    },
    {
        "PK": S(f"APP#{APP}"),
        "SK": S("APP"),
        "type": S("Application"),
        "id": S(APP),
        "job_id": S(JOB),
        "candidate_id": S(CAN),
        "recruiter_id": S(REC),
        "status": S("applied"),
        "cover_letter": S("Hello"),
        "version": N("1"),
        "created_at": S(T),
        "updated_at": S(T),
        "GSI1PK": S(f"JOBAPPS#{JOB}"),
        "GSI1SK": S(APP),
        "GSI2PK": S(f"JOBAPPS#{JOB}#applied"),
        "GSI2SK": S(APP),
        "GSI3PK": S(f"CANDAPPS#{CAN}"),
        "GSI3SK": S(APP),
        "GSI4PK": S(f"RECAPPS#{REC}"),
        "GSI4SK": S(APP),
        "GSI5PK": S(f"RECAPPS#{REC}#applied"),
        "GSI5SK": S(APP),
        "GSI6PK": S("APPS#applied"),
        "GSI6SK": S(APP),
    },
    {"PK": S(f"APPLIED#{CAN}#{JOB}"), "SK": S("APPLIED"), "type": S("ApplicationGuard"), "application_id": S(APP)},
    {  # the first entry: no from_status, no reason
        "PK": S(f"APP#{APP}"),
        "SK": S(f"HIST#{HIST}"),
        "type": S("History"),
        "id": S(HIST),
        "application_id": S(APP),
        "to_status": S("applied"),
        "actor_id": S(CAN),
        "created_at": S(T),
    },
    {
        "PK": S(f"EVENT#{EV1}"),
        "SK": S("EVENT"),
        "type": S("Event"),
        "id": S(EV1),
        "event_type": S("UserRegistered"),
        "payload": S(
            '{"id": "01KEV1", "occurred_at": "2027-01-15T09:30:00.123Z", "user_id": "01KREC", '
            '"email": "Rita@Example.com", "name": "Rita", "role": "recruiter"}'
        ),
        "status": S("failed"),
        "attempts": N("1"),
        "last_error": S("boom"),
        "created_at": S(T),
        "updated_at": S("2026-12-01T13:21:06.874Z"),
        "GSI1PK": S("OUTBOX#failed"),
        "GSI1SK": S(EV1),
    },
    {
        "PK": S(f"EVENT#{EV2}"),
        "SK": S("EVENT"),
        "type": S("Event"),
        "id": S(EV2),
        "event_type": S("ApplicationSubmitted"),
        "payload": S(
            '{"id": "01KEV2", "occurred_at": "2027-01-15T09:30:00.123Z", "application_id": "01KAPP", '
            '"job_id": "01KJOB", "job_title": "Stra\\u00dfe Engineer", "candidate_id": "01KCAN", '
            '"recruiter_id": "01KREC"}'
        ),
        "status": S("pending"),
        "attempts": N("0"),
        "created_at": S(T),
        "updated_at": S(T),
        "GSI1PK": S("OUTBOX#pending"),
        "GSI1SK": S(EV2),
    },
    {
        "PK": S(f"DELIVERY#{EV2}"),
        "SK": S("TO#carl@example.com"),
        "type": S("Delivery"),
        "event_id": S(EV2),
        "recipient": S("carl@example.com"),
        "state": S("sent"),
        "lease_until": N("1796131326.8949182"),  # time.time() + 60, to the last digit
        "updated_at": S("2026-12-01T13:21:06.898Z"),
    },
    {  # a window of 120 s: ends_at exact, ttl its whole second rounded up
        "PK": S("COUNTER#login:rita"),
        "SK": S("COUNTER"),
        "type": S("Counter"),
        "hits": N("1"),
        "ends_at": N("1800000120.25"),
        "ttl": N("1800000121"),
    },
    {
        "PK": S("IDEMPOTENCY#key-1"),
        "SK": S("IDEMPOTENCY"),
        "type": S("Idempotency"),
        "fingerprint": S("fp-1"),
        "token": S("token-1"),
        "state": S("done"),
        "status": N("201"),
        "body": S('{"id": "1"}'),
        "headers": S('{"Location": "/jobs/1"}'),
        "lease_until": N("1800000030.25"),
        "expires_at": N("1800086400.25"),
        "ttl": N("1800086401"),
    },
    {  # pending: no status, body or headers yet
        "PK": S("IDEMPOTENCY#key-2"),
        "SK": S("IDEMPOTENCY"),
        "type": S("Idempotency"),
        "fingerprint": S("fp-2"),
        "token": S("token-2"),
        "state": S("pending"),
        "lease_until": N("1800000030.25"),
        "expires_at": N("1800086400.25"),
        "ttl": N("1800086401"),
    },
]


def plain(typed: dict[str, dict[str, str]]) -> items.Item:
    """A typed item as the port's: S a str, N an int when written without a fraction or exponent, else a float."""
    item: items.Item = {}
    for name, attribute in typed.items():
        ((kind, text),) = attribute.items()
        assert kind in ("S", "N"), name
        item[name] = text if kind == "S" else int(text) if text.lstrip("-").isdigit() else float(text)
    return item


def typed_key(key: items.Key) -> dict[str, dict[str, str]]:
    return {"PK": S(key[0]), "SK": S(key[1])}


def raw_get(where: Where, key: items.Key) -> dict | None:
    return client(where).get_item(TableName=where.table, Key=typed_key(key), ConsistentRead=True).get("Item")


def raw_query(where: Where, index: str, pk: str, *, contains: tuple[str, str]) -> list[dict]:
    """A GSI Query as the old code's job lists made it: newest first, filtered on a substring."""
    name, text = contains
    return client(where).query(
        TableName=where.table,
        IndexName=index,
        KeyConditionExpression="#pk = :pk",
        FilterExpression="contains(#name, :text)",
        ExpressionAttributeNames={"#pk": f"{index}PK", "#name": name},
        ExpressionAttributeValues={":pk": S(pk), ":text": S(text)},
        ScanIndexForward=False,
    )["Items"]


def key_of_typed(typed: dict[str, dict[str, str]]) -> items.Key:
    return typed["PK"]["S"], typed["SK"]["S"]


def old_item(pk: str, sk: str) -> dict[str, dict[str, str]]:
    (found,) = [typed for typed in OLD_ITEMS if key_of_typed(typed) == (pk, sk)]
    return found


def test_the_golden_items_are_what_the_port_reads():
    """The converter the tests below compare with gives the kinds the old code's readers relied on."""
    job = plain(old_item(f"JOB#{JOB}", "JOB"))
    assert job == {
        "PK": f"JOB#{JOB}",
        "SK": "JOB",
        "type": "Job",
        "id": JOB,
        "owner_id": REC,
        "title": "Straße Engineer",
        "title_key": "strasse engineer",
        "location": "Berlin",
        "location_key": "berlin",
        "department": "Eng",
        "department_key": "eng",
        "status": "open",
        "version": 1,
        "created_at": T,
        "updated_at": T,
        "GSI1PK": "JOBS#open",
        "GSI1SK": JOB,
        "GSI2PK": f"OWNER#{REC}#open",
        "GSI2SK": JOB,
    }
    counter = plain(old_item("COUNTER#login:rita", "COUNTER"))
    assert counter == {
        "PK": "COUNTER#login:rita",
        "SK": "COUNTER",
        "type": "Counter",
        "hits": 1,
        "ends_at": NOW + 120,
        "ttl": math.ceil(NOW + 120),
    }
    assert type(counter["hits"]) is int and type(counter["ends_at"]) is float and type(counter["ttl"]) is int
    assert plain(old_item(f"DELIVERY#{EV2}", "TO#carl@example.com"))["lease_until"] == 1796131326.8949182
    assert len({key_of_typed(typed) for typed in OLD_ITEMS}) == len(OLD_ITEMS) == 15


def test_items_the_old_code_wrote_read_back_exactly(where, store):
    raw = client(where)
    for typed in OLD_ITEMS:
        raw.put_item(TableName=where.table, Item=typed)

    for typed in OLD_ITEMS:
        item = store.get(key_of_typed(typed))
        assert item == plain(typed), key_of_typed(typed)
        assert {name: type(value) for name, value in item.items()} == {
            name: type(value) for name, value in plain(typed).items()
        }
    everything = store.get_many(key_of_typed(typed) for typed in OLD_ITEMS)
    assert sorted(everything, key=items.key_of) == sorted(map(plain, OLD_ITEMS), key=items.key_of)

    # Found by every index the old code listed them by; a deleted job by none.
    assert [item["id"] for item in store.query("JOBS#open", index="GSI1")] == [JOB]
    assert [item["id"] for item in store.query(f"OWNER#{REC}#open", index="GSI2")] == [JOB]
    assert store.query("JOBS#closed", index="GSI1") == [] and store.query(f"OWNER#{REC}#closed", index="GSI2") == []
    found = store.query("JOBS#open", index="GSI1", filter=items.contains("title_key", "strasse"))
    assert [item["id"] for item in found] == [JOB]
    app_partitions = [f"JOBAPPS#{JOB}", f"JOBAPPS#{JOB}#applied", f"CANDAPPS#{CAN}", f"RECAPPS#{REC}"]
    app_partitions += [f"RECAPPS#{REC}#applied", "APPS#applied"]
    for n, pk in enumerate(app_partitions, start=1):
        assert [item["id"] for item in store.query(pk, index=f"GSI{n}")] == [APP], n
    history = store.query(f"APP#{APP}", prefix="HIST#")
    assert [entry["id"] for entry in history] == [HIST] and "from_status" not in history[0]
    assert [item["id"] for item in store.query("OUTBOX#pending", index="GSI1")] == [EV2]
    assert [item["id"] for item in store.query("OUTBOX#failed", index="GSI1")] == [EV1]
    submitted = store.get((f"EVENT#{EV2}", "EVENT"))
    assert submitted is not None and json.loads(str(submitted["payload"]))["job_title"] == "Straße Engineer"


def test_reindex_moves_what_the_old_code_wrote_onto_the_sharded_partitions(where, store):
    """The unsharded OUTBOX#pending / OUTBOX#failed / APPS#applied keys and the inline letter of
    the old items: after `reindex`, on their shards, listed by the outbox and the repositories,
    the letter in its own item."""
    raw = client(where)
    for typed in OLD_ITEMS:
        raw.put_item(TableName=where.table, Item=typed)
    outbox = Outbox(store)
    assert outbox.list(status="pending") == [] and outbox.list(status="failed") == []

    reindex(store)
    DYNAMODB_CALLS.clear()  # a maintenance command's Scans, not a list's
    assert [record.id for record in outbox.list(status="pending")] == [EV2]
    assert [record.id for record in outbox.list(status="failed")] == [EV1]
    assert store.query("OUTBOX#pending", index="GSI1") == [] and store.query("APPS#applied", index="GSI6") == []
    assert [item["id"] for item in store.query(f"APPS#applied#{index_shard(APP)}", index="GSI6")] == [APP]
    assert [item["id"] for item in store.query(f"ALLAPPS#{index_shard(APP)}", index="GSI4")] == [APP]
    assert "cover_letter" not in store.get((f"APP#{APP}", "APP"))
    assert store.get((f"APP#{APP}", "LETTER"))["text"] == "Hello"


def test_items_this_driver_writes_are_the_items_the_old_code_wrote(where, store):
    store.transact([Put(plain(typed)) for typed in OLD_ITEMS])
    for typed in OLD_ITEMS:
        assert raw_get(where, key_of_typed(typed)) == typed, key_of_typed(typed)

    # An update writes what the old code's save did: the number an N of an integer, the keys untouched.
    job = old_item(f"JOB#{JOB}", "JOB")
    after = store.write(
        Update(key_of_typed(job), set={"title": "Head Gardener", "title_key": "head gardener"}, add={"version": 1})
    )
    assert after is not None and after["version"] == 2 and type(after["version"]) is int
    assert raw_get(where, key_of_typed(job)) == {
        **job,
        "title": S("Head Gardener"),
        "title_key": S("head gardener"),
        "version": N("2"),
    }
    # ...and the old code's lists still find it, through its index keys and its filter on title_key.
    for index, pk in (("GSI1", "JOBS#open"), ("GSI2", f"OWNER#{REC}#open")):
        listed = raw_query(where, index, pk, contains=("title_key", "garden"))
        assert [item["id"] for item in listed] == [S(JOB)], index

    # A float is written so that the old code's json.loads gives it back to the last digit.
    ends_at = time.time() + 120
    store.write(Put({"PK": "COUNTER#k", "SK": "COUNTER", "type": "Counter", "hits": 3, "ends_at": ends_at, "ttl": 1}))
    counter = raw_get(where, ("COUNTER#k", "COUNTER"))
    assert counter == {
        "PK": S("COUNTER#k"),
        "SK": S("COUNTER"),
        "type": S("Counter"),
        "hits": N("3"),
        "ends_at": N(repr(ends_at)),
        "ttl": N("1"),
    }
    assert json.loads(counter["ends_at"]["N"]) == ends_at


# --- Transactions ---------------------------------------------------------------------------------


def test_a_failing_check_is_named_and_nothing_is_written(store):
    put = Put({"PK": "NEW", "SK": "NEW", "type": "X"}, items.missing())
    check = Check(("GONE", "GONE"), items.exists())
    with pytest.raises(ConditionFailed) as failed:
        store.transact([put, check])
    assert failed.value.operation is check
    assert store.get(put.key) is None


def test_the_failure_named_is_the_first_in_the_callers_order(store):
    """PynamoDB sends checks first; the driver still names the first failing operation the caller gave."""
    store.write(Put({"PK": "A", "SK": "A", "type": "X", "n": 1}))
    update = Update(("A", "A"), add={"n": 1}, condition=items.equals("n", 5))
    check = Check(("GONE", "GONE"), items.exists())
    delete = Delete(("A2", "A2"), items.exists())
    with pytest.raises(ConditionFailed) as failed:
        store.transact([update, check, delete])
    assert failed.value.operation is update
    with pytest.raises(ConditionFailed) as failed:
        store.transact([delete, update, check])
    assert failed.value.operation is delete
    assert store.get(("A", "A")) == {"PK": "A", "SK": "A", "type": "X", "n": 1}


def cancelled(*codes: str | None) -> TransactWriteError:
    """A TransactionCanceledException as PynamoDB raises it, with these reasons."""
    error = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}},
        "TransactWriteItems",
        cancellation_reasons=[None if code is None else CancellationReason(code=code) for code in codes],
    )
    return TransactWriteError("Failed to write transaction items", error)


def test_collisions_are_tried_again_then_a_concurrency_error(store, monkeypatch):
    real = store.table.connection.transact_write_items
    tokens: list[str] = []

    def colliding(times):
        def transact_write_items(**kwargs):
            tokens.append(kwargs["client_request_token"])
            if len(tokens) <= times:
                raise cancelled(None, "TransactionConflict")
            return real(**kwargs)

        return transact_write_items

    monkeypatch.setattr(store.table.connection, "transact_write_items", colliding(2))
    store.transact([Put({"PK": "A", "SK": "A", "type": "X"}), Put({"PK": "B", "SK": "B", "type": "X"})])
    assert len(tokens) == 3 and len(set(tokens)) == 3  # a new request each time
    assert store.get(("B", "B")) is not None

    tokens.clear()
    monkeypatch.setattr(store.table.connection, "transact_write_items", colliding(100))
    with pytest.raises(ConcurrencyError):
        store.transact([Put({"PK": "C", "SK": "C", "type": "X"}), Put({"PK": "D", "SK": "D", "type": "X"})])
    assert len(tokens) == 1 + driver.CONFLICT_RETRIES


def test_a_failed_condition_that_holds_when_read_again_is_a_collision(store, monkeypatch):
    """The state moved on between the cancellation and the re-read: the transaction is tried again."""
    real = store.table.connection.transact_write_items
    tries = []

    def transact_write_items(**kwargs):
        tries.append(1)
        if len(tries) == 1:
            raise cancelled("ConditionalCheckFailed")
        return real(**kwargs)

    monkeypatch.setattr(store.table.connection, "transact_write_items", transact_write_items)
    store.transact([Put({"PK": "A", "SK": "A", "type": "X"}, items.missing()), Delete(("B", "B"))])
    assert len(tries) == 2 and store.get(("A", "A")) is not None


def test_other_cancellations_are_unavailable(store, monkeypatch):
    def transact_write_items(**kwargs):
        raise cancelled("ThrottlingError")

    monkeypatch.setattr(store.table.connection, "transact_write_items", transact_write_items)
    with pytest.raises(Unavailable, match="Storage is unavailable: TransactionCanceledException"):
        store.transact([Put({"PK": "A", "SK": "A", "type": "X"}), Delete(("B", "B"))])


def test_a_transaction_still_in_progress_is_asked_again_with_its_token(store, monkeypatch):
    real = store.table.connection.transact_write_items
    tokens: list[str] = []

    def transact_write_items(**kwargs):
        tokens.append(kwargs["client_request_token"])
        if len(tokens) == 1:
            error = VerboseClientError(
                {"Error": {"Code": "TransactionInProgressException", "Message": "in progress"}}, "TransactWriteItems"
            )
            raise TransactWriteError("Failed to write transaction items", error)
        return real(**kwargs)

    monkeypatch.setattr(store.table.connection, "transact_write_items", transact_write_items)
    store.transact([Update(("A", "A"), add={"n": 1}), Delete(("B", "B"))])
    assert len(tokens) == 2 and tokens[0] == tokens[1]  # the same request: applied once
    assert store.get(("A", "A")) == {"PK": "A", "SK": "A", "n": 1}


# --- Round trips ----------------------------------------------------------------------------------


def test_each_call_is_one_round_trip_and_none_describes_the_table(where, store, calls):
    store.transact(
        [
            Put({"PK": "A", "SK": "A", "type": "X"}, items.missing()),
            Update(("B", "B"), set={"type": "X"}, add={"n": 1}),
            Delete(("C", "C")),
            Check(("D", "D"), items.missing()),
        ]
    )
    assert calls == ["TransactWriteItems"]
    calls.clear()
    assert store.get(("A", "A")) is not None
    assert calls == ["GetItem"]
    calls.clear()
    assert len(store.get_many([("A", "A"), ("B", "B"), ("C", "C"), ("A", "A")])) == 2
    assert calls == ["BatchGetItem"]
    calls.clear()
    store.query("A")
    store.query("nothing", index="GSI3", prefix="x", after="x1", limit=5)
    assert calls == ["Query", "Query"]
    calls.clear()
    store.write(Update(("B", "B"), add={"n": 1}))
    store.ping()
    assert calls == ["UpdateItem", "GetItem"]
    calls.clear()
    with pytest.raises(ConditionFailed):
        store.transact([Put({"PK": "A", "SK": "A", "type": "X"}, items.missing()), Delete(("C", "C"))])
    assert calls == ["TransactWriteItems", "BatchGetItem"]  # the re-read that names the operation

    calls.clear()
    another = open_store(where.table, where.endpoint)  # another process: the schema is known, not asked
    another.get(("A", "A"))
    another.transact([Delete(("A", "A")), Delete(("C", "C"))])
    assert calls == ["GetItem", "TransactWriteItems"]
    assert "DescribeTable" not in calls


def test_write_is_one_call_and_returns_the_item_after_it(store, calls):
    put = Put({"PK": "W", "SK": "W", "type": "X", "n": 1}, items.missing())
    assert store.write(put) == put.item
    assert store.write(Update(("W", "W"), set={"type": None}, add={"n": 2})) == {"PK": "W", "SK": "W", "n": 3}
    assert store.write(Update(("BARE", "BARE"))) == {"PK": "BARE", "SK": "BARE"}  # made from the key alone
    assert store.write(Delete(("W", "W"), items.exists())) is None
    assert calls == ["PutItem", "UpdateItem", "UpdateItem", "DeleteItem"]
    failing = Delete(("W", "W"), items.exists())
    with pytest.raises(ConditionFailed) as failed:
        store.write(failing)
    assert failed.value.operation is failing


def test_a_transaction_of_one_write_is_that_write_alone(store, calls):
    """Half the capacity of TransactWriteItems, the same outcome."""
    store.transact([Put({"PK": "O", "SK": "O", "type": "X", "n": 1}, items.missing())])
    store.transact([Update(("O", "O"), add={"n": 1}, condition=items.equals("n", 1))])
    assert store.get(("O", "O")) == {"PK": "O", "SK": "O", "type": "X", "n": 2}
    store.transact([Delete(("O", "O"), items.exists())])
    assert calls == ["PutItem", "UpdateItem", "GetItem", "DeleteItem"]
    calls.clear()
    failing = Update(("O", "O"), set={"n": 5}, condition=items.exists())
    with pytest.raises(ConditionFailed) as failed:
        store.transact([failing])
    assert failed.value.operation is failing and store.get(("O", "O")) is None
    assert calls == ["UpdateItem", "GetItem"]  # no re-read: the failure names its one operation


class _Lost:
    """The body of a reply that never came: a 500, which botocore sends the request again for."""

    def stream(self, **_):
        yield b'{"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "lost"}'


def losing_the_first_reply(store: DynamoItemStore, operation: str) -> list[str]:
    """The first `operation` request reaches DynamoDB and is applied, but its reply is lost: botocore
    sees a 500 and sends it again. Returns a list that grows by one per request sent."""
    http, sent = urllib3.PoolManager(), []

    def before_send(request, **_):
        sent.append(operation)
        if len(sent) > 1:
            return None  # botocore sends it
        http.request(request.method, request.url, body=request.body, headers=dict(request.headers))
        return AWSResponse(request.url, 500, {}, _Lost())

    store.table.connection.client.meta.events.register(f"before-send.dynamodb.{operation}", before_send)
    return sent


# Needs DynamoDB Local: the lost reply is the real request sent by hand to the server, which moto's
# in-process mock does not listen for.
@pytest.mark.java
@pytest.mark.network
@pytest.mark.parametrize("where", ["dynamodb-local"], indirect=True)
def test_a_write_whose_first_reply_was_lost_is_not_refused_by_its_own_first_try(where, store):
    """A write alone has no transaction token to make its retries idempotent: the retry fails the
    condition its first try made false, and the driver, seeing the item as the write leaves it,
    reports success, not a conflict."""
    put = Put({"PK": "L", "SK": "L", "type": "X", "version": 1}, items.missing())
    sent = losing_the_first_reply(store, "PutItem")
    store.transact([put])
    assert len(sent) == 2 and store.get(put.key) == put.item

    bump = Update(("L", "L"), set={"version": 2}, condition=items.equals("version", 1))
    sent = losing_the_first_reply(store, "UpdateItem")
    assert store.write(bump) == {**put.item, "version": 2} and len(sent) == 2

    # Another writer's item is no success of ours: still refused.
    store.write(Put({"PK": "M", "SK": "M", "type": "X", "by": "other"}))
    sent = losing_the_first_reply(store, "PutItem")
    ours = Put({"PK": "M", "SK": "M", "type": "X", "by": "us"}, items.missing())
    with pytest.raises(ConditionFailed):
        store.write(ours)
    assert store.get(ours.key) == {"PK": "M", "SK": "M", "type": "X", "by": "other"}


def test_numbers_keep_their_value_and_kind(store):
    values = {
        "now": time.time() + 120,
        "tenth": 0.1,
        "negative": -2.5e-7,
        "big": 10**37 + 1,
        "zero": 0,
        "whole_float": 3.0,
        "text": "3",
    }
    store.write(Put({"PK": "N", "SK": "N", "type": "X", **values}))
    item = store.get(("N", "N"))
    assert item is not None
    for name, value in values.items():
        assert item[name] == value, name
        assert type(item[name]) is (type(value) if name != "whole_float" else int), name
    with pytest.raises(ValueError):
        store.write(Put({"PK": "N", "SK": "N", "type": "X", "bad": math.inf}))


def test_a_prefix_with_bounds_is_exact_at_the_edges(store):
    """A prefix with a bound is a BETWEEN up to the first key past the prefix; the driver drops the bounds."""
    keys = ["HIST", "HIST#", "HIST#1", "HIST#2", "HIST#3", "HIST#~", "HIST$", "HIST$0", "HISU"]
    store.transact([Put({"PK": "P", "SK": key, "type": "X"}) for key in keys])

    def sks(**query):
        return [item["SK"] for item in store.query("P", **query)]

    assert sks(prefix="HIST#") == ["HIST#", "HIST#1", "HIST#2", "HIST#3", "HIST#~"]
    assert sks(prefix="HIST#", after="HIST#1") == ["HIST#2", "HIST#3", "HIST#~"]
    assert sks(prefix="HIST#", after="HIST#1", limit=2) == ["HIST#2", "HIST#3"]
    assert sks(prefix="HIST#", before="HIST#3", descending=True, limit=2) == ["HIST#2", "HIST#1"]
    assert sks(prefix="HIST#", after="HIST#") == ["HIST#1", "HIST#2", "HIST#3", "HIST#~"]
    assert sks(prefix="HIST#", after="HIST#~", descending=True) == []
    assert sks(prefix="HIST#", after="A", before="HIST$0") == sks(prefix="HIST#")
    assert sks(after="HIST#1", before="HIST$", limit=3) == ["HIST#2", "HIST#3", "HIST#~"]
    assert sks(after="HIST$", before="HIST$") == []


def test_a_filter_reads_on_until_the_limit_is_kept(store, calls):
    for first in range(0, 250, 100):
        store.transact(
            [Put({"PK": "F", "SK": f"{i:04}", "type": "X", "n": i}) for i in range(first, min(first + 100, 250))]
        )
    calls.clear()
    found = store.query("F", filter=items.above("n", 246), limit=2)
    assert [item["n"] for item in found] == [247, 248]
    assert calls == ["Query"] * 3  # pages of 100 items until two matched
    assert store.query("F", filter=items.all_of(items.exists(), items.missing())) == []
    assert len(store.query("F", filter=items.any_of(items.exists(), items.equals("n", -1)), limit=7)) == 7


def test_the_threads_of_a_process_share_one_store(where, store):
    def hit(number):
        for _ in range(10):
            store.write(Update((f"C#{number}", "C"), add={"hits": 1}))
            if where.endpoint is not None:  # moto's UpdateItem is not atomic across threads; DynamoDB's is
                store.write(Update(("SHARED", "C"), add={"hits": 1}))

    threads = [threading.Thread(target=hit, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counters = store.get_many((f"C#{number}", "C") for number in range(8))
    assert sorted(item["PK"] for item in counters if item["hits"] == 10) == [f"C#{n}" for n in range(8)]
    if where.endpoint is not None:
        assert store.get(("SHARED", "C")) == {"PK": "SHARED", "SK": "C", "hits": 80}


def test_a_get_is_consistent_unless_asked_otherwise(store):
    store.transact([Put({"PK": "P", "SK": "A", "n": 1})])
    sent = []
    events = store.table.connection.client.meta.events
    record = lambda params, **_: sent.append(params.get("ConsistentRead"))  # noqa: E731
    events.register("provide-client-params.dynamodb.GetItem", record)
    try:
        assert store.get(("P", "A")) == store.get(("P", "A"), consistent=False) == {"PK": "P", "SK": "A", "n": 1}
    finally:
        events.unregister("provide-client-params.dynamodb.GetItem", record)
    assert sent == [True, False]


def test_the_partitions_of_one_list_are_read_side_by_side(store, monkeypatch):
    store.transact([Put({"PK": f"P#{n}", "SK": "A", "n": n}) for n in range(3)])
    together = threading.Barrier(3, timeout=10)  # broken unless the three queries wait at once
    real = store.table.query

    def query(*args, **kwargs):
        together.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(store.table, "query", query)
    found = store.select_many([items.Query(f"P#{n}") for n in range(3)])
    assert [[item["n"] for item in page] for page in found] == [[0], [1], [2]]


# --- Failures -------------------------------------------------------------------------------------


def test_an_unreachable_endpoint_is_unavailable(caplog):
    store = open_store("nowhere", f"http://127.0.0.1:{free_port()}", connect_timeout=0.5, max_retries=0)
    with pytest.raises(Unavailable, match="Storage is unavailable: EndpointConnectionError"):
        store.ping()
    with pytest.raises(Unavailable, match="Storage is unavailable"):
        store.transact([Put({"PK": "A", "SK": "A", "type": "X"})])
    warnings = [r.getMessage() for r in caplog.records if r.name == driver.__name__ and r.levelname == "WARNING"]
    assert warnings and warnings[0].startswith("DynamoDB call failed: EndpointConnectionError")


def test_an_error_whose_cause_has_no_response_has_no_code_and_raises_no_other_error():
    """A cancelled transaction's cause may carry `response = None` (seen under load, a timeout):
    PynamoDB's cause_response_code then fails; the driver reads no code and says Unavailable."""

    class Timeout(Exception):
        response = None

    error = TransactWriteError("Failed to write transaction items", cause=Timeout())
    assert driver._code(error) is None
    with pytest.raises(Unavailable), driver._storage_errors():
        raise error
