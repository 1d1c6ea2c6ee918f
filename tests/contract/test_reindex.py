"""`cli reindex`: items written before their entity gained an index (users before GET /users) are
listed once it has run, on every backend, and a second run changes nothing."""

from chalicelib import cli
from chalicelib.storage.items import Put
from chalicelib.storage.records import UserQuery
from tests.conftest import DYNAMODB_CALLS

# A user as stored before users had an index, lookups and revocation fields.
OLD_USER = {
    "PK": "USER#01HZZZZZZZZZZZZZZZZZZZZZZ1",
    "SK": "USER",
    "type": "User",
    "id": "01HZZZZZZZZZZZZZZZZZZZZZZ1",
    "email": "Old.Timer@example.com",
    "name": "Old Timer",
    "role": "recruiter",
    "password_hash": "hash",
    "created_at": "2024-01-01T00:00:00Z",
}


def test_reindex_lists_the_users_stored_before_the_index(uow_factory, capsys):
    uow = uow_factory()
    uow.storage.items.write(Put(dict(OLD_USER)))
    assert uow.users.page(UserQuery(), limit=10) == []  # in no list yet
    assert uow.users.get(OLD_USER["id"]).email == "Old.Timer@example.com"  # but read as it is

    assert cli.main(["reindex"]) == 0
    DYNAMODB_CALLS.clear()  # a maintenance command's Scan, not a list's
    assert "1 User" in capsys.readouterr().out
    (listed,) = uow.users.page(UserQuery(role="recruiter", active=True, q="old"), limit=10)
    assert (listed.id, listed.token_generation, listed.revoked_sessions) == (OLD_USER["id"], 0, {})
    assert uow.users.page(UserQuery(q="old.timer@"), limit=10) == [listed]

    assert cli.main(["reindex"]) == 0
    DYNAMODB_CALLS.clear()
    assert "0 User" in capsys.readouterr().out


def test_jobs_and_applications_stored_before_pipelines_read_in_the_stage_of_their_status(
    uow_factory, recruiter, candidate, capsys
):
    """No data migration: an old job has the default pipeline (stable ids), its applications are in
    the stage of their status, they move on from there; `reindex` puts the old job's applications in
    its recruiter's list (the team's member items)."""
    from chalicelib.domain.models import Principal
    from chalicelib.domain.pipeline import legacy_stage_id
    from chalicelib.storage import ApplicationQuery

    job_id, application_id = "01HZZZZZZZZZZZZZZZZZZZZZJ1", "01HZZZZZZZZZZZZZZZZZZZZZA1"
    old_job = {"PK": f"JOB#{job_id}", "SK": "JOB", "type": "Job", "id": job_id, "owner_id": recruiter.id,
               "title": "Old job", "status": "open", "version": 1, "created_at": "2024-01-01T00:00:00.000Z",
               "updated_at": "2024-01-01T00:00:00.000Z", "GSI1PK": "JOBS#open", "GSI1SK": job_id,
               "GSI2PK": f"OWNER#{recruiter.id}#open", "GSI2SK": job_id}  # fmt: skip
    old_application = {"PK": f"APP#{application_id}", "SK": "APP", "type": "Application", "id": application_id,
                       "job_id": job_id, "candidate_id": candidate.id, "recruiter_id": recruiter.id,
                       "status": "screening", "version": 2, "created_at": "2024-01-02T00:00:00.000Z",
                       "updated_at": "2024-01-03T00:00:00.000Z", "GSI1PK": f"JOBAPPS#{job_id}",
                       "GSI1SK": application_id, "GSI2PK": f"JOBAPPS#{job_id}#screening",
                       "GSI2SK": application_id}  # fmt: skip
    items = uow_factory().storage.items
    items.write(Put(dict(old_job)))
    items.write(Put(dict(old_application)))

    uow = uow_factory()
    job, application = uow.jobs.get(job_id), uow.applications.get(application_id)
    assert [stage.kind for stage in job.stages] == ["applied", "screening", "shortlisted", "selected", "hired"]
    assert application.stage_id == legacy_stage_id(job_id, "screening") == job.stages[1].id
    assert uow_factory().jobs.get(job_id).stages == job.stages  # the same ids on every read
    rita = Principal(recruiter.id, recruiter.role)
    assert (
        uow.applications.page(
            ApplicationQuery(job_ids=tuple(j for j, _ in uow.jobs.member_jobs(rita.user_id))), limit=5
        )
        == []
    )

    assert cli.main(["reindex"]) == 0
    DYNAMODB_CALLS.clear()
    assert "1 TeamMember" in capsys.readouterr().out
    member_jobs = tuple(j for j, _ in uow_factory().jobs.member_jobs(rita.user_id))
    assert member_jobs == (job_id,)
    with uow_factory() as uow:
        application = uow.applications.get(application_id)
        application.move(job, actor=rita, from_stage_id=job.stages[1].id, to_stage_id=job.stages[2].id, note=None)
        uow.jobs.require(job_id, stage_id=application.stage_id, failure=AssertionError("the legacy job's stage"))
        uow.applications.save(application)
        uow.commit()
    moved = uow_factory().applications.get(application_id)
    assert (moved.status, moved.stage_id) == ("shortlisted", job.stages[2].id)


