"""What only the DynamoDB backend has: its table, its keys and indexes, its error translation."""

import dataclasses

import boto3
import pytest

from chalicelib.bootstrap import forget_storage, storage, unit_of_work
from chalicelib.domain.errors import NotFound, Unavailable
from chalicelib.domain.models import Application, Job, User
from chalicelib.services.health import check_health
from chalicelib.storage import ApplicationQuery, JobQuery
from chalicelib.storage.dynamodb_local import free_port
from chalicelib.storage.entities import index_shard, shards_of

from .test_repositories import make_application, make_job, make_user, move, who

pytestmark = pytest.mark.parametrize("backend", ["moto", "dynamodb-local"], indirect=True)


@pytest.fixture
def store(settings):
    """The DynamoDB driver of this test's table (made on first use)."""
    return storage(settings).items


@pytest.fixture
def client(settings, store):
    """A plain boto3 client: what is stored, seen as DynamoDB holds it."""
    return boto3.client("dynamodb", region_name=settings.aws_region, endpoint_url=settings.dynamodb_endpoint)


def raw_query(client, settings, pk: str, index: str | None = None) -> list[dict]:
    name = f"{index}PK" if index else "PK"
    extra = {"IndexName": index} if index else {"ConsistentRead": True}
    reply = client.query(
        TableName=settings.table_name,
        KeyConditionExpression="#pk = :pk",
        ExpressionAttributeNames={"#pk": name},
        ExpressionAttributeValues={":pk": {"S": pk}},
        **extra,
    )
    return reply["Items"]


def raw_get(client, settings, pk: str, sk: str) -> dict:
    key = {"PK": {"S": pk}, "SK": {"S": sk}}
    return client.get_item(TableName=settings.table_name, Key=key, ConsistentRead=True)["Item"]


def test_the_table_is_on_demand_with_a_stream_and_the_designed_indexes(settings, client):
    table = client.describe_table(TableName=settings.table_name)["Table"]
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


def test_every_item_carries_its_type_in_shared_partitions(uow_factory, client, settings):
    recruiter = make_user(uow_factory, "rita@example.com", "recruiter")
    candidate = make_user(uow_factory, "carl@example.com")
    job = make_job(uow_factory, recruiter)
    application = make_application(uow_factory, job, candidate)
    move(uow_factory, application, "screening", recruiter)

    def types(pk, index=None):
        return sorted(item["type"]["S"] for item in raw_query(client, settings, pk, index))

    # An application, its history and its stage visits share its partition; each item says which
    # entity it is; so do a job, its team's member items and its title's word items ("Backend Engineer").
    assert types(f"APP#{application.id}") == [
        "Application",
        "CoverLetter",
        "History",
        "History",
        "StageVisit",
        "StageVisit",
    ]
    assert types(f"JOB#{job.id}") == ["Job", "JobWord", "JobWord", "TeamMember"]
    assert types("JOBS#open", "GSI1") == ["Job"]
    assert types("WORDS#open#bac", "GSI3") == types("WORDS#open#eng", "GSI3") == ["JobWord"]
    assert types(f"MEMBEROF#{recruiter.id}", "GSI1") == ["TeamMember"]
    # The system-wide partitions are sharded: an event on its id's shard, an application too.
    pending = [kind for shard in shards_of("OUTBOX#pending") for kind in types(shard, "GSI1")]
    assert pending == ["Event"] * 4  # two sign-ups, the application, the move
    assert types(f"APPS#screening#{index_shard(application.id)}", "GSI6") == ["Application"]
    assert types(f"ALLAPPS#{index_shard(application.id)}", "GSI4") == ["Application"]
    assert types("OUTBOX#pending", "GSI1") == [] and types("APPS#screening", "GSI6") == []
    assert types(f"JOBAPPS#{job.id}", "GSI1") == ["Application"]
    # The cover letter is apart: no index copy of the application holds it.
    (listed,) = raw_query(client, settings, f"JOBAPPS#{job.id}", "GSI1")
    assert "cover_letter" not in listed
    assert raw_get(client, settings, f"APP#{application.id}", "LETTER")["text"] == {"S": "Hello"}
    # Guards are items of their own, never listed.
    assert raw_get(client, settings, "EMAIL#carl@example.com", "EMAIL")["user_id"] == {"S": candidate.id}
    guard = raw_get(client, settings, f"APPLIED#{candidate.id}#{job.id}", "APPLIED")
    assert guard["application_id"] == {"S": application.id}


