"""A rejection's email at `send_at`, through the routes (API.md §2): held in the outbox until due,
then sent with the team's message and never its note; an unreject before then cancels it. The
outbox's clock is moved (Outbox.clock), the relay pass is the one a deployment runs."""

import email
import email.policy
import os
import time

from chalicelib import bootstrap
from chalicelib.domain.ids import utc_at
from chalicelib.messaging.relay import relay_once
from chalicelib.storage.stores import Outbox
from tests.conftest import Clock, settle_email

HOUR = 3600


def rejection_emails(state_dir) -> list[email.message.Message]:
    directory = os.path.join(state_dir, "mail")
    found = []
    for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
        with open(os.path.join(directory, name), "rb") as f:
            message = email.message_from_bytes(f.read(), policy=email.policy.default)
        if message["X-ATS-Template"] == "rejection":
            found.append(message)
    return found


def rejected_in_an_hour(api_client, clock):
    _, recruiter = api_client.signup("rita@example.com", "recruiter")
    _, candidate = api_client.signup("carl@example.com")
    job = api_client.create_job(recruiter, title="Platform Engineer")
    application = api_client.apply(candidate, job["id"])
    reasons = api_client.get("/rejection-reasons", token=recruiter).body["items"]
    body = {
        "rejection_reason_id": reasons[0]["id"],
        "note": "Weak on SQL (internal)",
        "email": {"send_at": utc_at(clock.now + HOUR), "message": "Thank you for your time, Carl."},
    }
    reply = api_client.post(f"/applications/{application['id']}/reject", body, token=recruiter)
    assert reply.status == 200 and reply.body["application"]["status"] == "rejected"
    settle_email()
    return recruiter, application


def relay():
    """A relay pass, at the outbox's (moved) clock."""
    settings = bootstrap.settings()
    return relay_once(bootstrap.unit_of_work(settings), settings)


def test_a_rejection_email_waits_for_send_at_then_says_the_message_and_not_the_note(api_client, mail_env, monkeypatch):
    clock = Clock()
    clock.now = time.time()
    monkeypatch.setattr(Outbox, "clock", staticmethod(clock))
    rejected_in_an_hour(api_client, clock)
    state_dir = mail_env["ATS_STATE_DIR"]
    assert rejection_emails(state_dir) == []  # not at the rejection

    clock.advance(HOUR - 60)
    assert relay().promoted == 0 and rejection_emails(state_dir) == []  # not before it is due
    clock.advance(120)
    assert relay().promoted == 1
    (message,) = rejection_emails(state_dir)
    text = message.get_body(("plain",)).get_content()
    assert "Thank you for your time, Carl." in text and "not to move forward" in text
    assert "SQL" not in text and "SQL" not in message.get_body(("html",)).get_content()


def test_an_unreject_before_send_at_cancels_the_email(api_client, mail_env, monkeypatch):
    clock = Clock()
    clock.now = time.time()
    monkeypatch.setattr(Outbox, "clock", staticmethod(clock))
    recruiter, application = rejected_in_an_hour(api_client, clock)
    back = api_client.post(f"/applications/{application['id']}/unreject", {}, token=recruiter)
    assert back.status == 200 and back.body["application"]["status"] == "applied"

    clock.advance(2 * HOUR)
    assert relay().promoted == 0
    settle_email()
    assert rejection_emails(mail_env["ATS_STATE_DIR"]) == []
    admin_view = bootstrap.unit_of_work(bootstrap.settings()).outbox.list(status="cancelled")
    assert [record.payload["application_id"] for record in admin_view] == [application["id"]]
