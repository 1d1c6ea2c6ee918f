"""`python -m chalicelib.cli create-admin`, run as an operator runs it: its welcome email is
delivered like every other write's, with no relay running."""

import email
import json
import os
import subprocess

from .conftest import PYTHON, ROOT, wait_for


def cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "chalicelib.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def create_admin(env: dict) -> dict:
    done = cli(
        env, "create-admin", "--email", "ada@example.com", "--name", "Ada", "--password", "correct horse battery"
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def outbox(env: dict, status: str) -> list[dict]:
    listed = cli(env, "outbox", "--status", status)
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


def test_on_the_embedded_default_the_welcome_is_sent_before_the_command_exits(mail_env):
    env = dict(os.environ)
    admin = create_admin(env)
    mail = os.path.join(mail_env["ATS_STATE_DIR"], "mail")
    (name,) = os.listdir(mail)
    with open(os.path.join(mail, name), "rb") as f:
        message = email.message_from_bytes(f.read())
    assert message["To"] == f"Ada <{admin['email']}>" and message["X-ATS-Template"] == "welcome"
    (event,) = outbox(env, "sent")
    assert event["type"] == "UserRegistered" and event["id"] == message["X-ATS-Event-Id"]
    assert outbox(env, "pending") == []


def test_with_redis_the_welcome_is_published_and_a_worker_sends_it(broker_env, worker, smtp_catcher):
    admin = create_admin(broker_env)
    wait_for(lambda: smtp_catcher.count() == 1, 30, "the welcome at the SMTP server")
    (message,) = smtp_catcher.messages
    assert message["To"] == f"Ada <{admin['email']}>" and message["X-ATS-Template"] == "welcome"
    wait_for(lambda: outbox(broker_env, "sent"), 10, "the event to be marked sent")
    assert outbox(broker_env, "pending") == outbox(broker_env, "published") == []
