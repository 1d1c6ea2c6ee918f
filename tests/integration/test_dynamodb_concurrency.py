"""Concurrent writers on a real DynamoDB Local: guards and version conditions hold under races."""

from concurrent.futures import ThreadPoolExecutor
from copy import deepcopy
from threading import Barrier

import pytest

from chalicelib.domain.errors import ConcurrencyError, Conflict
from chalicelib.domain.models import Principal
from chalicelib.services import applications, jobs, users
from chalicelib.services.context import context_for
from chalicelib.storage import ApplicationQuery

pytestmark = pytest.mark.parametrize("backend", ["dynamodb-local"], indirect=True)
THREADS = 20


def race(function, arguments):
    """Run function(argument) in THREADS threads released together; 'ok' or the error's code each."""
    barrier = Barrier(len(arguments))

    def one(argument):
        barrier.wait()
        try:
            function(argument)
            return "ok"
        except Conflict as error:  # ConcurrencyError and InvalidTransition are Conflicts (409)
            return error.code

    with ThreadPoolExecutor(len(arguments)) as pool:
        return list(pool.map(one, arguments))


def signup(uow_factory, settings, email, role="candidate") -> Principal:
    user = users.register(
        context_for(uow_factory(), settings), email=email, password="correct horse battery", role=role
    )
    return Principal(user.id, user.role)


@pytest.fixture
def job(uow_factory, settings):
    recruiter = signup(uow_factory, settings, "rita@example.com", "recruiter")
    return recruiter, jobs.create_job(context_for(uow_factory(), settings, recruiter), title="Platform Engineer")


def test_twenty_candidates_apply_at_once_and_all_succeed(uow_factory, settings, job):
    _, posted = job
    candidates = [signup(uow_factory, settings, f"c{i}@example.com") for i in range(THREADS)]
    outcomes = race(
        lambda who: applications.apply(context_for(uow_factory(), settings, who), job_id=posted.id), candidates
    )
    assert outcomes == ["ok"] * THREADS
    with uow_factory() as uow:
        listed = uow.applications.page(ApplicationQuery(job_id=posted.id), limit=100)
    assert sorted(a.candidate_id for a in listed) == sorted(c.user_id for c in candidates)


def test_one_candidate_applying_twenty_times_at_once_gets_one_application(uow_factory, settings, job):
    _, posted = job
    candidate = signup(uow_factory, settings, "carl@example.com")
    outcomes = race(
        lambda _: applications.apply(context_for(uow_factory(), settings, candidate), job_id=posted.id),
        list(range(THREADS)),
    )
    assert outcomes.count("ok") == 1
    assert sorted(set(outcomes) - {"ok"}) == ["already_applied"]
    with uow_factory() as uow:
        listed = uow.applications.page(ApplicationQuery(candidate_id=candidate.user_id), limit=100)
        assert len(listed) == 1
        assert len(uow.applications.history(listed[0].id)) == 1
        submitted = [e for e in uow.outbox.list(status="pending", limit=500) if e.type == "ApplicationSubmitted"]
    assert len(submitted) <= 1  # an event only for the application that was made (delivery may have moved it)


def test_twenty_changes_from_the_same_version_one_wins(uow_factory, settings, job):
    recruiter, posted = job
    candidate = signup(uow_factory, settings, "carl@example.com")
    application = applications.apply(context_for(uow_factory(), settings, candidate), job_id=posted.id)
    with uow_factory() as uow:
        loaded = uow.applications.get(application.id)
    targets = ["screening", "rejected"] * (THREADS // 2)

    def save_copy(to):  # every thread holds the same version-1 copy
        copy = deepcopy(loaded)
        copy.change_status(to=to, actor=recruiter, reason=f"to {to}", job=posted)
        with uow_factory() as uow:
            uow.applications.save(copy)
            uow.commit()

    outcomes = race(save_copy, targets)
    assert outcomes.count("ok") == 1
    assert set(outcomes) - {"ok"} == {ConcurrencyError.code}
    with uow_factory() as uow:
        stored = uow.applications.get(application.id)
        history = uow.applications.history(application.id)
    assert stored.version == 2
    assert [e.to_status for e in history] == ["applied", stored.status]


def test_twenty_status_changes_through_the_service_one_wins(uow_factory, settings, job):
    recruiter, posted = job
    candidate = signup(uow_factory, settings, "carl@example.com")
    application = applications.apply(context_for(uow_factory(), settings, candidate), job_id=posted.id)
    outcomes = race(
        lambda _: applications.change_status(
            context_for(uow_factory(), settings, recruiter),
            application_id=application.id,
            status="screening",
            expected_version=1,
        ),
        list(range(THREADS)),
    )
    assert outcomes.count("ok") == 1
    assert set(outcomes) - {"ok"} <= {"stale_version", "invalid_transition"}
    with uow_factory() as uow:
        history = uow.applications.history(application.id)
    assert [e.to_status for e in history] == ["applied", "screening"]