def test_a_deleted_job_keeps_no_list_index_keys(uow_factory, client, settings):
    recruiter = make_user(uow_factory, "rita@example.com", "recruiter")
    job = make_job(uow_factory, recruiter)
    with uow_factory() as uow:
        current = uow.jobs.get(job.id)
        current.delete()
        uow.jobs.save(current)
        uow.commit()
    item = raw_get(client, settings, f"JOB#{job.id}", "JOB")
    assert item["deleted_at"]["S"] and not {"GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"} & set(item)
    assert [found["type"]["S"] for found in raw_query(client, settings, f"JOB#{job.id}")] == ["Job", "TeamMember"]


def test_the_conditions_of_a_write_are_checks_in_its_own_transaction(uow_factory, store, no_dynamodb_scan, monkeypatch):
    """The job's state and the actor's account cost no round trip: ConditionChecks beside the writes."""
    recruiter = make_user(uow_factory, "rita@example.com", "recruiter")
    candidate = make_user(uow_factory, "carl@example.com")
    job = make_job(uow_factory, recruiter)
    checked = []
    send = store.table.connection.transact_write_items

    def recording(*args, condition_check_items=(), **kwargs):
        checked.append(sorted(item["Key"]["PK"]["S"] for item in condition_check_items))
        return send(*args, condition_check_items=condition_check_items, **kwargs)

    monkeypatch.setattr(store.table.connection, "transact_write_items", recording)
    no_dynamodb_scan.clear()
    application = Application.submit(job=job, candidate=who(candidate), cover_letter=None)
    with uow_factory() as uow:
        uow.jobs.require(job.id, statuses=("open",), failure=NotFound("Job not found."))
        uow.applications.add(application)
        uow.commit()
    assert no_dynamodb_scan == ["TransactWriteItems"]
    assert checked == [sorted([f"JOB#{job.id}", f"USER#{candidate.id}"])]


def test_lists_are_queries_and_the_guard_catches_a_scan(uow_factory, client, settings, no_dynamodb_scan):
    recruiter = make_user(uow_factory, "rita@example.com", "recruiter")
    make_job(uow_factory, recruiter, location="Berlin")
    no_dynamodb_scan.clear()
    with uow_factory() as uow:
        uow.jobs.page(JobQuery(location="Berlin", q="eng"), limit=5)
        uow.outbox.list(status="pending")
    assert set(no_dynamodb_scan) == {"Query", "BatchGetItem"}  # q's word items, then their jobs by key
    client.scan(TableName=settings.table_name)  # what the guard exists for
    assert "Scan" in no_dynamodb_scan
    no_dynamodb_scan.clear()  # this test's Scan was on purpose


def test_a_unit_of_work_is_one_transaction_of_at_most_100_items(uow_factory):
    owner = make_user(uow_factory, "rita@example.com", "recruiter")
    jobs = [Job.publish(owner=who(owner), title=f"J{i}") for i in range(101)]
    with uow_factory() as uow:
        for job in jobs:
            uow.jobs.add(job)
        with pytest.raises(ValueError, match="at most 100"):
            uow.commit()
    with uow_factory() as uow:
        assert uow.jobs.page(JobQuery(), limit=5) == []


