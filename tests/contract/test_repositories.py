"""The repository contract, the same on every backend (sqlite, moto, dynamodb-local).

Everything here goes through `uow_factory` and the domain's own constructors, so a backend passes
only by behaving exactly like the others: same errors, same order, same filters, same pages.
"""

import time
from dataclasses import replace

import pytest

from chalicelib.domain.errors import ConcurrencyError, Conflict
from chalicelib.domain.models import Application, Job, Principal, User
from chalicelib.storage import ApplicationQuery, JobQuery
from chalicelib.storage.entities import event_key
from chalicelib.storage.stores import SENT_RETENTION_SECONDS, delivery_key


def make_user(uow_factory, email, role="candidate") -> User:
    user = User.register(email=email, name=email.split("@")[0], role=role, password_hash="hash")
    with uow_factory() as uow:
        uow.users.add(user)
        uow.commit()
    return user


def who(user: User) -> Principal:
    return Principal(user.id, user.role)


def make_job(uow_factory, owner: User, title="Backend Engineer", **fields) -> Job:
    job = Job.publish(owner=who(owner), title=title, **fields)
    with uow_factory() as uow:
        uow.jobs.add(job)
        uow.commit()
    return job


def make_application(uow_factory, job: Job, candidate: User, cover_letter="Hello") -> Application:
    application = Application.submit(job=job, candidate=who(candidate), cover_letter=cover_letter)
    with uow_factory() as uow:
        uow.applications.add(application)
        uow.commit()
    return application


def move(uow_factory, application: Application, to, actor: User, reason=None) -> Application:
    with uow_factory() as uow:
        current = uow.applications.get(application.id)
        current.change_status(to=to, actor=who(actor), reason=reason, job=uow.jobs.get(current.job_id))
        uow.applications.save(current)
        uow.commit()
    return current


def ids(items):
    return [item.id for item in items]


# --- Users ---------------------------------------------------------------------------------------


def test_user_round_trip_and_lookup_by_email(uow_factory):
    user = make_user(uow_factory, "Mixed.Case@Example.com")
    with uow_factory() as uow:
        assert uow.users.get(user.id) == user
        assert uow.users.get_by_email("mixed.case@example.COM") == user
        assert uow.users.get_by_email("  MIXED.CASE@EXAMPLE.COM ") == user
        assert uow.users.get_by_email("nobody@example.com") is None
        assert uow.users.get("01HZZZZZZZZZZZZZZZZZZZZZZZ") is None
    assert user.role == "candidate" and isinstance(uow.users.get(user.id).role, str)


def test_email_is_unique_whatever_its_case(uow_factory):
    first = make_user(uow_factory, "ann@example.com")
    second = User.register(email="ANN@Example.com", name="Other", role="recruiter", password_hash="h")
    with uow_factory() as uow:
        uow.users.add(second)  # staged: the conflict is found at commit
        with pytest.raises(Conflict) as raised:
            uow.commit()
    assert raised.value.code == "email_taken"
    with uow_factory() as uow:
        assert uow.users.get(second.id) is None
        assert uow.users.get_by_email("ann@example.com") == first
        assert [e.type for e in uow.outbox.list(status="pending")].count("UserRegistered") <= 1


def test_nothing_is_written_without_commit(uow_factory, recruiter):
    user = User.register(email="gone@example.com", name="Gone", role="candidate", password_hash="h")
    job = Job.publish(owner=who(recruiter), title="Never")
    with uow_factory() as uow:
        uow.users.add(user)
        uow.jobs.add(job)
    with uow_factory() as uow:
        assert uow.users.get(user.id) is None
        assert uow.users.get_by_email("gone@example.com") is None
        assert uow.jobs.get(job.id) is None
        assert uow.jobs.page(JobQuery(), limit=10) == []


# --- Jobs ----------------------------------------------------------------------------------------


def test_job_round_trip_keeps_every_field(uow_factory, recruiter):
    full = make_job(
        uow_factory,
        recruiter,
        title="Straße Engineer",
        description="",
        location="Berlin",
        department="Infra",
        employment_type="full-time",
        status="draft",
    )
    bare = make_job(uow_factory, recruiter, title="Bare")
    with uow_factory() as uow:
        assert uow.jobs.get(full.id) == full
        assert uow.jobs.get(bare.id) == bare
        assert uow.jobs.get(full.id).description == ""
        assert uow.jobs.get(bare.id).description is None
        assert uow.jobs.get("01HZZZZZZZZZZZZZZZZZZZZZZZ") is None


