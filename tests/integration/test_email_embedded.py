"""The embedded default (no broker): email delivered in-process right after commit, to .eml files
by default, or through real SMTP (STARTTLS, implicit TLS, login) and SES (moto) senders."""

import datetime
import email
import email.policy
import os
import smtplib
import subprocess
import sys
import time

import pytest

from chalicelib import bootstrap
from chalicelib.bootstrap import sender, unit_of_work
from chalicelib.config import get_settings
from chalicelib.messaging.relay import promote_due
from chalicelib.services.context import context_for
from chalicelib.storage.stores import Outbox
from tests.conftest import Clock, settle_email

from .conftest import ROOT, Catcher, all_sent, outbox_counts, relay_once, start_smtp


def _eml_files(state_dir) -> list:
    directory = os.path.join(state_dir, "mail")
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


def _read(state_dir, name):
    with open(os.path.join(state_dir, "mail", name), "rb") as f:
        return email.message_from_bytes(f.read(), policy=email.policy.default)


def test_a_status_change_leaves_an_eml_for_the_candidate_with_nothing_else_running(api_client, mail_env):
    _, recruiter = api_client.signup("rita@example.com", "recruiter")
    candidate, candidate_token = api_client.signup("carl@example.com")
    job = api_client.create_job(recruiter, title="Platform Engineer")
    application = api_client.apply(candidate_token, job["id"])
    before = set(_eml_files(mail_env["ATS_STATE_DIR"]))
    assert len(before) == 4  # two welcomes, application received, new application

    reply = api_client.post(
        "/applications/change-status",
        {"application_id": application["id"], "status": "rejected", "reason": "The role was filled."},
        token=recruiter,
    )
    assert reply.status == 200
    (new,) = set(_eml_files(mail_env["ATS_STATE_DIR"])) - before
    message = _read(mail_env["ATS_STATE_DIR"], new)
    assert candidate["email"] in message["To"]
    assert message["X-ATS-Template"] == "rejection"
    assert "Platform Engineer" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "not to move forward" in text
    assert "The role was filled." not in text  # the team's reason: the candidate never reads it
    assert message.get_body(("html",)).get_content().lstrip().startswith("<!DOCTYPE html>")
    assert all_sent()


def test_a_requests_emails_are_queued_once_it_has_answered(api_client, mail_env, monkeypatch):
    from ats_functions.logs import request_context
    from chalicelib.messaging import background

    _, recruiter = api_client.signup("rita@example.com", "recruiter")
    _, candidate_token = api_client.signup("carl@example.com")
    job = api_client.create_job(recruiter)
    settle_email()
    queued_in_a_request = []
    real_put = background._queue.put

    def put(entry):
        queued_in_a_request.append(request_context.get() is not None)
        real_put(entry)

    monkeypatch.setattr(background._queue, "put", put)
    before = set(_eml_files(mail_env["ATS_STATE_DIR"]))
    api_client.apply(candidate_token, job["id"])
    settle_email()
    # One event (ApplicationSubmitted), queued after the request's end, and its two emails sent.
    assert queued_in_a_request == [False]
    assert len(set(_eml_files(mail_env["ATS_STATE_DIR"])) - before) == 2
    assert all_sent()


def test_submissions_are_queued_at_once_unless_held_and_then_on_release(monkeypatch):
    from chalicelib.messaging import background

    queued = []
    monkeypatch.setattr(background._queue, "put", queued.append)
    background.submit(list, None, ["E1"])  # type: ignore[arg-type]  # never delivered: put is replaced
    assert [entry[2] for entry in queued] == ["E1"]
    held = background.hold()
    background.submit(list, None, ["E2", "E3"])  # type: ignore[arg-type]
    assert len(queued) == 1
    background.release(held)
    assert [entry[2] for entry in queued] == ["E1", "E2", "E3"]
    background.submit(list, None, ["E4"])  # type: ignore[arg-type]
    assert [entry[2] for entry in queued] == ["E1", "E2", "E3", "E4"]


