"""Twenty clients at once, released together by a barrier, on SQLite and on DynamoDB Local.

Each client calls the app the way `chalice local` serves it: its request on a thread of its own,
through Chalice's LocalGateway. A write without If-Match is decided again on a fresh read when
another one committed first (all of them land); with If-Match exactly one wins and the others get
412. An apply or a move depends on its job's state at its commit, not at its read.
"""

import threading
from concurrent.futures import ThreadPoolExecutor, wait
from functools import partial

import pytest

from chalicelib.domain.models import Application
from chalicelib.storage import ApplicationQuery

from .helpers import Actor, Gateway, race

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "dynamodb-local"], indirect=True)
CLIENTS = 20


@pytest.fixture
def gateway(api):
    return Gateway()


def statuses(outcomes) -> list[int]:
    return sorted(status for status, _ in outcomes)


def codes(outcomes, status: int) -> set[str]:
    return {body["error"]["code"] for code, body in outcomes if code == status}


def applications_of(uow_factory, job_id: str) -> set[str]:
    with uow_factory() as uow:
        return {a.id for a in uow.applications.page(ApplicationQuery(job_id=job_id), limit=100)}


def move(gateway, application_id: str, token: str, status: str, headers=None):
    return gateway.call(
        "POST",
        "/applications/change-status",
        {"application_id": application_id, "status": status},
        token=token,
        headers=headers,
    )


# --- Versioned writes (item 8) -------------------------------------------------------------------


def test_twenty_updates_without_if_match_all_land_one_after_another(api, gateway, recruiter, job):
    outcomes = race(
        *(
            partial(gateway.call, "PUT", f"/jobs/{job['id']}", {"title": f"Title {i}"}, token=recruiter.token)
            for i in range(CLIENTS)
        )
    )
    assert statuses(outcomes) == [200] * CLIENTS, outcomes
    # Each committed on the version before it, with its own change: none lost, none merged.
    assert sorted(body["job"]["version"] for _, body in outcomes) == list(range(2, CLIENTS + 2))
    assert [body["job"]["title"] for _, body in outcomes] == [f"Title {i}" for i in range(CLIENTS)]
    last = max((body["job"] for _, body in outcomes), key=lambda changed: changed["version"])
    reply = api.get(f"/jobs/{job['id']}", token=recruiter.token)
    assert (reply.body["job"]["version"], reply.body["job"]["title"], reply.headers["etag"]) == (
        CLIENTS + 1,
        last["title"],
        f'"{CLIENTS + 1}"',
    )


def test_twenty_updates_with_the_same_if_match_one_wins_the_rest_412(api, gateway, recruiter, job):
    outcomes = race(
        *(
            partial(
                gateway.call,
                "PUT",
                f"/jobs/{job['id']}",
                {"title": f"Title {i}"},
                token=recruiter.token,
                headers={"if-match": '"1"'},
            )
            for i in range(CLIENTS)
        )
    )
    assert statuses(outcomes) == [200] + [412] * (CLIENTS - 1), outcomes
    assert codes(outcomes, 412) == {"precondition_failed"}
    [winner] = [body["job"] for status, body in outcomes if status == 200]
    stored = api.get(f"/jobs/{job['id']}", token=recruiter.token).body["job"]
    assert (stored["version"], stored["title"]) == (2, winner["title"])


def test_twenty_identical_moves_one_lands_the_rest_find_it_moved(api, gateway, recruiter, candidate, application):
    outcomes = race(*(partial(move, gateway, application["id"], recruiter.token, "screening") for _ in range(CLIENTS)))
    # A move decided again on a fresh read finds 'screening' already done: an invalid move, not a stale one.
    assert statuses(outcomes) == [200] + [409] * (CLIENTS - 1), outcomes
    assert codes(outcomes, 409) == {"invalid_transition"}
    history = api.get(f"/applications/{application['id']}/history", token=candidate.token).body["items"]
    assert [entry["to_status"] for entry in history] == ["applied", "screening"]