def test_job_save_is_conditional_on_the_version(uow_factory, recruiter):
    job = make_job(uow_factory, recruiter)
    with uow_factory() as uow:
        first, second = uow.jobs.get(job.id), uow.jobs.get(job.id)
    first.update({"title": "Renamed"})
    with uow_factory() as uow:
        uow.jobs.save(first)
        uow.commit()
    second.update({"title": "Lost update"})
    with uow_factory() as uow:
        uow.jobs.save(second)  # staged: the conflict is found at commit
        with pytest.raises(ConcurrencyError):
            uow.commit()
    with uow_factory() as uow:
        stored = uow.jobs.get(job.id)
    assert (stored.title, stored.version) == ("Renamed", 2)


def test_saving_a_job_that_does_not_exist_is_a_concurrency_error(uow_factory, recruiter):
    job = Job.publish(owner=who(recruiter), title="Ghost")
    job.update({"title": "Ghost 2"})
    with uow_factory() as uow:
        uow.jobs.save(job)  # staged: the conflict is found at commit
        with pytest.raises(ConcurrencyError):
            uow.commit()
        assert uow.jobs.get(job.id) is None


def test_job_pages_are_newest_first_and_continue_before_an_id(uow_factory, recruiter):
    jobs = [make_job(uow_factory, recruiter, title=f"Job {i}") for i in range(7)]
    newest_first = ids(reversed(jobs))
    with uow_factory() as uow:
        assert ids(uow.jobs.page(JobQuery(), limit=3)) == newest_first[:3]
        assert ids(uow.jobs.page(JobQuery(), limit=3, before=newest_first[2])) == newest_first[3:6]
        assert ids(uow.jobs.page(JobQuery(), limit=3, before=newest_first[5])) == newest_first[6:]
        assert ids(uow.jobs.page(JobQuery(), limit=100)) == newest_first
        assert uow.jobs.page(JobQuery(), limit=3, before=newest_first[-1]) == []


def test_job_pages_by_status_and_owner(uow_factory, recruiter):
    other = make_user(uow_factory, "olga@example.com", "recruiter")
    made = {}
    for i, (owner, status) in enumerate(
        [
            (recruiter, "open"),
            (other, "open"),
            (recruiter, "draft"),
            (recruiter, "closed"),
            (other, "draft"),
            (recruiter, "open"),
        ]
    ):
        made[i] = make_job(uow_factory, owner, title=f"Job {i}", status=status)
    with uow_factory() as uow:

        def page(**query):
            return ids(uow.jobs.page(JobQuery(**query), limit=50))

        assert page(statuses=("open",)) == [made[5].id, made[1].id, made[0].id]
        assert page(statuses=("draft", "closed")) == [made[4].id, made[3].id, made[2].id]
        assert page() == ids(made[i] for i in (5, 4, 3, 2, 1, 0))
        assert page(owner_id=recruiter.id) == ids(made[i] for i in (5, 3, 2, 0))
        assert page(owner_id=recruiter.id, statuses=("draft", "closed")) == [made[3].id, made[2].id]
        assert page(owner_id=other.id, statuses=("open",)) == [made[1].id]
        assert page(statuses=("archived",)) == []
        # Merged statuses still page exactly.
        assert ids(uow.jobs.page(JobQuery(owner_id=recruiter.id), limit=2, before=made[3].id)) == [
            made[2].id,
            made[0].id,
        ]
        # Several queries: one page of the jobs any of them matches, each job once (a recruiter's
        # list: their drafts and closed jobs with everyone's open ones; here overlapping on purpose).
        mine_hidden = JobQuery(owner_id=recruiter.id, statuses=("draft", "closed"))
        mine, all_open = JobQuery(owner_id=recruiter.id), JobQuery(statuses=("open",))
        assert ids(uow.jobs.page(mine_hidden, all_open, limit=50)) == ids(made[i] for i in (5, 3, 2, 1, 0))
        assert ids(uow.jobs.page(mine, all_open, limit=3)) == ids(made[i] for i in (5, 3, 2))
        assert ids(uow.jobs.page(mine, all_open, limit=3, before=made[2].id)) == ids(made[i] for i in (1, 0))


