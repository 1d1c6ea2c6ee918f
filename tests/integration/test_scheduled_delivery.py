"""Delayed events (Event.deliver_after) delivered for real: by the embedded default's delivery
thread with no request to wake it, by the deployed relay function, and by a Celery worker on a
real Redis after the relay pass that finds the event due.

The embedded and worker tests schedule an event a few seconds ahead and wait for it, as what they
prove is that real time and no request bring it out; the relay function's test moves the
outbox's clock instead.
"""

import email
import os
import time
from datetime import datetime

from chalicelib import bootstrap
from chalicelib.bootstrap import unit_of_work
from chalicelib.domain.ids import utc_at
from chalicelib.messaging import background
from chalicelib.messaging.relay import relay_once
from chalicelib.services import outbox
from chalicelib.storage.stores import Outbox
from tests.conftest import T0, Clock, settle_email, status_change

from .conftest import ROOT, wait_for
from .conftest import relay_once as cli_relay_once


def emailed_events(state_dir) -> set[str]:
    """The event ids of the .eml files in the state directory."""
    directory = os.path.join(state_dir, "mail")
    found = set()
    for name in os.listdir(directory) if os.path.isdir(directory) else []:
        with open(os.path.join(directory, name), "rb") as f:
            found.add(email.message_from_bytes(f.read())["X-ATS-Event-Id"])
    return found


def status_of(event_id: str) -> str:
    record = unit_of_work(bootstrap.settings()).outbox.get(event_id)
    assert record is not None
    return record.status


def seconds(moment: str) -> float:
    return datetime.fromisoformat(moment).timestamp()


def test_the_delivery_thread_emails_a_scheduled_event_when_due_with_no_request(api_client, mail_env, monkeypatch):
    monkeypatch.setenv("ATS_SCHEDULED_POLL_SECONDS", "0.2")
    candidate, _ = api_client.signup("carl@example.com")
    settle_email()
    settings = bootstrap.settings()
    due_at = utc_at(time.time() + 2)
    sent, called_off = status_change(candidate["id"], due_at), status_change(candidate["id"], due_at)
    with unit_of_work(settings) as uow:
        uow.record(sent)
        uow.record(called_off)
        assert outbox.commit(uow, settings) == []  # nothing due: nothing handed on now
    with unit_of_work(settings) as uow:
        assert uow.scheduled_events.is_scheduled(called_off.id)
        uow.scheduled_events.cancel(called_off.id)
        uow.commit()

    # No request from here on: the thread's sweep alone sends it, once due and not before.
    state_dir = mail_env["ATS_STATE_DIR"]
    while sent.id not in emailed_events(state_dir):
        assert time.time() < seconds(due_at) + 20, "the scheduled email never came"
        time.sleep(0.05)
    assert time.time() >= seconds(due_at), "emailed before it was due"
    wait_for(lambda: status_of(sent.id) == "sent", 10, "the event to be marked sent")
    settle_email()
    # Both were due in the same sweep: the cancelled one was passed over for good.
    assert called_off.id not in emailed_events(state_dir)
    assert status_of(called_off.id) == "cancelled"


def test_a_request_that_schedules_starts_the_sweep_only_once_it_has_answered(monkeypatch):
    watched = []
    monkeypatch.setattr(background, "watch", lambda new_uow, settings: watched.append(new_uow))
    monkeypatch.setattr(background._queue, "put", lambda entry: None)
    held = background.hold()
    background.submit(list, None, [], scheduled=True)  # type: ignore[arg-type]  # never swept: watch is replaced
    assert watched == []
    background.release(held)
    assert watched == [list]


def test_the_scheduled_relay_function_hands_on_due_events(api_client, mail_env, monkeypatch):
    from chalice.test import Client

    from app import app

    clock = Clock()
    monkeypatch.setattr(Outbox, "clock", staticmethod(clock))
    # The test client gives a function 3 s, and a send starts only with the SMTP timeout and a second left.
    monkeypatch.setenv("ATS_SMTP_TIMEOUT", "1")
    candidate, _ = api_client.signup("carl@example.com")
    settle_email()
    event = status_change(candidate["id"], utc_at(T0 + 60))
    with unit_of_work(bootstrap.settings()) as uow:
        uow.record(event)
        uow.commit()  # no dispatch: in the cloud, only the relay functions find it

    def scheduled_pass() -> dict:
        cloudwatch = client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        return client.lambda_.invoke("outbox_relay", cloudwatch).payload

    with Client(app, stage_name="dev", project_dir=ROOT) as client:
        assert scheduled_pass() == {"found": 0, "published": 0, "delivered": 0, "left": 0, "promoted": 0}
        clock.advance(60)
        assert scheduled_pass() == {"found": 1, "published": 0, "delivered": 1, "left": 0, "promoted": 1}
    assert status_of(event.id) == "sent" and event.id in emailed_events(mail_env["ATS_STATE_DIR"])


def test_a_worker_delivers_a_scheduled_event_after_the_relay_pass_that_finds_it_due(
    api_client, worker, smtp_catcher, redis_server, broker_env
):
    candidate, _ = api_client.signup("carl@example.com")
    wait_for(lambda: smtp_catcher.count() == 1, 30, "the welcome")
    wait_for(redis_server.drained, 10, "the queue to drain")
    settings = bootstrap.settings()
    due_at = utc_at(time.time() + 4)
    event = status_change(candidate["id"], due_at)
    with unit_of_work(settings) as uow:
        uow.record(event)
        assert outbox.commit(uow, settings) == []
    assert redis_server.drained()  # nothing published at commit

    early = relay_once(unit_of_work(settings), settings)  # a pass before it is due
    assert time.time() < seconds(due_at)
    assert (early.promoted, early.published) == (0, 0)
    assert status_of(event.id) == "scheduled" and redis_server.drained()

    time.sleep(max(0.0, seconds(due_at) - time.time()) + 0.01)
    report = cli_relay_once(broker_env)  # `make relay`'s pass, once it is due
    assert (report["promoted"], report["published"]) == (1, 1)
    wait_for(lambda: smtp_catcher.count() == 2, 30, "the scheduled email")
    (message,) = smtp_catcher.since(1)
    assert message["X-ATS-Event-Id"] == event.id and message["X-ATS-Template"] == "rejection"
    assert candidate["email"] in message["To"]
    wait_for(lambda: status_of(event.id) == "sent", 10, "the event to be marked sent")
