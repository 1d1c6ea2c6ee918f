"""Email through the real pipeline: API -> outbox -> Redis -> Celery worker -> SMTP server."""
import subprocess
import time

from chalicelib.config import get_settings
from chalicelib.messaging import publisher
from chalicelib.storage import unit_of_work

from .conftest import PYTHON, ROOT, all_sent, duplicates, outbox_counts, wait_for


def scenario(api, jobs: int = 1):
    """A recruiter, a candidate, `jobs` jobs, and the candidate's application to each."""
    _, recruiter = api.signup("rita@example.com", "recruiter")
    candidate, candidate_token = api.signup("carl@example.com")
    applications = [api.apply(candidate_token, api.create_job(recruiter, title=f"Engineer {n}")["id"])
                    for n in range(jobs)]
    return recruiter, candidate_token, candidate, applications


def move(api, token, application_id, status, reason=None):
    started = time.monotonic()
    reply = api.post("/applications/change-status",
                     {"application_id": application_id, "status": status, "reason": reason}, token=token)
    assert reply.status == 200, reply.body
    return time.monotonic() - started


def status_events(application_ids) -> set:
    with unit_of_work(get_settings()) as uow:
        events = [record for status in ("pending", "published", "sent", "failed")
                  for record in uow.outbox.list(status=status, limit=100000)]
    return {e.id for e in events if e.type == "ApplicationStatusChanged" and e.payload["application_id"] in application_ids}


def test_a_status_change_reaches_the_candidate_once_even_when_its_task_is_repeated(api_client, worker, smtp_catcher,
                                                                                   redis_server):
    recruiter, _, candidate, (application,) = scenario(api_client)
    wait_for(all_sent, 30, "the set-up emails")
    wait_for(redis_server.drained, 10, "the queue to drain")
    start = smtp_catcher.count()
    assert start == 4  # two welcomes, application received, new application

    move(api_client, recruiter, application["id"], "screening")
    wait_for(lambda: smtp_catcher.count() == start + 1, 30, "the status email")
    (message,) = smtp_catcher.since(start)
    assert message["To"] == f"carl <{candidate['email']}>"
    assert message["X-ATS-Template"] == "status_screening"
    assert "being reviewed" in message["Subject"]
    wait_for(all_sent, 10, "the event to be marked sent")

    # The same task delivered twice more, as if its first run died before marking the event
    # sent: the ledger alone must stop a second email.
    (event_id,) = status_events({application["id"]})
    with unit_of_work(get_settings()) as uow:
        uow.outbox.mark(event_id, status="published")
        uow.commit()
    assert publisher.publish(get_settings(), [event_id, event_id]) == [event_id, event_id]
    wait_for(lambda: worker.log().count(f"ats.deliver_event[{event_id}] succeeded") == 3, 20,
             "the repeated tasks to run")
    wait_for(all_sent, 10, "the event to be marked sent again")
    assert smtp_catcher.count() == start + 1
    assert not duplicates(smtp_catcher.messages)


def test_redis_down_every_request_succeeds_and_the_relay_delivers_each_email_once(api_client, worker, smtp_catcher,
                                                                                 redis_server, broker_env):
    recruiter, _, _, applications = scenario(api_client, jobs=25)
    wait_for(all_sent, 60, "the set-up emails")
    wait_for(redis_server.drained, 10, "the queue to drain")
    start = smtp_catcher.count()

    redis_server.stop()
    for application in applications:
        for status in ("screening", "shortlisted"):
            # Generous bound: proves the request does not hang on the dead broker.
            assert move(api_client, recruiter, application["id"], status) < 2.0
    ids = {a["id"] for a in applications}
    assert len(status_events(ids)) == 50
    assert outbox_counts()["pending"] == 50
    time.sleep(0.5)
    assert smtp_catcher.count() == start  # nothing could go out

    redis_server.start()
    relay = subprocess.run([PYTHON, "-m", "chalicelib.cli", "relay", "--once"], cwd=ROOT, env=broker_env,
                           capture_output=True, text=True, timeout=60)
    assert relay.returncode == 0, relay.stderr
    assert '"published": 50' in relay.stdout
    wait_for(all_sent, 60, "the relayed events to be sent")
    wait_for(redis_server.drained, 20, "the queue to drain")
    arrived = smtp_catcher.since(start)
    assert len(arrived) == 50
    assert {m["X-ATS-Event-Id"] for m in arrived} == status_events(ids)
    assert not duplicates(arrived)