def test_deleted_jobs_leave_every_list_but_can_still_be_read(uow_factory, recruiter):
    kept = make_job(uow_factory, recruiter, title="Kept")
    gone = make_job(uow_factory, recruiter, title="Gone", location="Berlin")
    with uow_factory() as uow:
        job = uow.jobs.get(gone.id)
        job.delete()
        uow.jobs.save(job)
        uow.commit()
    with uow_factory() as uow:
        assert ids(uow.jobs.page(JobQuery(), limit=10)) == [kept.id]
        assert ids(uow.jobs.page(JobQuery(owner_id=recruiter.id), limit=10)) == [kept.id]
        assert uow.jobs.page(JobQuery(location="Berlin"), limit=10) == []
        stored = uow.jobs.get(gone.id)
    assert stored.deleted_at is not None and stored.version == 2


def test_a_status_change_moves_the_job_between_lists(uow_factory, recruiter):
    job = make_job(uow_factory, recruiter, status="draft")
    with uow_factory() as uow:
        current = uow.jobs.get(job.id)
        current.update({"status": "open"})
        uow.jobs.save(current)
        uow.commit()
    with uow_factory() as uow:
        assert ids(uow.jobs.page(JobQuery(statuses=("open",)), limit=10)) == [job.id]
        assert uow.jobs.page(JobQuery(statuses=("draft",)), limit=10) == []
        assert ids(uow.jobs.page(JobQuery(owner_id=recruiter.id, statuses=("open",)), limit=10)) == [job.id]


def test_job_filters_no_index_serves_give_exact_pages(uow_factory, recruiter):
    """Sparse matches spread over many index pages: every page is still exactly right."""
    jobs = [
        make_job(
            uow_factory,
            recruiter,
            title=f"{'Data' if i % 3 == 0 else 'Web'} Engineer {i}",
            location="Berlin" if i % 5 == 0 else "Lisbon",
            department="Eng" if i % 2 else "Ops",
        )
        for i in range(40)
    ]
    with uow_factory() as uow:

        def expect(predicate):
            return [job.id for job in reversed(jobs) if predicate(job)]

        def all_pages(query, limit):
            found, before = [], None
            while True:
                page = uow.jobs.page(query, limit=limit, before=before)
                found += ids(page)
                if len(page) < limit:
                    return found
                before = page[-1].id

        berlin = expect(lambda j: j.location == "Berlin")
        assert ids(uow.jobs.page(JobQuery(location="Berlin"), limit=3)) == berlin[:3]
        assert all_pages(JobQuery(location="Berlin"), 3) == berlin
        assert all_pages(JobQuery(location="Berlin", department="Ops"), 2) == expect(
            lambda j: j.location == "Berlin" and j.department == "Ops"
        )
        assert all_pages(JobQuery(q="dATA"), 4) == expect(lambda j: "data" in j.title.lower())
        assert all_pages(JobQuery(q="engineer 1", statuses=("open",)), 5) == expect(
            lambda j: "engineer 1" in j.title.lower()
        )
        assert ids(uow.jobs.page(JobQuery(location="bERLIN"), limit=5)) == berlin[:5]  # whole value, any case
        assert uow.jobs.page(JobQuery(location="berl"), limit=5) == []
        assert uow.jobs.page(JobQuery(q="nothing like it"), limit=5) == []
        assert len(uow.jobs.page(JobQuery(q=""), limit=50)) == 40  # an empty q filters nothing


def test_q_is_the_casefolded_beginnings_of_title_words(uow_factory, recruiter):
    street = make_job(uow_factory, recruiter, title="Straße Planner")
    make_job(uow_factory, recruiter, title="Gardener")
    with uow_factory() as uow:
        assert ids(uow.jobs.page(JobQuery(q="STRASSE"), limit=5)) == [street.id]
        assert ids(uow.jobs.page(JobQuery(q="pl str"), limit=5)) == [street.id]
        assert uow.jobs.page(JobQuery(q="e pl"), limit=5) == []  # "e" begins no word of it
    with uow_factory() as uow:  # the key follows a renamed title
        job = uow.jobs.get(street.id)
        job.update({"title": "Road Planner"})
        uow.jobs.save(job)
        uow.commit()
    with uow_factory() as uow:
        assert uow.jobs.page(JobQuery(q="straße"), limit=5) == []
        assert ids(uow.jobs.page(JobQuery(q="ROAD"), limit=5)) == [street.id]