def test_reindex_moves_items_onto_their_shards_and_letters_out_of_their_applications(
    uow_factory, recruiter, candidate, capsys
):
    """An application and an event an older release keyed by the unsharded partitions (APPS#<status>,
    OUTBOX#<status>), the application with its cover letter inline: read as they are, listed once
    `reindex` has put them on their shards, the letter in its own item."""
    from chalicelib.storage import ApplicationQuery
    from chalicelib.storage.entities import letter_key

    job_id, application_id, event_id = (
        "01HZZZZZZZZZZZZZZZZZZZZZJ2",
        "01HZZZZZZZZZZZZZZZZZZZZZA2",
        "01HZZZZZZZZZZZZZZZZZZZZZE2",
    )
    old_application = {"PK": f"APP#{application_id}", "SK": "APP", "type": "Application", "id": application_id,
                       "job_id": job_id, "candidate_id": candidate.id, "recruiter_id": recruiter.id,
                       "status": "screening", "cover_letter": "Dear team", "version": 2,
                       "created_at": "2024-01-02T00:00:00.000Z", "updated_at": "2024-01-03T00:00:00.000Z",
                       "GSI1PK": f"JOBAPPS#{job_id}", "GSI1SK": application_id,
                       "GSI6PK": "APPS#screening", "GSI6SK": application_id}  # fmt: skip
    old_event = {"PK": f"EVENT#{event_id}", "SK": "EVENT", "type": "Event", "id": event_id, "event_type": "Ping",
                 "payload": "{}", "status": "pending", "attempts": 0, "created_at": "2024-01-02T00:00:00.000Z",
                 "updated_at": "2024-01-02T00:00:00.000Z", "GSI1PK": "OUTBOX#pending", "GSI1SK": event_id}  # fmt: skip
    items = uow_factory().storage.items
    items.write(Put(dict(old_application)))
    items.write(Put(dict(old_event)))
    uow = uow_factory()
    assert uow.applications.get(application_id).cover_letter == "Dear team"  # read as stored
    assert uow.applications.page(ApplicationQuery(status="screening"), limit=5) == []  # on no shard yet
    assert event_id not in [record.id for record in uow.outbox.list(status="pending")]

    assert cli.main(["reindex"]) == 0
    DYNAMODB_CALLS.clear()
    out = capsys.readouterr().out
    assert "1 Application" in out and "1 Event" in out and "1 CoverLetter" in out
    uow = uow_factory()
    assert [a.id for a in uow.applications.page(ApplicationQuery(status="screening"), limit=5)] == [application_id]
    assert application_id in [a.id for a in uow.applications.page(ApplicationQuery(), limit=5)]
    assert event_id in [record.id for record in uow.outbox.list(status="pending")]
    assert "cover_letter" not in items.get((f"APP#{application_id}", "APP"))
    assert items.get(letter_key(application_id))["text"] == "Dear team"
    assert uow.applications.get(application_id).cover_letter == "Dear team"

    assert cli.main(["reindex"]) == 0
    DYNAMODB_CALLS.clear()
    out = capsys.readouterr().out
    assert "0 Application" in out and "0 Event" in out and "0 CoverLetter" in out


def test_reindex_gives_jobs_stored_before_the_search_indexes_their_keys_and_word_items(uow_factory, recruiter, capsys):
    from chalicelib.storage import JobQuery

    job_id = "01HZZZZZZZZZZZZZZZZZZZZZJ2"
    old_job = {"PK": f"JOB#{job_id}", "SK": "JOB", "type": "Job", "id": job_id, "owner_id": recruiter.id,
               "title": "Zeppelin Pilot", "title_key": "zeppelin pilot", "location": "Friedrichshafen",
               "location_key": "friedrichshafen", "department": "Air", "department_key": "air", "status": "open",
               "version": 1, "created_at": "2024-01-01T00:00:00.000Z", "updated_at": "2024-01-01T00:00:00.000Z",
               "GSI1PK": "JOBS#open", "GSI1SK": job_id, "GSI2PK": f"OWNER#{recruiter.id}#open",
               "GSI2SK": job_id}  # fmt: skip
    # A word item of a title it no longer has: reindex removes it.
    stale = {"PK": f"JOB#{job_id}", "SK": "WORD#bal", "type": "JobWord", "title_words": " balloon",
             "GSI3PK": "WORDS#open#bal", "GSI3SK": job_id}  # fmt: skip
    items = uow_factory().storage.items
    items.write(Put(dict(old_job)))
    items.write(Put(dict(stale)))

    def found(**query) -> list[str]:
        return [job.id for job in uow_factory().jobs.page(JobQuery(statuses=("open",), **query), limit=5)]

    assert found() == [job_id]  # listed, but by no search yet
    assert found(q="zeppelin") == found(location="Friedrichshafen") == found(department="air") == []

    assert cli.main(["reindex"]) == 0
    DYNAMODB_CALLS.clear()  # a maintenance command's Scan, not a list's
    out = capsys.readouterr().out
    assert "1 Job," in out and "3 JobWord" in out  # its index keys; two word items written, one removed
    assert found(q="zeppelin") == found(q="pilot zep") == found(location="FRIEDRICHSHAFEN") == [job_id]
    assert found(department="Air", q="pilot") == [job_id]
    assert found(q="balloon") == []

    assert cli.main(["reindex"]) == 0
    DYNAMODB_CALLS.clear()
    out = capsys.readouterr().out
    assert "0 Job," in out and "0 JobWord" in out
