"""20 clients applying to one job at once, for 60 s, over HTTP, on DynamoDB Local (`make bench-load`).

    python -m bench.load [--clients 20] [--seconds 60] [--candidates 8000]

What a viral job does to the API: every client, on a thread of its own with its own keep-alive
connection, posts `POST /applications/create` for the one job, each time as the next candidate
(a candidate applies to a job once), as fast as the answers come, until the time is up.

The server is the one `make run-dynamodb` starts (`python -m deploy.serve --stage
dynamodb-local`), on a free port, against a fresh DynamoDB Local (in memory) on another; its
emails go to files, by its delivery thread, as they do there. The recruiter, the job and the
candidates with their sessions are seeded first through the storage layer and the sessions
service on the same table and state directory (so the server accepts their tokens), not over
HTTP: argon2 and the login throttle are not what this measures.

It reports the answers by status (anything but 201 is an error: a conflict the server did not
retry away answers 409 or 503), throughput, and the latency of the 201s (p50, p99, max), and
checks afterwards that the job holds exactly one application per 201. Nothing here asserts a time.
"""

import argparse
import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from bench.api import ROOT

PASSWORD = "correct horse battery"


def seed(candidates: int) -> tuple[str, list[str], str]:
    """A recruiter's open job and `candidates` candidates with an access token each; and the
    recruiter's token. Written through the unit of work, 33 accounts a transaction, 8 at a time."""
    from chalicelib import bootstrap
    from chalicelib.auth.passwords import hash_password
    from chalicelib.domain.models import Job, Principal, Role, User
    from chalicelib.services import sessions

    settings = bootstrap.settings()
    password_hash = hash_password(PASSWORD, "fast")
    recruiter = User.register(email="rita@load.example", name="Rita", role=Role.RECRUITER, password_hash=password_hash)
    job = Job.publish(owner=Principal(recruiter.id, recruiter.role), title="A viral job")
    with bootstrap.unit_of_work(settings) as uow:
        uow.users.add(recruiter)
        uow.commit()
    with bootstrap.unit_of_work(settings) as uow:
        uow.jobs.add(job)
        uow.commit()

    emails = [f"c{i}@load.example" for i in range(candidates)]

    def register(part: list[str]) -> None:
        with bootstrap.unit_of_work(settings) as uow:
            for email in part:
                uow.users.add(User.register(email=email, name="C", role=Role.CANDIDATE, password_hash=password_hash))
            uow.commit()

    def login(email: str) -> str:
        return sessions.login(bootstrap.context(), email=email, password=PASSWORD).access_token

    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(register, [emails[first : first + 33] for first in range(0, candidates, 33)]))
        tokens = list(pool.map(login, emails))
    print(f"bench: seeded {candidates} candidates with sessions in {time.perf_counter() - started:.1f} s", flush=True)
    return job.id, tokens, login("rita@load.example")


@contextlib.contextmanager
def server(env: dict[str, str]):
    """`python -m deploy.serve --stage dynamodb-local` on a free port, until the block ends."""
    from chalicelib.localports import free_port

    port = free_port()
    with open(os.path.join(env["ATS_STATE_DIR"], "server.log"), "w") as log:
        yield from _serving(env, port, log)


def _serving(env: dict[str, str], port: int, log):
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.serve", "--host", "127.0.0.1", "--port", str(port), "--stage", "dynamodb-local"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/ping")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"bench: the server did not start (see {log.name})") from None
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def run(clients: int, seconds: float, candidates: int) -> int:
    from chalicelib.storage.dynamodb_local import DynamoDBLocal, missing_reason

    reason = missing_reason()
    if reason:
        raise SystemExit(f"bench: {reason}")
    with contextlib.ExitStack() as cleanup:
        workdir = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="ats-load-"))
        dynamodb = cleanup.enter_context(DynamoDBLocal.start())
        env = {
            **os.environ,
            "ATS_STAGE": "dev",
            "ATS_STATE_DIR": workdir,
            "ATS_STORAGE": "dynamodb",
            "ATS_DYNAMODB_CREATE_TABLES": "true",
            "ATS_PASSWORD_HASH_PROFILE": "fast",
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb.endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        }
        env.pop("ATS_REDIS_URL", None)
        os.environ.update(env)
        sys.path.insert(0, ROOT)
        job_id, tokens, recruiter = seed(candidates)
        port = cleanup.enter_context(server(env))

        body = json.dumps({"job_id": job_id, "cover_letter": "Hello"})
        lock = threading.Lock()
        unused = iter(tokens)
        answers: list[tuple[int, float]] = []  # (status, ms)
        bodies: Counter = Counter()
        start = threading.Barrier(clients)
        run_out = threading.Event()

        def client() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            start.wait()
            ends = time.monotonic() + seconds
            while time.monotonic() < ends:
                with lock:
                    token = next(unused, None)
                if token is None:
                    run_out.set()
                    return
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                sent = time.perf_counter()
                try:
                    connection.request("POST", "/applications/create", body=body, headers=headers)
                    response = connection.getresponse()
                    reply = response.read()
                    status = response.status
                except OSError as error:  # the connection broke: counted, and a new one
                    status, reply = 0, str(error).encode()
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                ms = (time.perf_counter() - sent) * 1000
                with lock:
                    answers.append((status, ms))
                    if status != 201:
                        bodies[reply[:200]] += 1

        print(f"bench: {clients} clients applying to one job for {seconds:g} s", flush=True)
        began = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            for future in [pool.submit(client) for _ in range(clients)]:
                future.result()
        took = time.perf_counter() - began

        statuses = Counter(status for status, _ in answers)
        created = sorted(ms for status, ms in answers if status == 201)
        listed = count_applications(port, job_id, recruiter)
        print(f"\nPOST /applications/create, {clients} clients, one job, {took:.1f} s, DynamoDB Local")
        print(f"  answers: {dict(sorted(statuses.items()))}  ({len(answers) / took:.0f}/s)")
        if created:
            p99 = created[max(0, int(0.99 * len(created) + 0.5) - 1)]
            print(
                f"  201 latency ms: p50 {statistics.median(created):.1f}  p99 {p99:.1f}  max {created[-1]:.1f}"
                f"  (n {len(created)})"
            )
        print(f"  applications the job holds: {listed} (201s: {statuses[201]})")
        for reply, count in bodies.most_common(5):
            print(f"  not 201 x{count}: {reply.decode(errors='replace')}")
        if run_out.is_set():
            print(f"  the {candidates} candidates ran out before the time did: raise --candidates")
        clean = set(statuses) == {201} and listed == statuses[201]
        print(f"  clean (only 201s, one application each): {'yes' if clean else 'NO'}")
        return 0


def count_applications(port: int, job_id: str, token: str) -> int:
    """The job's applications, as the recruiter lists them (every page)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    total, cursor = 0, None
    while True:
        path = f"/applications?job_id={job_id}&limit=100" + (f"&cursor={cursor}" if cursor else "")
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        page = json.loads(connection.getresponse().read())
        total += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--candidates", type=int, default=8000, help="accounts seeded, one per application")
    args = parser.parse_args(argv)
    return run(args.clients, args.seconds, args.candidates)


if __name__ == "__main__":
    sys.exit(main())