# --- Applications and history ------------------------------------------------------------------


def test_application_round_trip_with_its_first_history_entry(uow_factory, recruiter, candidate):
    job = make_job(uow_factory, recruiter)
    application = make_application(uow_factory, job, candidate, cover_letter=None)
    with uow_factory() as uow:
        assert uow.applications.get(application.id) == application
        history = uow.applications.history(application.id)
        assert uow.applications.get(job.id) is None  # another type's id is no application
    assert [(e.from_status, e.to_status, e.actor_id) for e in history] == [(None, "applied", candidate.id)]
    assert history[0].application_id == application.id


def test_one_application_per_candidate_per_job(uow_factory, recruiter, candidate):
    job = make_job(uow_factory, recruiter)
    first = make_application(uow_factory, job, candidate)
    second = Application.submit(job=job, candidate=who(candidate), cover_letter="Again")
    with uow_factory() as uow:
        uow.applications.add(second)  # staged: the conflict is found at commit
        with pytest.raises(Conflict) as raised:
            uow.commit()
    assert raised.value.code == "already_applied"
    with uow_factory() as uow:
        assert uow.applications.get(second.id) is None
        assert uow.applications.history(second.id) == []
        assert ids(uow.applications.page(ApplicationQuery(job_id=job.id), limit=10)) == [first.id]
    # Another job, or another candidate, is fine.
    make_application(uow_factory, make_job(uow_factory, recruiter, title="Other"), candidate)
    make_application(uow_factory, job, make_user(uow_factory, "cleo@example.com"))


def test_a_stale_application_write_is_refused_and_leaves_no_history(uow_factory, recruiter, candidate):
    application = make_application(uow_factory, make_job(uow_factory, recruiter), candidate)
    with uow_factory() as uow:
        first, second = uow.applications.get(application.id), uow.applications.get(application.id)
        job = uow.jobs.get(application.job_id)
    first.change_status(to="screening", actor=who(recruiter), reason="good", job=job)
    second.change_status(to="rejected", actor=who(recruiter), reason="bad", job=job)
    with uow_factory() as uow:
        uow.applications.save(first)
        uow.commit()
    with uow_factory() as uow:
        uow.applications.save(second)  # staged: the conflict is found at commit
        with pytest.raises(ConcurrencyError):
            uow.commit()
    with uow_factory() as uow:
        stored = uow.applications.get(application.id)
        history = uow.applications.history(application.id)
    assert (stored.status, stored.version) == ("screening", 2)
    assert [(e.from_status, e.to_status, e.reason) for e in history] == [
        (None, "applied", None),
        ("applied", "screening", "good"),
    ]


def test_history_is_every_change_oldest_first(uow_factory, recruiter, candidate):
    application = make_application(uow_factory, make_job(uow_factory, recruiter), candidate)
    for status in ("screening", "shortlisted", "selected", "hired"):
        move(uow_factory, application, status, recruiter, reason=f"to {status}")
    with uow_factory() as uow:
        history = uow.applications.history(application.id)
        stored = uow.applications.get(application.id)
    assert [e.to_status for e in history] == ["applied", "screening", "shortlisted", "selected", "hired"]
    assert [e.reason for e in history[1:]] == ["to screening", "to shortlisted", "to selected", "to hired"]
    assert ids(history) == sorted(ids(history))
    assert (stored.status, stored.version) == ("hired", 5)


def test_history_pages_after_an_entry(uow_factory, recruiter, candidate):
    application = make_application(uow_factory, make_job(uow_factory, recruiter), candidate)
    for status in ("screening", "shortlisted", "selected", "hired"):
        move(uow_factory, application, status, recruiter)
    with uow_factory() as uow:
        every = ids(uow.applications.history(application.id))
        assert ids(uow.applications.history(application.id, limit=2)) == every[:2]
        assert ids(uow.applications.history(application.id, limit=2, after=every[1])) == every[2:4]
        assert ids(uow.applications.history(application.id, after=every[3])) == every[4:]
        assert uow.applications.history(application.id, limit=3, after=every[4]) == []
        assert uow.applications.history(application.id, limit=0) == []


