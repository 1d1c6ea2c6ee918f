"""Email through the real pipeline: API -> outbox -> Redis -> Celery worker -> SMTP server."""

import asyncio
import os
import shlex
import subprocess
import time
from collections import Counter

import pytest

from chalicelib.bootstrap import dispatcher, unit_of_work
from chalicelib.config import get_settings

from .conftest import (
    PYTHON,
    ROOT,
    Catcher,
    Worker,
    all_sent,
    cli,
    duplicates,
    outbox_counts,
    relay_once,
    start_smtp,
    wait_for,
)


def scenario(api, jobs: int = 1):
    """A recruiter, a candidate, `jobs` jobs, and the candidate's application to each."""
    _, recruiter = api.signup("rita@example.com", "recruiter")
    candidate, candidate_token = api.signup("carl@example.com")
    applications = [
        api.apply(candidate_token, api.create_job(recruiter, title=f"Engineer {n}")["id"]) for n in range(jobs)
    ]
    return recruiter, candidate_token, candidate, applications


def move(api, token, application_id, status, reason=None):
    started = time.monotonic()
    reply = api.post(
        "/applications/change-status",
        {"application_id": application_id, "status": status, "reason": reason},
        token=token,
    )
    assert reply.status == 200, reply.body
    return time.monotonic() - started


def status_events(application_ids) -> set:
    with unit_of_work(get_settings()) as uow:
        events = [
            record
            for status in ("pending", "published", "sent", "failed")
            for record in uow.outbox.list(status=status, limit=100000)
        ]
    return {
        e.id for e in events if e.type == "ApplicationStatusChanged" and e.payload["application_id"] in application_ids
    }


def test_a_status_change_reaches_the_candidate_once_even_when_its_task_is_repeated(
    api_client, worker, smtp_catcher, redis_server
):
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
    unit_of_work(get_settings()).outbox.mark(event_id, status="published")
    publisher = dispatcher(get_settings()).publisher  # type: ignore[attr-defined]  # the broker's
    assert publisher.publish(get_settings(), [event_id, event_id]) == [event_id, event_id]
    wait_for(
        lambda: worker.log().count(f"ats.deliver_event[{event_id}] succeeded") == 3, 20, "the repeated tasks to run"
    )
    wait_for(all_sent, 10, "the event to be marked sent again")
    assert smtp_catcher.count() == start + 1
    assert not duplicates(smtp_catcher.messages)


def test_redis_down_every_request_succeeds_and_the_relay_delivers_each_email_once(
    api_client, worker, smtp_catcher, redis_server, broker_env
):
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
    assert relay_once(broker_env)["published"] == 50
    wait_for(all_sent, 60, "the relayed events to be sent")
    wait_for(redis_server.drained, 20, "the queue to drain")
    arrived = smtp_catcher.since(start)
    assert len(arrived) == 50
    assert {m["X-ATS-Event-Id"] for m in arrived} == status_events(ids)
    assert not duplicates(arrived)


# A worker SIGKILLed mid-task: Redis hands its unacknowledged tasks back after the visibility
# timeout, so at the default settings every email arrives within 3 minutes of the restart. The test
# runs the same race SCALE times faster: every bound that decides it is the default divided by SCALE
# (the SMTP timeout aside: it only has to stay under the lease), so a default that breaks the
# promise (the old one-hour visibility timeout) fails it.
SCALE = 6
PROMISE = 180 / SCALE  # seconds from the worker's restart to the last email


def scaled_defaults(monkeypatch) -> dict:
    names = {
        "ATS_CELERY_VISIBILITY_TIMEOUT": "celery_visibility_timeout",
        "ATS_EMAIL_LEASE_SECONDS": "email_lease_seconds",
        "ATS_EMAIL_RETRY_BASE": "email_retry_base",
        "ATS_EMAIL_RETRY_MAX": "email_retry_max",
        "ATS_RELAY_REPUBLISH_SECONDS": "relay_republish_seconds",
    }
    for name in names:
        monkeypatch.delenv(name, raising=False)
    defaults = get_settings()
    scaled = {
        name: str(type(value)(value / SCALE))
        for name, value in ((name, getattr(defaults, field)) for name, field in names.items())
    }
    for name, value in scaled.items():
        monkeypatch.setenv(name, value)
    return scaled


def make_recipe(target: str) -> list[str]:
    """The one-line recipe of a Makefile target, as `make` would run it from this venv."""
    with open(os.path.join(ROOT, "Makefile")) as f:
        lines = f.read().splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith(f"{target}:"))
    venv = os.path.dirname(os.path.dirname(PYTHON))
    return shlex.split(lines[at + 1].strip().replace("$(VENV)", venv))


