"""Conditions a commit holds to, the same on every backend: the accounts of a write's actors exist,
and the job it depends on is as it was read (`require`). A failed condition writes nothing."""

import pytest

from chalicelib.domain.errors import JobDeleted, NotFound, UnknownActor
from chalicelib.domain.ids import new_id
from chalicelib.domain.models import Application, Job, Principal, Role
from chalicelib.storage import ApplicationQuery, JobQuery

from .test_repositories import make_application, make_job, who

NOBODY = Principal("01HZZZZZZZZZZZZZZZZZZZZZZ7", Role.ADMIN)  # a well-formed id without an account


def outbox_size(uow_factory) -> int:
    with uow_factory() as uow:
        return sum(len(uow.outbox.list(status=status, limit=1000)) for status in ("pending", "published", "sent"))


@pytest.fixture
def job(uow_factory, recruiter):
    return make_job(uow_factory, recruiter)


def close(uow_factory, job: Job, **changes) -> None:
    with uow_factory() as uow:
        current = uow.jobs.get(job.id)
        current.update(changes or {"status": "closed"})
        uow.jobs.save(current)
        uow.commit()


def delete(uow_factory, job: Job) -> None:
    with uow_factory() as uow:
        current = uow.jobs.get(job.id)
        current.delete()
        uow.jobs.save(current)
        uow.commit()


# --- The accounts of the actors -------------------------------------------------------------------


def test_a_job_whose_owner_has_no_account_is_refused_and_not_stored(uow_factory):
    before = outbox_size(uow_factory)
    job = Job.publish(owner=Principal(new_id(), Role.RECRUITER), title="Owned by nobody")
    with uow_factory() as uow:
        uow.jobs.add(job)  # staged: the conflict is found at commit
        with pytest.raises(UnknownActor) as raised:
            uow.commit()
    assert (raised.value.code, raised.value.message) == ("invalid_token", "The account of this token does not exist.")
    with uow_factory() as uow:
        assert uow.jobs.get(job.id) is None
        assert uow.jobs.page(JobQuery(), limit=10) == []
    assert outbox_size(uow_factory) == before


def test_an_application_whose_candidate_has_no_account_is_refused_and_not_stored(uow_factory, job):
    ghost = Principal(new_id(), Role.CANDIDATE)
    application = Application.submit(job=job, candidate=ghost, cover_letter=None)
    with uow_factory() as uow:
        uow.applications.add(application)  # staged: the conflict is found at commit
        with pytest.raises(UnknownActor):
            uow.commit()
    with uow_factory() as uow:
        assert uow.applications.get(application.id) is None
        assert uow.applications.history(application.id) == []
        assert not uow.applications.has_applied(ghost.user_id, job.id)
        assert uow.applications.page(ApplicationQuery(job_id=job.id), limit=10) == []


def test_a_move_by_an_actor_without_an_account_is_refused_and_changes_nothing(uow_factory, job, candidate):
    application = make_application(uow_factory, job, candidate)
    before = outbox_size(uow_factory)
    with uow_factory() as uow:
        current = uow.applications.get(application.id)
        current.change_status(to="screening", actor=NOBODY, reason=None, job=job)
        uow.applications.save(current)  # staged: the conflict is found at commit
        with pytest.raises(UnknownActor):
            uow.commit()
    with uow_factory() as uow:
        stored = uow.applications.get(application.id)
        assert (stored.status, stored.version) == ("applied", 1)
        assert [entry.to_status for entry in uow.applications.history(application.id)] == ["applied"]
    assert outbox_size(uow_factory) == before


def test_writes_by_existing_accounts_commit(uow_factory, recruiter, candidate, job):
    application = make_application(uow_factory, job, candidate)
    with uow_factory() as uow:
        current = uow.applications.get(application.id)
        current.change_status(to="screening", actor=who(recruiter), reason=None, job=job)
        uow.users.require(recruiter.id)  # twice in one transaction (also by save): one check
        uow.applications.save(current)
        uow.commit()
    with uow_factory() as uow:
        assert uow.applications.get(application.id).status == "screening"


# --- The job a write depends on ----------------------------------------------------------------


def apply_requiring_open(uow_factory, job: Job, candidate, *, read: Job | None = None) -> Application:
    """What apply does: submit to the job as read, on the condition that it is still open at commit."""
    application = Application.submit(job=read or job, candidate=who(candidate), cover_letter=None)
    with uow_factory() as uow:
        uow.jobs.require(job.id, statuses=("open",), failure=NotFound("Job not found."))
        uow.applications.add(application)
        uow.commit()
    return application


def test_require_passes_on_an_open_job(uow_factory, job, candidate):
    application = apply_requiring_open(uow_factory, job, candidate)
    with uow_factory() as uow:
        assert uow.applications.get(application.id) is not None


@pytest.mark.parametrize("change", ["closed", "draft", "deleted"])
def test_an_apply_read_while_open_is_refused_once_the_job_closed_or_was_deleted(uow_factory, job, candidate, change):
    with uow_factory() as uow:
        as_read = uow.jobs.get(job.id)  # open when read
    if change == "deleted":
        delete(uow_factory, job)
    else:
        close(uow_factory, job, status=change)
    with pytest.raises(NotFound):
        apply_requiring_open(uow_factory, job, candidate, read=as_read)
    with uow_factory() as uow:
        assert uow.applications.page(ApplicationQuery(job_id=job.id), limit=10) == []
        assert not uow.applications.has_applied(candidate.id, job.id)


def test_require_without_statuses_holds_for_a_closed_job_but_not_a_deleted_or_missing_one(
    uow_factory, recruiter, candidate, job
):
    application = make_application(uow_factory, job, candidate)
    close(uow_factory, job)

    def move_requiring_live(job_id: str, to: str):
        with uow_factory() as uow:
            current = uow.applications.get(application.id)
            current.change_status(to=to, actor=who(recruiter), reason=None, job=job)
            uow.jobs.require(job_id, failure=JobDeleted())
            uow.applications.save(current)
            uow.commit()

    move_requiring_live(job.id, "screening")  # closed: its applications still move
    with pytest.raises(JobDeleted):
        move_requiring_live(new_id(), "shortlisted")  # no such job
    delete(uow_factory, job)
    with pytest.raises(JobDeleted) as raised:
        move_requiring_live(job.id, "shortlisted")
    assert raised.value.code == "job_deleted"
    with uow_factory() as uow:
        stored = uow.applications.get(application.id)
        assert (stored.status, stored.version) == ("screening", 2)
        assert [entry.to_status for entry in uow.applications.history(application.id)] == ["applied", "screening"]


def test_an_edit_of_the_job_that_keeps_it_open_does_not_refuse_an_apply(uow_factory, job, candidate):
    with uow_factory() as uow:
        as_read = uow.jobs.get(job.id)
    close(uow_factory, job, title="Renamed, still open")
    application = apply_requiring_open(uow_factory, job, candidate, read=as_read)
    with uow_factory() as uow:
        assert uow.applications.get(application.id) is not None