def test_users_and_jobs_are_read_many_at_once(uow_factory, recruiter, candidate):
    jobs = [make_job(uow_factory, recruiter, title=f"Job {n}") for n in range(3)]
    missing = "01HZZZZZZZZZZZZZZZZZZZZZZZ"
    with uow_factory() as uow:
        assert uow.users.get_many([recruiter.id, candidate.id, missing, candidate.id]) == {
            recruiter.id: recruiter,
            candidate.id: candidate,
        }
        assert uow.jobs.get_many([job.id for job in jobs] + [missing]) == {job.id: job for job in jobs}
        assert uow.users.get_many([]) == {} and uow.jobs.get_many([]) == {}


def test_has_applied_tells_whether_a_candidate_applied_to_a_job(uow_factory, recruiter, candidate):
    applied, other = make_job(uow_factory, recruiter), make_job(uow_factory, recruiter)
    make_application(uow_factory, applied, candidate)
    with uow_factory() as uow:
        assert uow.applications.has_applied(candidate.id, applied.id)
        assert not uow.applications.has_applied(candidate.id, other.id)
        assert not uow.applications.has_applied(recruiter.id, applied.id)


def test_application_pages_by_every_index(uow_factory, recruiter, candidate):
    other_recruiter = make_user(uow_factory, "olga@example.com", "recruiter")
    other_candidate = make_user(uow_factory, "cleo@example.com")
    job_a = make_job(uow_factory, recruiter, title="A")
    job_b = make_job(uow_factory, recruiter, title="B")
    job_c = make_job(uow_factory, other_recruiter, title="C")
    apps = {
        "carl-a": make_application(uow_factory, job_a, candidate),
        "cleo-a": make_application(uow_factory, job_a, other_candidate),
        "carl-b": make_application(uow_factory, job_b, candidate),
        "carl-c": make_application(uow_factory, job_c, candidate),
        "cleo-c": make_application(uow_factory, job_c, other_candidate),
    }
    move(uow_factory, apps["cleo-a"], "screening", recruiter)
    move(uow_factory, apps["carl-b"], "rejected", recruiter)
    move(uow_factory, apps["cleo-c"], "withdrawn", other_candidate)

    def expect(*names):
        return sorted((apps[name].id for name in names), reverse=True)

    with uow_factory() as uow:

        def page(limit=50, before=None, **query):
            return ids(uow.applications.page(ApplicationQuery(**query), limit=limit, before=before))

        assert page(job_id=job_a.id) == expect("carl-a", "cleo-a")
        assert page(job_id=job_a.id, status="screening") == expect("cleo-a")
        assert page(job_id=job_a.id, status="hired") == []
        assert page(candidate_id=candidate.id) == expect("carl-a", "carl-b", "carl-c")
        assert page(candidate_id=candidate.id, status="rejected") == expect("carl-b")
        assert page(candidate_id=candidate.id, job_id=job_c.id) == expect("carl-c")
        assert page(candidate_id=candidate.id, job_id=job_c.id, status="screening") == []
        # A team member's jobs: a partition per job, merged (a recruiter's list since teams).
        assert page(job_ids=(job_a.id, job_b.id)) == expect("carl-a", "cleo-a", "carl-b")
        assert page(job_ids=(job_a.id, job_b.id), status="applied") == expect("carl-a")
        assert page(job_ids=(job_c.id,), status="withdrawn") == expect("cleo-c")
        assert page(job_ids=(job_b.id, job_c.id), status="applied") == expect("carl-c")
        assert page(status="applied") == expect("carl-a", "carl-c")
        assert page() == expect(*apps)
        # Pages continue before the last id, on merged and single indexes alike.
        everything = expect(*apps)
        assert page(limit=2) == everything[:2]
        assert page(limit=2, before=everything[1]) == everything[2:4]
        assert page(limit=2, before=everything[3]) == everything[4:]
        mine = expect("carl-a", "carl-b", "carl-c")
        assert page(limit=1, before=mine[0], candidate_id=candidate.id) == mine[1:2]


# --- Outbox and the delivery ledger ---------------------------------------------------------------


