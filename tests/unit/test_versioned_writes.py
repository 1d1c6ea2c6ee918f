"""The one retry of every versioned write: decided again on a conflict without If-Match, 412 with it."""

import pytest

from chalicelib.domain.errors import ConcurrencyError, NotFound, PreconditionFailed
from chalicelib.domain.models import Principal, Role
from chalicelib.services import applications, jobs, users, versions
from chalicelib.services.context import context_for
from chalicelib.services.versions import WRITE_ATTEMPTS, versioned_write


@pytest.fixture(autouse=True)
def pauses(monkeypatch):
    taken = []
    monkeypatch.setattr(versions.time, "sleep", taken.append)
    return taken


def failing(times: int, error=ConcurrencyError):
    calls = []

    def write():
        calls.append(1)
        if len(calls) <= times:
            raise error("changed meanwhile")
        return len(calls)

    return write, calls


def test_a_conflict_without_if_match_is_decided_again_after_a_growing_jittered_pause(pauses):
    write, _ = failing(3)
    assert versioned_write(write) == 4
    assert len(pauses) == 3 and all(0 <= pause <= versions.RETRY_PAUSE_MAX for pause in pauses)


def test_the_attempts_are_bounded_and_the_last_conflict_is_the_callers(pauses):
    write, calls = failing(WRITE_ATTEMPTS)
    with pytest.raises(ConcurrencyError):
        versioned_write(write)
    assert len(calls) == WRITE_ATTEMPTS


def test_with_if_match_a_conflict_is_412_at_once():
    write, calls = failing(1)
    with pytest.raises(PreconditionFailed):
        versioned_write(write, if_match=1)
    assert len(calls) == 1


@pytest.mark.parametrize("error", [NotFound, PreconditionFailed])
def test_other_refusals_are_not_tried_again(error):
    write, calls = failing(1, error)
    with pytest.raises(error):
        versioned_write(write)
    assert len(calls) == 1


def test_without_retry_a_conflict_stays_409():
    write, calls = failing(1)
    with pytest.raises(ConcurrencyError):
        versioned_write(write, retry=False)
    assert len(calls) == 1


def signup(uow, settings, email, role) -> Principal:
    user = users.register(context_for(uow(), settings), email=email, password="correct horse battery", role=role)
    return Principal(user.id, user.role)


def someone_else_first(monkeypatch, repository, change):
    """Between this write's read and its save, another writer commits `change()` (once)."""
    save, raced = repository.save, []

    def save_after_the_other(self, entity):
        if not raced:
            raced.append(True)
            change()
        return save(self, entity)

    monkeypatch.setattr(repository, "save", save_after_the_other)


def test_an_update_that_lost_a_race_is_decided_again_on_the_winners_version(uow, settings, store, monkeypatch):
    rita = signup(uow, settings, "rita@example.com", Role.RECRUITER)
    job = jobs.create_job(context_for(uow(), settings, rita), title="Engineer")
    someone_else_first(
        monkeypatch,
        type(uow().jobs),
        lambda: jobs.update_job(context_for(uow(), settings, rita), job.id, {"location": "Berlin"}),
    )
    updated = jobs.update_job(context_for(uow(), settings, rita), job.id, {"title": "Lead"})
    assert (updated.version, updated.title, updated.location) == (3, "Lead", "Berlin")
    assert (store.jobs[job.id].version, store.jobs[job.id].title) == (3, "Lead")


@pytest.mark.parametrize("held_to", ["if_match", "expected_version", None])
def test_a_move_that_lost_a_race_is_tried_again_only_when_held_to_no_version(
    uow, settings, store, monkeypatch, held_to
):
    rita = signup(uow, settings, "rita@example.com", Role.RECRUITER)
    carl = signup(uow, settings, "carl@example.com", Role.CANDIDATE)
    job = jobs.create_job(context_for(uow(), settings, rita), title="Engineer")
    application = applications.apply(context_for(uow(), settings, carl), job_id=job.id)
    someone_else_first(
        monkeypatch,
        type(uow().applications),
        lambda: applications.change_status(
            context_for(uow(), settings, rita), application_id=application.id, status="screening"
        ),
    )
    version = {held_to: 1} if held_to else {}
    if held_to is None:
        moved = applications.change_status(
            context_for(uow(), settings, rita), application_id=application.id, status="rejected"
        )
        assert (moved.status, moved.version) == ("rejected", 3)  # decided again from 'screening'
        history = sorted((e for e in store.history.values() if e.application_id == application.id), key=lambda e: e.id)
        assert [entry.to_status for entry in history] == ["applied", "screening", "rejected"]
    else:
        with pytest.raises(PreconditionFailed if held_to == "if_match" else ConcurrencyError):
            applications.change_status(
                context_for(uow(), settings, rita), application_id=application.id, status="rejected", **version
            )
        assert (store.applications[application.id].status, store.applications[application.id].version) == (
            "screening",
            2,
        )