class MakeWorker(Worker):
    """`make worker`'s own command (a pool of 8 threads), under a node name of its own per start."""

    def start(self) -> None:
        self.started += 1
        with open(self.log_path, "a") as log:
            log.write(f"\n===== start {self.started} =====\n")
            log.flush()
            self.process = subprocess.Popen(
                [*make_recipe("worker"), "-n", f"make{self.started}@%h"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def ready():
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            text = self.log()
            return f"make{self.started}@" in text and "ready." in text[text.rfind("===== start") :]

        wait_for(ready, 60, "the Celery worker to be ready", interval=0.1)


class Gate(Catcher):
    """Answers nothing from the `hold_from`-th message on until released, so a kill finds every send
    in flight and none accepted but not yet in the ledger (the one repeat the ledger cannot stop)."""

    hold_from: int | None = None

    async def handle_DATA(self, server, session, envelope):
        if self.hold_from is not None and not self.release.is_set() and self.count() + 1 >= self.hold_from:
            self.stalled.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
            return "451 4.3.0 Held"  # to a worker that is gone by now
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def gate(mail_env, monkeypatch):
    catcher = Gate()
    controller = start_smtp(catcher)
    for name, value in {
        "ATS_EMAIL_BACKEND": "smtp",
        "ATS_SMTP_HOST": "127.0.0.1",
        "ATS_SMTP_PORT": str(controller.port),
        "ATS_SMTP_TLS": "none",
    }.items():
        monkeypatch.setenv(name, value)
    yield catcher
    catcher.release.set()
    controller.stop()


def test_a_worker_killed_mid_send_gets_every_email_out_within_3_minutes_of_its_restart_none_twice(
    api_client, gate, redis_server, monkeypatch, tmp_path
):
    scaled = scaled_defaults(monkeypatch)
    monkeypatch.setenv("ATS_REDIS_URL", redis_server.url)
    env = {**os.environ, "PYTHONPATH": ROOT}
    worker = MakeWorker(env, tmp_path / "worker.log")
    with open(tmp_path / "relay.log", "w") as relay_log:  # `make relay`, every second
        relay = subprocess.Popen(
            [PYTHON, "-m", "chalicelib.cli", "relay", "--interval", "1"],
            cwd=ROOT,
            env=env,
            stdout=relay_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        worker.start()
        recruiter, _, _, applications = scenario(api_client, jobs=50)
        wait_for(all_sent, 60, "the set-up emails")
        wait_for(redis_server.drained, 10, "the queue to drain")
        start = gate.count()
        gate.hold_from = start + 100

        for status in ("screening", "shortlisted", "selected", "hired"):
            for application in applications:
                move(api_client, recruiter, application["id"], status)
        assert gate.stalled.wait(60), "the worker never reached the 100th email"
        time.sleep(0.5)  # the sends before the hold finish writing the ledger; the held ones wait
        worker.kill()
        gate.release.set()
        client = redis_server.client()
        assert client.hlen("unacked") > 0  # tasks the dead worker held: only Redis can hand them back
        client.close()
        assert outbox_counts()["published"] > 0

        restarted = time.monotonic()
        worker.start()
        wait_for(
            lambda: gate.count() >= start + 200,
            PROMISE - (time.monotonic() - restarted),
            f"every email within {PROMISE:.0f} s of the restart (3 minutes at the default settings, "
            f"here scaled by 1/{SCALE}: {scaled})",
        )
        wait_for(all_sent, 30, "every event to be marked sent")
        wait_for(redis_server.drained, 30, "the queue to drain, with no task left to repeat an email")
    finally:
        relay.terminate()
        relay.wait(10)
        worker.stop()
    arrived = gate.since(start)
    per_message = Counter(m["Message-ID"] for m in arrived)
    assert len(per_message) == 200 and set(per_message.values()) == {1}, per_message.most_common(3)
    assert {m["X-ATS-Event-Id"] for m in arrived} == status_events({a["id"] for a in applications})


def test_the_relay_republishes_only_what_was_published_longer_ago_than_its_bound(api_client, broker_env, redis_server):
    api_client.register("nina@example.com")  # published, and no worker runs to take it
    assert outbox_counts()["published"] == 1

    def relay_after(seconds: str) -> dict:
        return relay_once({**broker_env, "ATS_RELAY_REPUBLISH_SECONDS": seconds})

    client = redis_server.client()
    try:
        assert client.llen("ats-email") == 1
        assert relay_after("3600")["found"] == 0  # waiting is not lost: no copy
        assert client.llen("ats-email") == 1
        assert relay_after("0")["published"] == 1
        assert client.llen("ats-email") == 2
    finally:
        client.close()
    assert outbox_counts()["published"] == 1


def test_an_smtp_server_refusing_for_10_seconds_gets_every_email_afterwards_once(
    api_client, worker, smtp_catcher, redis_server
):
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


def test_an_email_refused_for_good_marks_its_event_failed_for_operators(api_client, worker, smtp_catcher, broker_env):
    smtp_catcher.permanent_refusal = True
    api_client.register("nobody@example.com")
    wait_for(lambda: outbox_counts()["failed"] == 1, 30, "the event to be marked failed")
    with unit_of_work(get_settings()) as uow:
        (failed,) = uow.outbox.list(status="failed")
    assert failed.type == "UserRegistered" and "550" in failed.last_error and failed.attempts == 1
    assert smtp_catcher.count() == 0

    listed = cli(broker_env, "outbox", "--failed")
    assert failed.id in listed and "550" in listed


def test_health_reports_the_broker(api_client, broker_env, redis_server):
    assert api_client.get("/health").body["checks"] == {"storage": "ok", "broker": "ok"}
    redis_server.stop()
    reply = api_client.get("/health")
    assert reply.status == 503 and reply.body["checks"]["broker"].startswith("unavailable")