def test_twenty_moves_with_the_same_if_match_one_wins_the_rest_412(api, gateway, recruiter, candidate, application):
    targets = ["screening", "rejected"] * (CLIENTS // 2)
    outcomes = race(
        *(
            partial(move, gateway, application["id"], recruiter.token, target, headers={"if-match": '"1"'})
            for target in targets
        )
    )
    assert statuses(outcomes) == [200] + [412] * (CLIENTS - 1), outcomes
    [winner] = [body["application"] for status, body in outcomes if status == 200]
    stored = api.get(f"/applications/{application['id']}", token=candidate.token).body["application"]
    assert (stored["status"], stored["version"]) == (winner["status"], 2)


def test_twenty_candidates_apply_at_once_then_their_twenty_applications_move_at_once(
    api, gateway, uow_factory, recruiter, job
):
    """Every apply checks the same job, every move the same recruiter's account: none may fail for it."""
    candidates = [Actor(*api.signup(f"c{i}@example.com")) for i in range(CLIENTS)]
    applied = race(
        *(
            partial(gateway.call, "POST", "/applications/create", {"job_id": job["id"]}, token=c.token)
            for c in candidates
        )
    )
    assert statuses(applied) == [201] * CLIENTS, applied
    ids = [body["application"]["id"] for _, body in applied]
    assert applications_of(uow_factory, job["id"]) == set(ids)

    moved = race(*(partial(move, gateway, application_id, recruiter.token, "screening") for application_id in ids))
    assert statuses(moved) == [200] * CLIENTS, moved
    with uow_factory() as uow:
        screening = uow.applications.page(ApplicationQuery(job_id=job["id"], status="screening"), limit=100)
    assert {a.id for a in screening} == set(ids)


# --- An apply or a move depends on the job at its commit (items 9 and 24) -------------------------


@pytest.mark.parametrize("change", ["close", "delete"])
def test_twenty_applies_racing_the_jobs_close_land_before_it_or_not_at_all(
    api, gateway, uow_factory, recruiter, job, change
):
    candidates = [Actor(*api.signup(f"c{i}@example.com")) for i in range(CLIENTS)]
    if change == "close":
        ending = partial(gateway.call, "PUT", f"/jobs/{job['id']}", {"status": "closed"}, token=recruiter.token)
    else:
        ending = partial(gateway.call, "DELETE", f"/jobs/{job['id']}", token=recruiter.token)
    *applied, (ended, _) = race(
        *(
            partial(gateway.call, "POST", "/applications/create", {"job_id": job["id"]}, token=c.token)
            for c in candidates
        ),
        ending,
    )

    assert ended == (200 if change == "close" else 204)
    assert set(statuses(applied)) <= {201, 404}, applied
    assert codes(applied, 404) <= {"not_found"}
    # What was answered 201 is what is stored, and nothing else; once ended, no apply lands.
    assert applications_of(uow_factory, job["id"]) == {body["application"]["id"] for s, body in applied if s == 201}
    late = gateway.call("POST", "/applications/create", {"job_id": job["id"]}, token=Actor(*api.signup("l@x.io")).token)
    assert late[0] == 404


def pause_after(monkeypatch, owner, name: str, *, classmethod_: bool = False):
    """Make owner.name stop after it ran, until released: (has run, release) events."""
    ran, release = threading.Event(), threading.Event()
    original = getattr(owner, name).__func__ if classmethod_ else getattr(owner, name)

    def paused(*args, **kwargs):
        result = original(*args, **kwargs)
        ran.set()
        assert release.wait(10), "never released"
        return result

    monkeypatch.setattr(owner, name, classmethod(paused) if classmethod_ else paused)
    return ran, release


@pytest.mark.parametrize("change", ["close", "delete"])
def test_an_apply_that_read_the_job_open_is_refused_once_the_job_closed(
    api, gateway, monkeypatch, uow_factory, recruiter, candidate, job, change
):
    read, release = pause_after(monkeypatch, Application, "submit", classmethod_=True)
    with ThreadPoolExecutor(1) as pool:
        applying = pool.submit(
            gateway.call, "POST", "/applications/create", {"job_id": job["id"]}, token=candidate.token
        )
        assert read.wait(10)  # it read the job open, and decided to apply
        if change == "close":
            assert gateway.call("PUT", f"/jobs/{job['id']}", {"status": "closed"}, token=recruiter.token)[0] == 200
        else:
            assert gateway.call("DELETE", f"/jobs/{job['id']}", token=recruiter.token)[0] == 204
        release.set()
        status, body = applying.result()
    assert (status, body["error"]["code"]) == (404, "not_found")
    assert applications_of(uow_factory, job["id"]) == set()


def test_a_move_racing_the_jobs_deletion_lands_before_it_or_is_refused(
    api, gateway, monkeypatch, recruiter, candidate, job, application
):
    decided, release = pause_after(monkeypatch, Application, "change_status")
    with ThreadPoolExecutor(2) as pool:
        moving = pool.submit(move, gateway, application["id"], recruiter.token, "screening")
        assert decided.wait(10)  # it read the job live, and moved the application
        deleting = pool.submit(gateway.call, "DELETE", f"/jobs/{job['id']}", token=recruiter.token)
        deleted_meanwhile = bool(wait([deleting], timeout=1.0).done)
        release.set()
        (moved, body), (deleted, _) = moving.result(), deleting.result()
    assert deleted == 204
    stored = api.get(f"/applications/{application['id']}", token=candidate.token).body["application"]
    # Every backend decides at commit: the delete committed first, the move's condition on the job failed.
    assert (deleted_meanwhile, moved, body["error"]["code"], stored["status"]) == (True, 409, "job_deleted", "applied")
