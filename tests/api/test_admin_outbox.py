"""GET /admin/outbox lists every outbox status, the scheduled and cancelled ones of delayed events
(Event.deliver_after) too."""

from chalicelib.domain.ids import utc_at
from tests.conftest import T0, settle_email, status_change


def schedule(uow_factory, candidate_id: str) -> str:
    event = status_change(candidate_id, utc_at(T0))  # in 2027: long after the test
    with uow_factory() as uow:
        uow.record(event)
        uow.commit()
    return event.id


def test_admins_see_scheduled_and_cancelled_events(api, admin, candidate, uow_factory):
    settle_email()  # the welcomes: nothing pending from here on
    kept, called_off = schedule(uow_factory, candidate.id), schedule(uow_factory, candidate.id)
    with uow_factory() as uow:
        uow.scheduled_events.cancel(called_off)
        uow.commit()

    scheduled = api.get("/admin/outbox?status=scheduled", token=admin.token)
    assert scheduled.status == 200
    (item,) = scheduled.body["items"]
    assert (item["id"], item["status"]) == (kept, "scheduled")
    assert item["payload"]["deliver_after"] == utc_at(T0)
    cancelled = api.get("/admin/outbox?status=cancelled", token=admin.token)
    assert [(i["id"], i["status"]) for i in cancelled.body["items"]] == [(called_off, "cancelled")]
    assert api.get("/admin/outbox?status=pending", token=admin.token).body["items"] == []
    assert api.get("/admin/outbox?status=scheduled", token=candidate.token).status == 403