def test_committed_events_land_in_the_outbox_oldest_first(uow_factory, recruiter, candidate):
    job = make_job(uow_factory, recruiter)
    application = make_application(uow_factory, job, candidate)
    with uow_factory() as uow:
        events = {record.type: record for record in uow.outbox.list(status="pending")}
        pending = uow.outbox.list(status="pending")
        assert ids(pending) == sorted(ids(pending))
        assert [r.type for r in pending] == ["UserRegistered", "UserRegistered", "ApplicationSubmitted"]
        assert ids(uow.outbox.list(status="pending", limit=2)) == ids(pending)[:2]
        assert uow.outbox.list(status="sent") == []
    submitted = events["ApplicationSubmitted"]
    assert submitted.payload["application_id"] == application.id
    assert submitted.payload["job_id"] == job.id
    assert (submitted.status, submitted.attempts, submitted.last_error) == ("pending", 0, None)
    with uow_factory() as uow:
        assert uow.outbox.get(submitted.id) == submitted
        assert uow.outbox.get("01HZZZZZZZZZZZZZZZZZZZZZZZ") is None


def test_marks_take_effect_at_once_outside_any_unit_of_work(uow_factory, candidate):
    with uow_factory() as uow:
        event = uow.outbox.list(status="pending")[0]
        uow.outbox.mark(event.id, status="published")
        uow.rollback()  # a mark is no part of a unit of work: nothing to roll back
    with uow_factory() as uow:
        assert uow.outbox.get(event.id).status == "published"
        uow.outbox.mark(event.id, status="failed", error="smtp down", attempted=True)
        uow.outbox.mark("01HZZZZZZZZZZZZZZZZZZZZZZZ", status="sent")  # unknown: nothing happens
    with uow_factory() as uow:
        failed = uow.outbox.get(event.id)
        failed_item = uow.storage.items.get(event_key(event.id))
        assert (failed.status, failed.last_error, failed.attempts) == ("failed", "smtp down", 1)
        assert ids(uow.outbox.list(status="failed")) == [event.id]
        assert uow.outbox.list(status="pending") == []
        assert uow.outbox.get("01HZZZZZZZZZZZZZZZZZZZZZZZ") is None
        uow.outbox.mark(event.id, status="sent", attempted=True)
    with uow_factory() as uow:
        sent = uow.outbox.get(event.id)
        stored = uow.storage.items.get(event_key(event.id))
    assert (sent.status, sent.last_error, sent.attempts) == ("sent", None, 2)
    assert sent.updated_at >= failed.updated_at
    # A sent event expires (the store's TTL) after the retention; a failed one is kept for triage.
    assert abs(stored["ttl"] - (time.time() + SENT_RETENTION_SECONDS)) < 60
    assert "ttl" not in failed_item


def test_a_completed_delivery_record_expires_with_the_retention(uow_factory):
    with uow_factory() as uow:
        assert uow.outbox.claim_delivery("01HZZZZZZZZZZZZZZZZZZZZZZZ", "carl@example.com", lease_seconds=60)
        claimed = uow.storage.items.get(delivery_key("01HZZZZZZZZZZZZZZZZZZZZZZZ", "carl@example.com"))
        uow.outbox.complete_delivery("01HZZZZZZZZZZZZZZZZZZZZZZZ", "carl@example.com")
        done = uow.storage.items.get(delivery_key("01HZZZZZZZZZZZZZZZZZZZZZZZ", "carl@example.com"))
        assert not uow.outbox.claim_delivery("01HZZZZZZZZZZZZZZZZZZZZZZZ", "carl@example.com", lease_seconds=60)
    assert done["state"] == "sent" and abs(done["ttl"] - (time.time() + SENT_RETENTION_SECONDS)) < 60
    assert "ttl" not in claimed  # a claim being sent is kept until it is done (or taken over)


def test_mark_published_moves_only_pending_events(uow_factory):
    for name in ("a", "b", "c"):
        make_user(uow_factory, f"{name}@example.com")
    with uow_factory() as uow:
        a, b, c = uow.outbox.list(status="pending")
        uow.outbox.mark(b.id, status="sent")
        uow.commit()
    with uow_factory() as uow:
        uow.outbox.mark_published([a.id, b.id, "01HZZZZZZZZZZZZZZZZZZZZZZZ"])  # at once, no commit
    with uow_factory() as uow:
        assert uow.outbox.get(a.id).status == "published"
        assert uow.outbox.get(b.id).status == "sent"
        assert ids(uow.outbox.list(status="pending")) == [c.id]
        assert ids(uow.outbox.list(status="published")) == [a.id]
        uow.outbox.mark_published([])


