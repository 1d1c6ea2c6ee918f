"""Email delivery benchmark (`make bench-email`), on real components started here: a private
redis-server on a free port, one Celery worker (8 threads, as `make worker`), an aiosmtpd server
in this process, SQLite in a temporary directory.

    python -m bench.email [--changes 200] [--emails 1000]

1. Latency: a status change through the API (chalice.test.Client, in-process, never `chalice
   local`) until its email is accepted by the SMTP server, one change at a time; median and p99.
   The clock is this process's, which both makes the request and runs the SMTP server.
2. Throughput: with the worker stopped, 1 000 welcome emails are queued; the worker is started
   and the rate is measured from the first email accepted to the last.

Targets: median <= 50 ms, >= 300 emails/s. Nothing asserts them: the report says whether they hold.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from chalicelib.localports import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEDIAN_TARGET_MS = 50.0
RATE_TARGET = 300.0


def wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.01)


class Catcher:
    """Counts accepted messages and notes when each arrived."""

    def __init__(self):
        self.arrivals: list[float] = []
        self.changed = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        with self.changed:
            self.arrivals.append(time.perf_counter())
            self.changed.notify_all()
        return "250 OK"

    def wait_count(self, count: int, timeout: float = 30.0) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.arrivals) >= count, timeout):
                raise SystemExit(f"timed out waiting for email #{count}")
            return self.arrivals[count - 1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its threads (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values, fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=200, help="status changes timed (4 per application)")
    parser.add_argument("--emails", type=int, default=1000, help="emails for the throughput run")
    parser.add_argument("--profile", help="run the throughput worker under cProfile, writing here")
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")

    from aiosmtpd.controller import Controller

    work = tempfile.mkdtemp(prefix="ats-bench-email-")
    redis_port = free_port()
    catcher = Catcher()
    smtp = Controller(catcher, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {
        "ATS_STORAGE": "sqlite",
        "ATS_SQLITE_PATH": os.path.join(work, "ats.db"),
        "ATS_STATE_DIR": os.path.join(work, "state"),
        "ATS_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "ATS_EMAIL_BACKEND": "smtp",
        "ATS_SMTP_HOST": "127.0.0.1",
        "ATS_SMTP_PORT": str(smtp.port),
        "ATS_SMTP_TLS": "none",
        "ATS_PASSWORD_HASH_PROFILE": "fast",
    }
    os.environ.update(env)
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    worker_log = os.path.join(work, "worker.log")
    worker = None

    def start_worker(profile=None):
        prefix = ["-m", "cProfile", "-o", profile] if profile else []
        with open(worker_log, "a") as log:  # the worker keeps its own copy of the descriptor
            started = subprocess.Popen(
                [
                    sys.executable,
                    *prefix,
                    "-m",
                    "celery",
                    "-A",
                    "chalicelib.messaging.celery_app",
                    "worker",
                    "--pool=threads",
                    "--concurrency=8",
                    "--without-mingle",
                    "--without-gossip",
                    "--without-heartbeat",
                    "--loglevel=WARNING",
                ],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": ROOT},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return started

    try:
        from chalice.test import Client

        from app import app
        from tests.conftest import Api

        worker = start_worker()
        with Client(app, stage_name="dev", project_dir=ROOT) as client:
            api = Api(client)
            _, recruiter = api.signup("rita@example.com", "recruiter")
            _, candidate = api.signup("carl@example.com")
            applications = [
                api.apply(candidate, api.create_job(recruiter, title=f"Engineer {n}")["id"])
                for n in range((args.changes + 3) // 4)
            ]
            expected = 2 + 2 * len(applications)
            catcher.wait_count(expected, timeout=120)  # the worker is up and the set-up is sent

            # 1. latency, one change at a time
            latencies: list[float] = []
            for status in ("screening", "shortlisted", "selected", "hired"):
                for application in applications:
                    if len(latencies) == args.changes:
                        break
                    started = time.perf_counter()
                    reply = api.post(
                        "/applications/change-status",
                        {"application_id": application["id"], "status": status},
                        token=recruiter,
                    )
                    assert reply.status == 200, reply.body
                    expected += 1
                    latencies.append((catcher.wait_count(expected) - started) * 1000)

            # 2. throughput: queue a backlog with the worker stopped, then let it drain
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
            from chalicelib import bootstrap
            from chalicelib.services import users

            for n in range(args.emails):
                users.register(
                    bootstrap.context(),
                    email=f"user{n}@example.com",
                    password="correct horse battery",
                    name=f"User {n}",
                )
            first = expected + 1
            worker = start_worker(args.profile)
            t_first = catcher.wait_count(first, timeout=120)
            cpu_first = cpu_seconds(worker.pid)
            t_last = catcher.wait_count(expected + args.emails, timeout=300)
            cpu_ms = (cpu_seconds(worker.pid) - cpu_first) * 1000 / (args.emails - 1)
            rate = (args.emails - 1) / (t_last - t_first)
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
        redis.terminate()
        redis.wait()
        smtp.stop()

    median, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    result = {
        "changes": len(latencies),
        "median_ms": round(median, 2),
        "p99_ms": round(p99, 2),
        "emails": args.emails,
        "emails_per_s": round(rate, 1),
        "worker_cpu_ms_per_email": round(cpu_ms, 2),
        "load_average": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "median_target_met": median <= MEDIAN_TARGET_MS,
        "rate_target_met": rate >= RATE_TARGET,
    }
    print(
        f"status change -> SMTP accepted, {len(latencies)} changes: median {median:.1f} ms, p99 {p99:.1f} ms "
        f"(target median <= {MEDIAN_TARGET_MS:.0f} ms: {'met' if result['median_target_met'] else 'MISSED'})"
    )
    print(
        f"worker throughput, {args.emails} emails to SMTP: {rate:.0f} emails/s "
        f"(target >= {RATE_TARGET:.0f}/s: {'met' if result['rate_target_met'] else 'MISSED'}); "
        f"worker CPU {cpu_ms:.2f} ms/email; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(json.dumps(result))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