def test_many_outbox_marks_each_take_effect(uow_factory):
    for i in range(105):
        user = User.register(email=f"u{i}@example.com", name="u", role="candidate", password_hash="h")
        with uow_factory() as uow:
            uow.users.add(user)
            uow.commit()
    with uow_factory() as uow:
        pending = uow.outbox.list(status="pending", limit=200)
        for record in pending:
            uow.outbox.mark(record.id, status="sent")
    with uow_factory() as uow:
        assert len(pending) == 105
        assert uow.outbox.list(status="pending") == []
        assert len(uow.outbox.list(status="sent", limit=200)) == 105


def test_storage_failures_become_unavailable(settings, monkeypatch):
    down = dataclasses.replace(
        settings,
        dynamodb_endpoint=f"http://127.0.0.1:{free_port()}",
        dynamodb_create_tables=False,
        dynamodb_max_retries=0,
        dynamodb_connect_timeout=1.0,
        table_name=settings.table_name + "-down",
    )
    with unit_of_work(down) as uow:
        with pytest.raises(Unavailable):
            uow.users.get("01HZZZZZZZZZZZZZZZZZZZZZZZ")
        with pytest.raises(Unavailable):
            uow.ping()
        with pytest.raises(Unavailable):
            uow.outbox.claim_delivery("E", "a@example.com", lease_seconds=5)
    assert check_health(lambda: unit_of_work(down), down)["checks"]["storage"] == "unavailable: Unavailable"
    forget_storage(down)


def test_a_missing_table_is_unavailable_and_says_how_to_create_it(settings):
    missing = dataclasses.replace(settings, table_name=settings.table_name + "-missing", dynamodb_create_tables=False)
    with unit_of_work(missing) as uow:
        with pytest.raises(Unavailable, match="create-tables"):
            uow.jobs.page(JobQuery(), limit=5)
        with pytest.raises(Unavailable):
            uow.ping()
        user = User.register(email="a@example.com", name="a", role="candidate", password_hash="h")
        uow.users.add(user)
        with pytest.raises(Unavailable):
            uow.commit()
    forget_storage(missing)


def test_the_api_answers_503_with_the_error_envelope_when_dynamodb_is_down(api, monkeypatch):
    assert api.get("/health").status == 200
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("ATS_DYNAMODB_MAX_RETRIES", "0")
    monkeypatch.setenv("ATS_DYNAMODB_CREATE_TABLES", "false")
    reply = api.get("/jobs/list")
    assert reply.status == 503
    assert reply.error["code"] == "unavailable"
    assert api.get("/health").status == 503


def test_entities_are_plain_domain_dataclasses(uow_factory):
    recruiter = make_user(uow_factory, "rita@example.com", "recruiter")
    candidate = make_user(uow_factory, "carl@example.com")
    job = make_job(uow_factory, recruiter)
    make_application(uow_factory, job, candidate)
    with uow_factory() as uow:
        assert type(uow.users.get(recruiter.id)) is User
        assert type(uow.jobs.get(job.id)) is Job
        assert [type(a) for a in uow.applications.page(ApplicationQuery(), limit=5)] == [Application]


def test_filtered_lists_keep_querying_pages_until_the_page_is_full(uow_factory, store, monkeypatch, no_dynamodb_scan):
    """With one item per Query page, sparse matches need many pages: the result is still exact."""
    monkeypatch.setattr("chalicelib.storage.drivers.dynamodb.FILTERED_PAGE_SIZE", 1)
    owner = make_user(uow_factory, "rita@example.com", "recruiter")
    jobs = [
        make_job(uow_factory, owner, title=f"J{i}", location="Berlin" if i % 4 == 0 else "Lisbon") for i in range(12)
    ]
    berlin = [job.id for job in reversed(jobs) if job.location == "Berlin"]
    no_dynamodb_scan.clear()
    with uow_factory() as uow:
        first = uow.jobs.page(JobQuery(location="Berlin"), limit=2)
        rest = uow.jobs.page(JobQuery(location="Berlin"), limit=2, before=first[-1].id)
    assert [job.id for job in first + rest] == berlin
    assert no_dynamodb_scan.count("Query") > 4  # it did take several pages