def test_a_withdrawal_tells_the_candidate_and_the_recruiter(api_client, mail_env):
    recruiter_user, recruiter = api_client.signup("rita@example.com", "recruiter")
    _, candidate_token = api_client.signup("carl@example.com")
    application = api_client.apply(candidate_token, api_client.create_job(recruiter)["id"])
    before = set(_eml_files(mail_env["ATS_STATE_DIR"]))
    reply = api_client.post(
        "/applications/change-status",
        {"application_id": application["id"], "status": "withdrawn"},
        token=candidate_token,
    )
    assert reply.status == 200
    messages = [_read(mail_env["ATS_STATE_DIR"], name) for name in set(_eml_files(mail_env["ATS_STATE_DIR"])) - before]
    assert sorted(m["X-ATS-Template"] for m in messages) == ["candidate_withdrew", "status_withdrawn"]
    to_recruiter = next(m for m in messages if m["X-ATS-Template"] == "candidate_withdrew")
    assert recruiter_user["email"] in to_recruiter["To"] and "carl" in to_recruiter["Subject"]


def _no_smtp_server(monkeypatch) -> None:
    """Send through SMTP to a port nothing listens on: every send fails at once."""
    monkeypatch.setenv("ATS_EMAIL_BACKEND", "smtp")
    monkeypatch.setenv("ATS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ATS_SMTP_PORT", "1")
    monkeypatch.setenv("ATS_SMTP_TLS", "none")


def test_a_failed_send_never_fails_the_request_and_the_relay_delivers_later(api_client, mail_env, monkeypatch):
    # An SMTP server that is not there: the registration still answers 201, its event waits to be retried.
    _no_smtp_server(monkeypatch)
    api_client.register("carl@example.com")
    with unit_of_work(get_settings()) as uow:
        (retrying,) = uow.outbox.list(status="retrying")
    assert retrying.attempts == 1 and "Connection refused" in retrying.last_error
    wait = datetime.datetime.fromisoformat(retrying.retry_at).timestamp() - time.time()
    assert wait <= 0.5  # the first backoff: ATS_EMAIL_RETRY_BASE (0.5 s here), half of it at random

    time.sleep(max(0.0, wait))
    monkeypatch.setenv("ATS_EMAIL_BACKEND", "file")
    assert relay_once(dict(os.environ)) == {"found": 1, "published": 0, "delivered": 1, "left": 0, "promoted": 1}
    assert all_sent() and len(_eml_files(mail_env["ATS_STATE_DIR"])) == 1


def test_a_claim_held_elsewhere_is_no_failed_attempt(api_client, mail_env, monkeypatch):
    """A relay pass meeting a delivery another sender holds counts no attempt and sends nothing: the
    event waits, retrying, for about the claim's lease (the next passes leave it alone)."""
    from chalicelib.messaging.delivery import deliver_in_process
    from chalicelib.messaging.emails import emails_for

    _no_smtp_server(monkeypatch)
    api_client.register("carl@example.com")
    clock = Clock()
    clock.now = time.time() + 60  # past the failed attempt's backoff
    monkeypatch.setattr(Outbox, "clock", staticmethod(clock))
    settings = bootstrap.settings()  # as the deliverers take them: with the secret its links need
    with unit_of_work(settings) as uow:
        (waiting,) = uow.outbox.list(status="retrying")
        assert promote_due(uow) == [waiting.id]
        pending = uow.outbox.get(waiting.id)
        (mail,) = emails_for(pending, uow.users.get_many)
        assert uow.outbox.claim_delivery(pending.id, mail.recipient, lease_seconds=600)  # held elsewhere

    assert deliver_in_process(unit_of_work(settings), settings, pending.id) is False
    with unit_of_work(settings) as uow:
        after = uow.outbox.get(pending.id)
    assert (after.status, after.attempts) == ("retrying", 1)
    assert "claimed by another worker" in after.last_error
    wait = datetime.datetime.fromisoformat(after.retry_at).timestamp() - clock.now
    assert 0.75 * settings.email_retry_max - 0.01 <= wait <= settings.email_retry_max + 0.01  # the lease, capped