def test_the_delivery_ledger_sends_each_email_once(uow_factory):
    with uow_factory() as uow:
        ledger = uow.outbox
        assert ledger.delivery_state("E1", "a@example.com") is None
        assert ledger.claim_delivery("E1", "a@example.com", lease_seconds=60) is True
        assert ledger.delivery_state("E1", "a@example.com") == "sending"
        assert ledger.claim_delivery("E1", "a@example.com", lease_seconds=60) is False  # held
        assert ledger.claim_delivery("E1", "b@example.com", lease_seconds=60) is True  # other recipient
        ledger.release_delivery("E1", "b@example.com")
        assert ledger.delivery_state("E1", "b@example.com") is None
        assert ledger.claim_delivery("E1", "b@example.com", lease_seconds=60) is True  # released: again
        ledger.complete_delivery("E1", "a@example.com")
        assert ledger.delivery_state("E1", "a@example.com") == "sent"
        assert ledger.claim_delivery("E1", "a@example.com", lease_seconds=60) is False  # sent: never again
        ledger.release_delivery("E1", "a@example.com")  # a release never undoes a sent email
        assert ledger.delivery_state("E1", "a@example.com") == "sent"
        assert ledger.claim_delivery("E1", "a@example.com", lease_seconds=0) is False
        ledger.complete_delivery("E9", "nobody@example.com")  # never claimed: nothing recorded
        ledger.release_delivery("E9", "nobody@example.com")
        assert ledger.delivery_state("E9", "nobody@example.com") is None
    # Ledger writes are immediate: a new unit of work sees them without any commit.
    with uow_factory() as uow:
        assert uow.outbox.delivery_state("E1", "b@example.com") == "sending"


def test_an_expired_lease_can_be_claimed_again(uow_factory):
    with uow_factory() as uow:
        assert uow.outbox.claim_delivery("E2", "a@example.com", lease_seconds=-1) is True  # already expired
        assert uow.outbox.claim_delivery("E2", "a@example.com", lease_seconds=60) is True
        assert uow.outbox.claim_delivery("E2", "a@example.com", lease_seconds=60) is False


# --- Mixed types on shared indexes ----------------------------------------------------------------


def test_lists_return_only_their_own_type_when_everything_shares_the_table(uow_factory, recruiter, candidate):
    """Jobs, applications, history, guards and events share partitions and GSIs on DynamoDB."""
    jobs = [make_job(uow_factory, recruiter, title=f"J{i}", status=("open", "draft")[i % 2]) for i in range(4)]
    applications = [make_application(uow_factory, job, candidate) for job in jobs if job.status == "open"]
    move(uow_factory, applications[0], "screening", recruiter)
    with uow_factory() as uow:
        listed_jobs = uow.jobs.page(JobQuery(), limit=50)
        owned = uow.jobs.page(JobQuery(owner_id=recruiter.id), limit=50)
        listed_apps = uow.applications.page(ApplicationQuery(), limit=50)
        by_job = uow.applications.page(ApplicationQuery(job_id=jobs[0].id), limit=50)
        history = uow.applications.history(applications[0].id)
        events = uow.outbox.list(status="pending", limit=50)
    assert all(isinstance(job, Job) for job in listed_jobs + owned)
    assert sorted(ids(listed_jobs)) == sorted(ids(jobs)) == sorted(ids(owned))
    assert all(isinstance(app, Application) for app in listed_apps + by_job)
    assert sorted(ids(listed_apps)) == sorted(ids(applications))
    assert ids(by_job) == [applications[0].id]
    assert [e.to_status for e in history] == ["applied", "screening"]
    assert {e.type for e in events} == {"UserRegistered", "ApplicationSubmitted", "ApplicationStatusChanged"}


def test_an_entity_copy_is_not_the_stored_one(uow_factory, recruiter):
    """Repositories hand out copies: changing one in memory writes nothing."""
    job = make_job(uow_factory, recruiter)
    with uow_factory() as uow:
        loaded = uow.jobs.get(job.id)
        loaded.title = "Changed in memory only"
    with uow_factory() as uow:
        assert uow.jobs.get(job.id) == replace(job)
