"""A failure after the entity write leaves nothing behind: no row, no history entry, no outbox event.

Runs on every backend (through `api` and `uow_factory`). Two injection points, both after the
use case has written its entity to the unit of work:
- "event serialisation": turning the outbox event into its stored payload raises;
- "commit": the driver's transaction (what commit hands everything to) raises.
The request answers 500 in the one error shape without a trace of the failure, storage holds
what it held before, and the same request succeeds once the fault is gone.
"""

import pytest

from chalicelib.domain import events as domain_events
from chalicelib.domain import models
from chalicelib.storage import ApplicationQuery
from tests.api.helpers import assert_error

PASSWORD = "correct horse battery"
FAULT = "injected fault: disk on fire"
OUTBOX_STATUSES = ("pending", "published", "sent", "failed")


@pytest.fixture(params=["event-serialisation", "commit"])
def inject_fault(request, uow_factory):
    """Call it to make the next commits fail at the chosen point; .undo() heals storage again.

    Its own MonkeyPatch, so undoing the fault leaves the backend fixture's settings alone.
    """
    patch = pytest.MonkeyPatch()

    def raise_fault(*args, **kwargs):
        raise RuntimeError(FAULT)

    def arm():
        if request.param == "event-serialisation":
            patch.setattr(domain_events.Event, "payload", raise_fault)
        else:
            patch.setattr(type(uow_factory().storage.items), "transact", raise_fault)

    arm.undo = patch.undo
    yield arm
    patch.undo()


def outbox_ids(uow_factory) -> set[str]:
    with uow_factory() as uow:
        return {record.id for status in OUTBOX_STATUSES for record in uow.outbox.list(status=status, limit=10_000)}


def assert_failed_cleanly(reply):
    error = assert_error(reply, 500, "internal_error")
    assert FAULT not in str(reply.body) and "RuntimeError" not in str(reply.body)
    assert error["details"] == []


def test_register_that_fails_leaves_no_user_and_no_event(api, uow_factory, inject_fault):
    before = outbox_ids(uow_factory)
    inject_fault()

    reply = api.post("/auth/register", {"email": "dana@example.com", "password": PASSWORD})

    assert_failed_cleanly(reply)
    with uow_factory() as uow:
        assert uow.users.get_by_email("dana@example.com") is None
    assert outbox_ids(uow_factory) == before
    assert api.post("/auth/login", {"email": "dana@example.com", "password": PASSWORD}).status == 401
    inject_fault.undo()
    assert api.post("/auth/register", {"email": "dana@example.com", "password": PASSWORD}).status == 201


def test_apply_that_fails_leaves_no_application_history_or_event(api, uow_factory, inject_fault, monkeypatch):
    _, recruiter = api.signup("rita@example.com", "recruiter")
    candidate, candidate_token = api.signup("carl@example.com")
    job = api.create_job(recruiter)
    before = outbox_ids(uow_factory)

    attempted = []
    submit = models.Application.submit.__func__
    monkeypatch.setattr(
        models.Application,
        "submit",
        classmethod(lambda cls, **kw: attempted.append(submit(cls, **kw)) or attempted[-1]),
    )
    inject_fault()

    reply = api.post("/applications/create", {"job_id": job["id"], "cover_letter": "Hello"}, token=candidate_token)

    assert_failed_cleanly(reply)
    [application] = attempted
    with uow_factory() as uow:
        assert uow.applications.get(application.id) is None
        assert uow.applications.history(application.id) == []
        assert uow.applications.page(ApplicationQuery(candidate_id=candidate["id"]), limit=10) == []
        assert uow.applications.page(ApplicationQuery(job_id=job["id"]), limit=10) == []
    assert outbox_ids(uow_factory) == before
    inject_fault.undo()
    assert api.post("/applications/create", {"job_id": job["id"]}, token=candidate_token).status == 201


@pytest.mark.parametrize("route", ["change-status", "transition"])
def test_change_status_that_fails_leaves_status_version_history_and_outbox_as_they_were(
    api, uow_factory, inject_fault, route
):
    _, recruiter = api.signup("rita@example.com", "recruiter")
    _, candidate_token = api.signup("carl@example.com")
    application = api.apply(candidate_token, api.create_job(recruiter)["id"])
    with uow_factory() as uow:
        history_before = uow.applications.history(application["id"])
    before = outbox_ids(uow_factory)
    inject_fault()

    if route == "change-status":
        reply = api.post(
            "/applications/change-status", {"application_id": application["id"], "status": "screening"}, token=recruiter
        )
    else:
        reply = api.post(f"/applications/{application['id']}/transition", {"to_state": "screening"}, token=recruiter)

    assert_failed_cleanly(reply)
    with uow_factory() as uow:
        stored = uow.applications.get(application["id"])
        assert (stored.status, stored.version) == ("applied", 1)
        assert uow.applications.history(application["id"]) == history_before
        assert uow.applications.page(ApplicationQuery(job_id=application["job_id"], status="screening"), limit=10) == []
    assert outbox_ids(uow_factory) == before
    inject_fault.undo()
    moved = api.post(
        "/applications/change-status", {"application_id": application["id"], "status": "screening"}, token=recruiter
    )
    assert (moved.status, moved.body["application"]["version"]) == (200, 2)