def test_a_worker_killed_in_the_middle_of_200_emails_loses_none_and_repeats_none(api_client, worker, smtp_catcher,
                                                                                redis_server):
    recruiter, _, _, applications = scenario(api_client, jobs=50)
    wait_for(all_sent, 60, "the set-up emails")
    wait_for(redis_server.drained, 10, "the queue to drain")
    start = smtp_catcher.count()
    # The SMTP server holds the 100th email unanswered, so the kill lands mid-send, with a claim
    # taken, earlier tasks acknowledged and later ones prefetched but not acknowledged.
    smtp_catcher.stall_at = start + 100

    for status in ("screening", "shortlisted", "selected", "hired"):
        for application in applications:
            move(api_client, recruiter, application["id"], status)
    assert smtp_catcher.stalled.wait(60), "the worker never reached the 100th email"
    worker.kill()
    smtp_catcher.release.set()
    assert smtp_catcher.count() == start + 99
    worker.start()

    wait_for(all_sent, 90, "every event to be sent after the restart")
    wait_for(redis_server.drained, 30, "the queue to drain")
    arrived = smtp_catcher.since(start)
    assert len(arrived) == 200
    assert {m["X-ATS-Event-Id"] for m in arrived} == status_events({a["id"] for a in applications})
    assert not duplicates(arrived)


def test_an_smtp_server_refusing_for_10_seconds_gets_every_email_afterwards_once(api_client, worker, smtp_catcher,
                                                                                redis_server):
    recruiter, candidate_token, _, _ = scenario(api_client, jobs=0)
    wait_for(all_sent, 30, "the set-up emails")
    start = smtp_catcher.count()
    # Refusal starts after 3 emails: mid-event, so one application's two emails are split by it.
    smtp_catcher.refuse_after, smtp_catcher.refuse_seconds = start + 3, 10.0
    jobs = [api_client.create_job(recruiter, title=f"Designer {n}") for n in range(20)]
    applications = [api_client.apply(candidate_token, job["id"]) for job in jobs]
    for application in applications:
        move(api_client, recruiter, application["id"], "screening")

    wait_for(all_sent, 90, "every event to be sent once the server accepts again")
    wait_for(redis_server.drained, 30, "the queue to drain")
    arrived = smtp_catcher.since(start)
    assert smtp_catcher.refused > 0
    assert len(arrived) == 20 * 2 + 20  # received + new application, then the status change
    assert not duplicates(arrived)
    with unit_of_work(get_settings()) as uow:
        retried = [r for r in uow.outbox.list(status="sent", limit=1000) if r.attempts > 0]
    assert retried  # and, sent in the end, they carry no error any more
    assert all(r.last_error is None for r in retried)


def test_an_email_refused_for_good_marks_its_event_failed_for_operators(api_client, worker, smtp_catcher,
                                                                         broker_env):
    smtp_catcher.permanent_refusal = True
    api_client.register("nobody@example.com")
    wait_for(lambda: outbox_counts()["failed"] == 1, 30, "the event to be marked failed")
    with unit_of_work(get_settings()) as uow:
        (failed,) = uow.outbox.list(status="failed")
    assert failed.type == "UserRegistered" and "550" in failed.last_error and failed.attempts == 1
    assert smtp_catcher.count() == 0

    listed = subprocess.run([PYTHON, "-m", "chalicelib.cli", "outbox", "--failed"], cwd=ROOT, env=broker_env,
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert failed.id in listed.stdout and "550" in listed.stdout


def test_health_reports_the_broker(api_client, broker_env, redis_server):
    assert api_client.get("/health").body["checks"] == {"storage": "ok", "broker": "ok"}
    redis_server.stop()
    reply = api_client.get("/health")
    assert reply.status == 503 and reply.body["checks"]["broker"].startswith("unavailable")
