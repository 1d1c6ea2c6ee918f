"""The system-wide partitions, sharded (APPS#<status>#<shard>, OUTBOX#<status>#<shard>), list as one
partition would, on every backend, reading about a page; and cover letters kept apart from the
application, read with it, moved out of an item an older release stored them in."""

import random
from dataclasses import replace

from chalicelib.domain.ids import new_id
from chalicelib.domain.models import Application, Principal, Role
from chalicelib.domain.pipeline import ApplicationStatus
from chalicelib.domain.states import OutboxStatus
from chalicelib.storage import ApplicationQuery
from chalicelib.storage.entities import APPLICATION, EVENT, INDEX_SHARDS, application_key, index_shard, letter_key
from chalicelib.storage.items import Delete, Put
from chalicelib.storage.records import OutboxRecord

from .test_repositories import make_job, who

STATUSES = ("applied", "screening", "rejected")


def _counting_reads(monkeypatch, store) -> list[int]:
    """How many items each query of the store returned (select_many's too: it calls select)."""
    counts: list[int] = []
    select = store.select

    def counted(query):
        found = select(query)
        counts.append(len(found))
        return found

    monkeypatch.setattr(store, "select", counted)
    return counts


def _stored_applications(uow_factory, recruiter, count: int) -> list[Application]:
    """`count` applications to one job, in statuses at random, written as items (no candidates needed)."""
    job = make_job(uow_factory, recruiter)
    items = uow_factory().storage.items
    shuffle = random.Random(7)
    made = []
    for _ in range(count):
        application = Application.submit(job=job, candidate=Principal(new_id(), Role.CANDIDATE), cover_letter=None)
        application = replace(application, status=ApplicationStatus(shuffle.choice(STATUSES)))
        items.write(Put(APPLICATION.item(application)))
        made.append(application)
    return made


def _walk(uow, query: ApplicationQuery, limit: int) -> list[str]:
    found: list[str] = []
    before = None
    while True:
        page = uow.applications.page(query, limit=limit, before=before)
        found += [application.id for application in page]
        if len(page) < limit:
            return found
        before = page[-1].id


def test_lists_by_status_merge_the_shards_newest_first(uow_factory, recruiter, monkeypatch):
    made = _stored_applications(uow_factory, recruiter, 80)
    assert len({index_shard(application.id) for application in made}) == INDEX_SHARDS  # spread over all
    uow = uow_factory()
    for status in (*STATUSES, None):
        expected = sorted((a.id for a in made if status is None or a.status == status), reverse=True)
        for limit in (1, 7, 100):
            assert _walk(uow, ApplicationQuery(status=status), limit) == expected, (status, limit)

    # A page reads about its size, not a page per shard (8 x 5: every one of the status's ~27).
    counts = _counting_reads(monkeypatch, uow.storage.items)
    applied = sorted((a.id for a in made if a.status == "applied"), reverse=True)
    assert [a.id for a in uow.applications.page(ApplicationQuery(status="applied"), limit=5)] == applied[:5]
    assert sum(counts) <= 5 + 2 * INDEX_SHARDS < len(applied)


def test_outbox_lists_and_due_events_merge_the_shards_oldest_first(uow_factory):
    outbox = uow_factory().outbox
    items = uow_factory().storage.items
    ids = sorted(new_id() for _ in range(30))
    moments = {event_id: f"2030-01-01T00:00:{n % 20:02d}.000Z" for n, event_id in enumerate(ids)}
    for event_id in ids:
        record = OutboxRecord(
            id=event_id,
            type="Ping",
            payload={},
            status=OutboxStatus.SCHEDULED if moments[event_id] < "2030-01-01T00:00:10" else OutboxStatus.PENDING,
            attempts=0,
            last_error=None,
            created_at=moments[event_id],
            updated_at=moments[event_id],
            deliver_after=moments[event_id],
        )
        items.write(Put(EVENT.item(record)))
    pending = [i for i in ids if moments[i] >= "2030-01-01T00:00:10"]
    scheduled = sorted((i for i in ids if moments[i] < "2030-01-01T00:00:10"), key=lambda i: (moments[i], i))
    assert [r.id for r in outbox.list(status="pending", limit=100)] == pending
    assert [r.id for r in outbox.list(status="pending", limit=4)] == pending[:4]
    assert [r.id for r in outbox.list(status="scheduled", limit=100)] == scheduled
    due = [i for i in scheduled if moments[i] <= "2030-01-01T00:00:05.000Z"]
    assert [r.id for r in outbox.due(now="2030-01-01T00:00:05.000Z", limit=100)] == due
    assert [r.id for r in outbox.due(now="2030-01-01T00:00:05.000Z", limit=3)] == due[:3]
    assert outbox.due(now="2029-12-31T00:00:00.000Z") == []
    outbox.mark_published(pending[:2])
    assert [r.id for r in outbox.list(status="published")] == pending[:2]
    assert [r.id for r in outbox.list(status="pending", limit=100)] == pending[2:]


def test_a_cover_letter_is_an_item_apart_read_with_its_application(uow_factory, recruiter, candidate):
    job = make_job(uow_factory, recruiter)
    application = Application.submit(job=job, candidate=who(candidate), cover_letter="x" * 10_000)
    with uow_factory() as uow:
        uow.applications.add(application)
        uow.commit()
    items = uow_factory().storage.items
    assert "cover_letter" not in items.get(application_key(application.id))
    assert items.get(letter_key(application.id))["text"] == "x" * 10_000
    assert uow_factory().applications.get(application.id).cover_letter == "x" * 10_000
    (listed,) = uow_factory().applications.page(ApplicationQuery(job_id=job.id), limit=5)
    assert (listed.id, listed.cover_letter) == (application.id, None)  # lists carry no letter


def test_a_letter_stored_inline_reads_and_its_next_save_moves_it_out(uow_factory, recruiter, candidate):
    job = make_job(uow_factory, recruiter)
    application = Application.submit(job=job, candidate=who(candidate), cover_letter="Old letter")
    with uow_factory() as uow:
        uow.applications.add(application)
        uow.commit()
    items = uow_factory().storage.items
    inline = {**items.get(application_key(application.id)), "cover_letter": "Old letter"}  # as older releases
    items.transact([Put(inline), Delete(letter_key(application.id))])
    assert uow_factory().applications.get(application.id).cover_letter == "Old letter"

    with uow_factory() as uow:
        current = uow.applications.get(application.id)
        current.change_status(to="screening", actor=who(recruiter), reason=None, job=job)
        uow.applications.save(current)
        uow.commit()
    assert "cover_letter" not in items.get(application_key(application.id))
    assert items.get(letter_key(application.id))["text"] == "Old letter"
    moved = uow_factory().applications.get(application.id)
    assert (moved.status, moved.cover_letter) == ("screening", "Old letter")