def test_failed_events_are_listed_for_admins_only(api_client, mail_env, monkeypatch):
    from chalicelib.services import users

    settings = bootstrap.settings()
    users.create_admin(
        context_for(unit_of_work(settings), settings),
        email="ada@example.com",
        password="correct horse battery",
        name="Ada",
    )
    admin = api_client.login("ada@example.com")
    monkeypatch.setenv("ATS_EMAIL_BACKEND", "smtp")
    monkeypatch.setenv("ATS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ATS_SMTP_PORT", "1")
    monkeypatch.setenv("ATS_EMAIL_MAX_RETRIES", "1")  # the first failure is the last
    _, candidate = api_client.signup("carl@example.com")
    assert outbox_counts()["failed"] == 1

    reply = api_client.get("/admin/outbox?status=failed", token=admin)
    assert reply.status == 200
    (item,) = reply.body["items"]
    assert item["type"] == "UserRegistered" and item["status"] == "failed" and item["last_error"]
    assert api_client.get("/admin/outbox", token=candidate).status == 403
    assert api_client.get("/admin/outbox").status == 401
    assert api_client.get("/admin/outbox?status=lost", token=admin).status == 422


def test_the_api_imports_no_celery_kombu_or_redis_until_it_publishes():
    code = (
        "import sys, app; loaded = [m for m in sys.modules if m.split('.')[0] in ('celery', 'kombu', 'redis')];"
        "print(loaded); assert not loaded"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ATS_"))}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_relay_functions_run_under_the_chalice_test_client(mail_env, api_client, monkeypatch):
    from chalice.test import Client

    from app import app

    monkeypatch.setenv("ATS_EMAIL_BACKEND", "smtp")  # nowhere to send: the event waits to be retried
    monkeypatch.setenv("ATS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ATS_SMTP_PORT", "1")
    api_client.register("carl@example.com")
    assert outbox_counts()["retrying"] == 1
    monkeypatch.setenv("ATS_EMAIL_BACKEND", "file")
    # The test client gives a function 3 s, and a send starts only with the SMTP timeout and a second left.
    monkeypatch.setenv("ATS_SMTP_TIMEOUT", "1")
    clock = Clock()
    clock.now = time.time() + 60  # past the failed attempt's backoff
    monkeypatch.setattr(Outbox, "clock", staticmethod(clock))
    with Client(app, stage_name="dev", project_dir=ROOT) as client:
        scheduled = client.lambda_.invoke(
            "outbox_relay",
            client.events.generate_cw_event(
                source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
            ),
        )
        assert scheduled.payload == {"found": 1, "published": 0, "delivered": 1, "left": 0, "promoted": 1}
        stream = client.lambda_.invoke("outbox_stream", {"Records": []})
        assert stream.payload["found"] == 0
    assert all_sent() and len(_eml_files(mail_env["ATS_STATE_DIR"])) == 1


def stream_insert(event_id: str = "1") -> dict:
    """The table stream's record of a new outbox event, as the deployed mapping's filter passes it."""
    return {
        "Records": [
            {
                "eventID": "1",
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/ats/stream/2026",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1767225600,
                    "SequenceNumber": "1",
                    "Keys": {"PK": {"S": f"EVENT#{event_id}"}, "SK": {"S": "EVENT"}},
                    "SizeBytes": 10,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            }
        ]
    }


def test_in_a_lambda_without_a_broker_no_thread_starts_and_the_stream_function_delivers(
    api_client, mail_env, monkeypatch
):
    """Lambda freezes a function once it answered, threads and all: there the events wait for the
    relay functions, which deliver them in-process."""
    from chalice.test import Client

    from app import app
    from chalicelib.messaging import background

    settle_email()
    started, queued = [], []
    monkeypatch.setattr(background, "_start", lambda: started.append(True))
    monkeypatch.setattr(background._queue, "put", queued.append)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ats-dev")  # as Lambda sets it in every function
    # The test client gives a function 3 s, and a send starts only with the SMTP timeout and a second left.
    monkeypatch.setenv("ATS_SMTP_TIMEOUT", "1")

    api_client.register("carl@example.com")
    assert (started, queued) == ([], [])  # no thread, nothing handed to one
    with unit_of_work(get_settings()) as uow:
        (pending,) = uow.outbox.list(status="pending")
    assert (pending.attempts, pending.last_error) == (0, None) and _eml_files(mail_env["ATS_STATE_DIR"]) == []

    with Client(app, stage_name="dev", project_dir=ROOT) as client:
        stream = client.lambda_.invoke("outbox_stream", stream_insert(pending.id))
    assert stream.payload == {"found": 1, "published": 0, "delivered": 1, "left": 0, "promoted": 0}
    assert all_sent() and len(_eml_files(mail_env["ATS_STATE_DIR"])) == 1 and started == []


def test_a_relay_function_starts_no_send_its_remaining_time_cannot_hold(api_client, mail_env, monkeypatch):
    """The relay functions read the time left from their Lambda context: a slow mail server leaves
    the rest pending for the next invocation, untried."""
    from app import app

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ats-dev")
    for n in range(5):
        api_client.register(f"user{n}@example.com")
    assert outbox_counts()["pending"] == 5

    class Context:  # a Lambda context whose time only the sends spend
        left_ms = 20_000.0

        def get_remaining_time_in_millis(self) -> float:
            return self.left_ms

    context, started_with = Context(), []

    class SlowServer:
        def send(self, mail) -> None:
            started_with.append(context.left_ms / 1000)
            context.left_ms -= 5_000  # five seconds a send

    monkeypatch.setattr(bootstrap, "sender", lambda settings: SlowServer())
    smtp_timeout = get_settings().smtp_timeout  # 3 s here (FAST_EMAIL): a send starts with 4 s left
    tick = {
        "version": "0",
        "id": "1",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }
    report = app.handler_map["outbox_relay"](tick, context)
    assert started_with == [20.0, 15.0, 10.0, 5.0] and min(started_with) >= smtp_timeout + 1
    assert report == {"found": 5, "published": 0, "delivered": 4, "left": 1, "promoted": 0}
    counts = outbox_counts()
    assert (counts["sent"], counts["pending"], counts["retrying"]) == (4, 1, 0)


# -- the SMTP sender against a real server: TLS modes, login, one connection for many emails --


@pytest.fixture
def certificate(tmp_path):
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


def _authenticator(accepted: list):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"ats" and auth_data.password == b"s3cret"
        accepted.append(ok)
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 235 or 535 itself

    return check


@pytest.mark.network  # an SMTP server of its own (start_smtp)
@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_smtp_with_tls_and_login_reuses_one_connection(api_client, mail_env, monkeypatch, certificate, mode):
    import ssl

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    catcher, logins = Catcher(), []
    # aiosmtpd does not count implicit TLS as TLS for auth_require_tls: require it for STARTTLS only.
    options = {"authenticator": _authenticator(logins), "auth_require_tls": mode == "starttls"}
    if mode == "starttls":
        controller = start_smtp(catcher, tls_context=context, require_starttls=True, **options)
    else:
        controller = start_smtp(catcher, ssl_context=context, **options)
    try:
        monkeypatch.setenv("SSL_CERT_FILE", cert)  # the sender verifies the server with the default context
        for name, value in {
            "ATS_EMAIL_BACKEND": "smtp",
            "ATS_SMTP_HOST": "localhost",
            "ATS_SMTP_TLS": mode,
            "ATS_SMTP_PORT": str(controller.port),
            "ATS_SMTP_USER": "ats",
            "ATS_SMTP_PASSWORD": "s3cret",
        }.items():
            monkeypatch.setenv(name, value)
        for n in range(3):
            api_client.register(f"user{n}@example.com")
        assert [m["To"] for m in catcher.messages] == [f"user{n} <user{n}@example.com>" for n in range(3)]
        assert logins == [True] and len(set(catcher.peers)) == 1  # one login, one connection
        assert all_sent()
    finally:
        sender(get_settings()).close()
        controller.stop()


@pytest.mark.network  # an SMTP server of its own (start_smtp)
def test_a_deployed_smtp_login_reads_its_password_from_ssm(api_client, mail_env, monkeypatch):
    """The template passes the SSM parameter's name, never the password; the sender reads it on login."""
    import boto3
    from moto import mock_aws

    catcher, logins = Catcher(), []
    controller = start_smtp(catcher, authenticator=_authenticator(logins), auth_require_tls=False)
    try:
        with mock_aws():
            boto3.client("ssm", region_name="us-east-1").put_parameter(
                Name="/ats/test/smtp-password", Value="s3cret", Type="SecureString"
            )
            for name, value in {
                "ATS_EMAIL_BACKEND": "smtp",
                "ATS_SMTP_HOST": "localhost",
                "ATS_SMTP_TLS": "none",
                "ATS_SMTP_PORT": str(controller.port),
                "ATS_SMTP_USER": "ats",
                "ATS_SMTP_PASSWORD_PARAMETER": "/ats/test/smtp-password",
            }.items():
                monkeypatch.setenv(name, value)
            monkeypatch.delenv("ATS_SMTP_PASSWORD", raising=False)
            api_client.register("carl@example.com", name="Carl")
        assert logins == [True] and [m["To"] for m in catcher.messages] == ["Carl <carl@example.com>"]
        assert all_sent()
    finally:
        sender(get_settings()).close()
        controller.stop()


@pytest.mark.network  # an SMTP server of its own (start_smtp)
def test_a_rotated_smtp_password_is_read_again_after_a_refused_login(monkeypatch):
    """A warm function keeps the password it read; when the server refuses it, the next try reads SSM again."""
    import boto3
    from moto import mock_aws

    catcher, logins = Catcher(), []
    controller = start_smtp(
        catcher, authenticator=_authenticator(logins), auth_require_tls=False, auth_exclude_mechanism=["LOGIN"]
    )  # one mechanism: one login try per connection
    mail = _hello_carl()
    try:
        with mock_aws():
            ssm = boto3.client("ssm", region_name="us-east-1")
            ssm.put_parameter(Name="/ats/test/rotated", Value="old-password", Type="SecureString")
            for name, value in {
                "ATS_EMAIL_BACKEND": "smtp",
                "ATS_SMTP_HOST": "localhost",
                "ATS_SMTP_TLS": "none",
                "ATS_SMTP_PORT": str(controller.port),
                "ATS_SMTP_USER": "ats",
                "ATS_SMTP_PASSWORD_PARAMETER": "/ats/test/rotated",
            }.items():
                monkeypatch.setenv(name, value)
            monkeypatch.delenv("ATS_SMTP_PASSWORD", raising=False)
            smtp = sender(get_settings())
            with pytest.raises(smtplib.SMTPAuthenticationError):
                smtp.send(mail)
            ssm.put_parameter(Name="/ats/test/rotated", Value="s3cret", Type="SecureString", Overwrite=True)
            smtp.send(mail)
        assert logins == [False, True] and [m["To"] for m in catcher.messages] == ["Carl <carl@example.com>"]
    finally:
        sender(get_settings()).close()
        controller.stop()


def test_ses_sends_through_the_v2_api(api_client, mail_env, monkeypatch):
    import boto3
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    monkeypatch.setenv("ATS_EMAIL_BACKEND", "ses")
    monkeypatch.setenv("ATS_EMAIL_FROM", "no-reply@ats.example.com")
    with mock_aws():
        boto3.client("sesv2", region_name="us-east-1").create_email_identity(EmailIdentity="ats.example.com")
        api_client.register("carl@example.com", name="Carl")
        sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
        assert len(sent) == 1
        assert sent[0].destinations["ToAddresses"] == ["Carl <carl@example.com>"]
        assert sent[0].subject == "Welcome to ATS, Carl"
        assert "Welcome to ATS" in sent[0].body
    assert all_sent()


@pytest.mark.network  # a TCP server of its own that never answers
def test_an_ses_send_to_a_silent_endpoint_gives_up_after_one_attempt_of_the_smtp_timeout(monkeypatch):
    """A relay pass starts a send only with ATS_SMTP_TIMEOUT + 1 s left: an SES call must not wait
    longer than that timeout, nor be retried by botocore inside the pass (the outbox retries it)."""
    import socket
    import threading

    from botocore.exceptions import ReadTimeoutError

    from chalicelib.messaging.senders import SesSender

    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        with server:
            while True:
                try:
                    accepted.append(server.accept()[0])  # read nothing, answer nothing
                except OSError:
                    return

    threading.Thread(target=accept, daemon=True).start()
    for name, value in {
        "AWS_ENDPOINT_URL_SESV2": f"http://127.0.0.1:{server.getsockname()[1]}",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "ATS_EMAIL_BACKEND": "ses",
        "ATS_SMTP_TIMEOUT": "0.5",
    }.items():
        monkeypatch.setenv(name, value)
    mail = _hello_carl()
    try:
        with pytest.raises(ReadTimeoutError):
            SesSender(get_settings()).send(mail)
        assert len(accepted) == 1  # botocore's default retries would have connected again
    finally:
        server.close()
        for connection in accepted:
            connection.close()


def _hello_carl():
    from chalicelib.messaging.emails import Email

    return Email(
        event_id="e1",
        recipient="u1",
        to="carl@example.com",
        to_name="Carl",
        template="welcome",
        subject="Hello",
        text="Hello",
        html="<p>Hello</p>",
    )
