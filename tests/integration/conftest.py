"""Real components for the email tests: a private redis-server, Celery worker subprocesses, and
an aiosmtpd SMTP server that collects (or refuses, or stalls on) what arrives.

Each test gets its own Redis on a free port (never the system's 6379), its own SQLite file and
state directory, shared with its workers through the environment.
"""

import asyncio
import email
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from email.message import Message

import pytest

from chalicelib.localports import free_port
from tests.conftest import ROOT, Api, require_service

PYTHON = sys.executable

# Short bounds so the fault tests finish by themselves: redelivery after 6 s, a claim's lease of
# 4 s (under it), SMTP timeout 3 s (under the lease), retries every 0.25-2 s.
FAST_EMAIL = {
    "ATS_CELERY_VISIBILITY_TIMEOUT": "6",
    "ATS_EMAIL_LEASE_SECONDS": "4",
    "ATS_SMTP_TIMEOUT": "3",
    "ATS_EMAIL_RETRY_BASE": "0.5",
    "ATS_EMAIL_RETRY_MAX": "2",
    "ATS_EMAIL_MAX_RETRIES": "15",
}


def cli(env: dict, *arguments: str) -> str:
    """`python -m chalicelib.cli <arguments>` in that environment, as an operator runs it: what it printed."""
    done = subprocess.run(
        [PYTHON, "-m", "chalicelib.cli", *arguments], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def relay_once(env: dict) -> dict:
    """One relay pass (`cli relay --once`): its report."""
    return json.loads(cli(env, "relay", "--once"))


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll until predicate() is truthy; fail the test saying what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class RedisServer:
    """redis-server on a free port, with an append-only file so a restart keeps its queue."""

    def __init__(self, directory):
        self.port = free_port()
        self.directory = str(directory)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        os.makedirs(self.directory, exist_ok=True)
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                self.directory,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(self.ping, 10, "redis-server to answer")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def client(self):
        import redis

        return redis.Redis(port=self.port, socket_timeout=5)

    def drained(self) -> bool:
        """No task waiting in the queue nor delivered and unacknowledged."""
        client = self.client()
        try:
            return client.llen("ats-email") == 0 and client.hlen("unacked") == 0
        finally:
            client.close()


@pytest.fixture
def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        require_service("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


class Catcher:
    """An SMTP handler that keeps every message it accepts; it can refuse for a while, refuse
    for good, or stall on one message until released."""

    def __init__(self):
        self.messages: list[Message] = []
        self.peers: list = []
        self.lock = threading.Lock()
        self.refuse_after: int | None = None  # start refusing once this many messages arrived
        self.refuse_seconds = 0.0
        self.refusing_since: float | None = None
        self.refused = 0
        self.permanent_refusal = False
        self.stall_at: int | None = None  # stall on the message that would be this count
        self.stalled = threading.Event()
        self.release = threading.Event()

    def _refusing(self) -> bool:
        if self.refuse_after is None or len(self.messages) < self.refuse_after:
            return False
        if self.refusing_since is None:
            self.refusing_since = time.monotonic()
        return time.monotonic() - self.refusing_since < self.refuse_seconds

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.permanent_refusal:
            return "550 5.1.1 No such mailbox here"
        if self._refusing():
            self.refused += 1
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.stall_at is not None and len(self.messages) + 1 == self.stall_at and not self.stalled.is_set():
            self.stalled.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
            return "451 4.3.0 Stalled"  # to a client that is gone by now
        message = email.message_from_bytes(envelope.original_content or envelope.content)
        with self.lock:
            self.messages.append(message)
            self.peers.append(session.peer)
        return "250 OK"

    def count(self) -> int:
        return len(self.messages)

    def since(self, start: int) -> list[Message]:
        with self.lock:
            return self.messages[start:]


def duplicates(messages) -> dict:
    counts = Counter((m["X-ATS-Event-Id"], m["To"]) for m in messages)
    return {key: n for key, n in counts.items() if n > 1}


def start_smtp(handler, **options):
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    return controller


@pytest.fixture
def smtp_catcher():
    catcher = Catcher()
    controller = start_smtp(catcher)
    catcher.port = controller.port
    yield catcher
    catcher.release.set()
    controller.stop()


@pytest.fixture
def mail_env(tmp_path, monkeypatch):
    """A private SQLite store and state directory, in this process's environment (the API's)."""
    values = {
        "ATS_STORAGE": "sqlite",
        "ATS_SQLITE_PATH": str(tmp_path / "ats.db"),
        "ATS_STATE_DIR": str(tmp_path / "state"),
        "ATS_EMAIL_BACKEND": "file",
        **FAST_EMAIL,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ATS_REDIS_URL", raising=False)
    from chalicelib import bootstrap

    bootstrap.reset()  # the broker's connection and pause, of an earlier test
    yield values
    bootstrap.reset()


@pytest.fixture
def api_client(mail_env):
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="dev", project_dir=ROOT) as client:
        yield Api(client)


class Worker:
    """`celery worker` in a subprocess, as `make worker` runs it."""

    def __init__(self, env: dict, log_path):
        self.env = env
        self.log_path = str(log_path)
        self.process = None
        self.started = 0

    def start(self) -> None:
        self.started += 1
        with open(self.log_path, "a") as log:  # the worker keeps its own copy of the descriptor
            log.write(f"\n===== start {self.started} =====\n")
            log.flush()
            self.process = subprocess.Popen(
                [
                    PYTHON,
                    "-m",
                    "celery",
                    "-A",
                    "chalicelib.messaging.celery_app",
                    "worker",
                    "--pool=solo",
                    "--without-mingle",
                    "--without-gossip",
                    "--without-heartbeat",
                    "--loglevel=INFO",
                    "-n",
                    f"test{self.started}@%h",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        mark = f"test{self.started}@"

        def ready():
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            text = self.log()
            return mark in text and "ready." in text[text.rfind("===== start") :]

        wait_for(ready, 60, "the Celery worker to be ready", interval=0.1)

    def log(self) -> str:
        with open(self.log_path) as f:
            return f.read()

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement of what it was doing."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def broker_env(mail_env, redis_server, smtp_catcher, monkeypatch):
    """The API publishes to the private Redis; workers send to the catcher by SMTP."""
    monkeypatch.setenv("ATS_REDIS_URL", redis_server.url)
    for name, value in {
        "ATS_EMAIL_BACKEND": "smtp",
        "ATS_SMTP_HOST": "127.0.0.1",
        "ATS_SMTP_PORT": str(smtp_catcher.port),
        "ATS_SMTP_TLS": "none",
    }.items():
        monkeypatch.setenv(name, value)
    return dict(os.environ)


@pytest.fixture
def worker(broker_env, tmp_path):
    env = {**broker_env, "PYTHONPATH": ROOT}
    running = Worker(env, tmp_path / "worker.log")
    running.start()
    yield running
    running.stop()


def outbox_counts() -> Counter:
    from chalicelib.bootstrap import unit_of_work
    from chalicelib.config import get_settings

    counts = Counter()
    with unit_of_work(get_settings()) as uow:
        for status in ("pending", "retrying", "published", "sent", "failed"):
            counts[status] = len(uow.outbox.list(status=status, limit=100000))
    return counts


def all_sent() -> bool:
    counts = outbox_counts()
    return counts["pending"] == counts["retrying"] == counts["published"] == counts["failed"] == 0
