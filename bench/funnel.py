"""A job's funnel at 100 and at 100 000 applications, and concurrent moves on one job (`make bench-funnel`).

    python -m bench.funnel [--backend sqlite|dynamodb ...] [--calls 500] [--small 100] [--big 100000]
                           [--movers 50] [--concurrency]

With no --backend, SQLite then DynamoDB Local, each in a fresh interpreter (bench/api.py's backends).

1. Funnel latency. Two jobs of the default pipeline are seeded through the storage layer, one with
   `--small` applications and one with `--big`: each application is `Application.submit` and
   `uow.applications.add`, and three in ten are then moved (`Application.move`, `save`) to
   Screening, one in ten to Shortlisted, so the counters are what real applies and moves write.
   GET /jobs/{id}/funnel is timed warm through chalice.test.Client (median, p99 over --calls
   calls each); the target is big / small <= 1.2 (medians). The DynamoDB calls of one request are
   counted by a botocore hook, and the funnel read back is checked against what was seeded.
2. Concurrent moves (DynamoDB Local; --concurrency: this part alone). A third job with --movers
   applications; that many POST /applications/{id}/move, one per application, each on a thread
   of its own through Chalice's LocalGateway, released together by a barrier. Every
   TransactWriteItems is recorded by a botocore hook: its item keys, when it was sent and
   answered, and the cancellation reasons of a TransactionCanceledException, counted by the key
   prefix of the item each reason is for (FUNNEL#: the counters; the rest: others). The target:
   no conflict caused by the counters.

   DynamoDB Local runs transactions one at a time, so it reports no TransactionConflict whatever
   the design. The bench therefore also counts, from the same record, the transactions that were
   in flight together and wrote an item in common, by that item's prefix: where real DynamoDB,
   which refuses a transaction on an item another one holds, could have cancelled them.

Seeding a unit of work holds several applications of one job, whose counter additions land on the
same few items (one per stage and shard); a transaction writes an item once, so the additions a
unit of work stages for one counter item are folded into one (as many moves one after the other
would leave it). Nothing here asserts a time.
"""

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bench.api import BACKENDS, ROOT, Bench, Row, logs_to_file, seed_user, wait_for_deliveries

RATIO_TARGET = 1.2  # funnel median at --big applications / at --small
APPLIES_PER_UOW = 15  # 5 items each (guard, application, history, visit, event), the candidate's
# check, and the Applied counter on at most 8 shards: 98 items
MOVES_PER_UOW = 14  # 5 items each (application, history, visit closed, visit opened, event), the
# mover's check, and the counters of the 3 stages moves leave or enter on at most 8 shards: 95 items
USERS_PER_UOW = 33  # 3 items each: the account, its email guard, its event
COUNTER_PREFIX = "FUNNEL#"


def moved_to(index: int) -> str | None:
    """Where seeded application `index` moves after applying: 3 in 10 to Screening, 1 in 10 to Shortlisted."""
    return {0: "Screening", 1: "Screening", 2: "Screening", 3: "Shortlisted"}.get(index % 10)


def expected_funnel(count: int) -> dict[str, tuple[int, int]]:
    """Stage name -> (current, entered) after seeding `count` applications."""
    targets = Counter(moved_to(i) for i in range(count))
    screening, shortlisted = targets["Screening"], targets["Shortlisted"]
    return {
        "Applied": (count - screening - shortlisted, count),
        "Screening": (screening, screening),
        "Shortlisted": (shortlisted, shortlisted),
        "Selected": (0, 0),
        "Hired": (0, 0),
    }


# --- DynamoDB calls, seen by a botocore hook -----------------------------------------------------


@dataclass
class Transaction:
    keys: list[tuple[str, str]]
    sent: float
    answered: float = 0.0
    reasons: list[str] = field(default_factory=list)  # one code per item ("None": not its fault)


class Calls:
    """Every DynamoDB call of this process (built-in handlers, so every botocore session made from
    now on reports, PynamoDB's too); TransactWriteItems with their keys, times and reasons."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.transactions: list[Transaction] = []
        self._lock = threading.Lock()
        import botocore.handlers

        botocore.handlers.BUILTIN_HANDLERS.append(("before-call.dynamodb", self._before))
        botocore.handlers.BUILTIN_HANDLERS.append(("after-call.dynamodb.TransactWriteItems", self._after))

    def clear(self) -> None:
        with self._lock:
            self.names.clear()
            self.transactions.clear()

    def _before(self, model, params, context, **_) -> None:
        with self._lock:
            self.names.append(model.name)
        if model.name == "TransactWriteItems":
            items = json.loads(params["body"])["TransactItems"]
            keys = [(k["PK"]["S"], k["SK"]["S"]) for k in (_key_of(item) for item in items)]
            context["bench_transaction"] = transaction = Transaction(keys, time.perf_counter())
            with self._lock:
                self.transactions.append(transaction)

    def _after(self, parsed, context, **_) -> None:
        transaction = context.get("bench_transaction")
        if transaction is not None:
            transaction.answered = time.perf_counter()
            transaction.reasons = [str(r.get("Code", "None")) for r in parsed.get("CancellationReasons", [])]


def _key_of(item: dict) -> dict:
    ((_, operation),) = item.items()  # {"Put": {...}} and the like
    return operation.get("Key") or {"PK": operation["Item"]["PK"], "SK": operation["Item"]["SK"]}


def prefix(key: tuple[str, str]) -> str:
    return key[0].split("#", 1)[0] + "#"


# --- Seeding, through the storage layer ----------------------------------------------------------


def in_units(indexes: list[int], per_uow: int, threads: int, write) -> None:
    """write(part) for consecutive parts of `per_uow` of the indexes, `threads` at a time."""
    parts = [indexes[first : first + per_uow] for first in range(0, len(indexes), per_uow)]
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(write, parts):  # re-raises the first failure
            pass


def seed_job(recruiter, count: int, threads: int, label: str, moved: bool = True):
    """A job of the default pipeline with `count` applications (of as many candidates), moved as
    `moved_to` says (all left in Applied unless `moved`). Returns the job and its applications."""
    from chalicelib import bootstrap
    from chalicelib.domain.models import Application, Job, Principal, Role, User

    settings = bootstrap.settings()
    owner = Principal(user_id=recruiter.id, role=recruiter.role)
    job = Job.publish(owner=owner, title=f"Funnel of {label}")
    with bootstrap.unit_of_work(settings) as uow:
        uow.jobs.add(job)
        uow.commit()
    stages = {stage.name: stage.id for stage in job.stages}
    candidates: list[Principal] = []
    applications: list[Application] = []

    def register(part: list[int]) -> None:
        with bootstrap.unit_of_work(settings) as uow:
            for i in part:
                user = User.register(
                    email=f"c{i}@{label}.example", name=f"C{i}", role=Role.CANDIDATE, password_hash="-"
                )
                uow.users.add(user)
                candidates[i] = Principal(user_id=user.id, role=user.role)
            uow.commit()

    def apply(part: list[int]) -> None:
        with bootstrap.unit_of_work(settings) as uow:
            for i in part:
                applications[i] = Application.submit(job=job, candidate=candidates[i], cover_letter=None)
                uow.applications.add(applications[i])
            uow.commit()

    def move(part: list[int]) -> None:
        with bootstrap.unit_of_work(settings) as uow:
            for i in part:
                a, target = applications[i], stages[str(moved_to(i))]
                a.move(job, actor=owner, from_stage_id=str(a.stage_id), to_stage_id=target, note=None)
                uow.applications.save(a)
            uow.commit()

    started = time.perf_counter()
    everyone = list(range(count))
    candidates[:] = [owner] * count  # placeholders, each replaced by its own candidate
    applications[:] = [None] * count  # type: ignore[list-item]  # each filled in by apply
    in_units(everyone, USERS_PER_UOW, threads, register)
    in_units(everyone, APPLIES_PER_UOW, threads, apply)
    in_units([i for i in everyone if moved and moved_to(i)], MOVES_PER_UOW, threads, move)
    print(f"bench: seeded {count} applications ({label}) in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return job, applications


# --- The workload --------------------------------------------------------------------------------


def funnel_of(bench: Bench, job_id: str, token: str) -> dict[str, tuple[int, int]]:
    reply = bench.call("GET", f"/jobs/{job_id}/funnel", token=token)
    return {stage["name"]: (stage["current"], stage["entered"]) for stage in reply["funnel"]["stages"]}


def time_funnels(bench: Bench, calls: Calls, jobs: dict[str, tuple], token: str, n: int) -> list[tuple[Row, Counter]]:
    """Each job's funnel: correct, warmed up, then timed over n calls; with its DynamoDB calls per request."""
    for label, (job, count) in jobs.items():
        got, wanted = funnel_of(bench, job.id, token), expected_funnel(count)
        verdict = "as seeded" if got == wanted else f"WRONG: {got}, seeded {wanted}"
        print(f"  funnel of the job of {label}: {verdict}", flush=True)
    for _ in range(100):
        for job, _ in jobs.values():
            bench.call("GET", f"/jobs/{job.id}/funnel", token=token)
    timed = []
    for label, (job, _) in jobs.items():
        calls.clear()
        row = bench.measure(f"GET /jobs/{{id}}/funnel ({label})", [("GET", f"/jobs/{job.id}/funnel", None, token)] * n)
        timed.append((row, Counter({name: count / n for name, count in Counter(calls.names).items()})))
    return timed


def race_moves(app, calls: Calls, job, applications: list, token: str) -> list[int]:
    """One move per application, each on a thread of its own, released together; their statuses."""
    from chalice.config import Config
    from chalice.local import LocalGateway

    gateway = LocalGateway(app, Config())
    stages = {stage.name: stage.id for stage in job.stages}
    body = json.dumps({"from_stage_id": stages["Applied"], "to_stage_id": stages["Screening"]}).encode()
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    barrier = threading.Barrier(len(applications))

    def move(application_id: str) -> int:
        barrier.wait()
        return gateway.handle_request("POST", f"/applications/{application_id}/move", dict(headers), body)["statusCode"]

    calls.clear()
    with ThreadPoolExecutor(len(applications)) as pool:
        statuses = list(pool.map(move, [a.id for a in applications]))
    wait_for_deliveries()  # their emails, before the store goes
    return statuses


def conflicts(transactions: list[Transaction]) -> tuple[Counter, Counter]:
    """(cancellation reasons by item prefix and code, transactions in flight together with another
    one that writes an item of theirs, by that item's prefix)."""
    reasons: Counter = Counter()
    for t in transactions:
        for key, code in zip(t.keys, t.reasons, strict=False):
            if code != "None":
                reasons[f"{prefix(key)} {code}"] += 1
    overlapped: Counter = Counter()
    for t in transactions:
        alongside = [o for o in transactions if o is not t and o.sent < t.answered and t.sent < o.answered]
        common = {key for o in alongside for key in o.keys} & set(t.keys)
        for p in {prefix(key) for key in common}:
            overlapped[p] += 1
    return reasons, overlapped


def environment(backend_name: str, workdir: str, cleanup: contextlib.ExitStack) -> None:
    os.environ.update(
        {
            "ATS_STAGE": "dev",
            "ATS_STATE_DIR": os.path.join(workdir, "state"),
            "ATS_PASSWORD_HASH_PROFILE": "fast",
            "ATS_EMAIL_BACKEND": "file",
            **BACKENDS[backend_name].setup(workdir, cleanup),
        }
    )
    os.environ.pop("ATS_REDIS_URL", None)
    # Seeding commits several transactions of ~99 items at once; on a busy machine DynamoDB Local
    # may take longer than the default 5 s to answer one.
    os.environ.setdefault("ATS_DYNAMODB_READ_TIMEOUT", "60")


def run(backend_name: str, args: argparse.Namespace) -> None:
    backend = BACKENDS[backend_name]
    threads = backend.seed_threads
    calls = Calls()  # before any botocore session exists
    with contextlib.ExitStack() as cleanup:
        workdir = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="ats-bench-funnel-"))
        environment(backend_name, workdir, cleanup)
        from chalice.test import Client

        sys.path.insert(0, ROOT)
        from app import app

        client = cleanup.enter_context(Client(app, stage_name=backend.stage, project_dir=ROOT))
        logs_to_file(cleanup.enter_context(open(os.path.join(workdir, "ats.log"), "a")))
        bench = Bench(client, app)
        recruiter = seed_user("recruiter@bench.example", "recruiter")
        token = bench.call("POST", "/auth/login", {"email": recruiter.email, "password": "correct horse battery"})
        token = token["access_token"]
        print(f"\nbench-funnel, backend {backend.label} ({threads} seeding thread(s))", flush=True)

        if not args.concurrency:
            jobs = {}
            for count in (args.small, args.big):
                label = f"{count} applications"
                started = time.perf_counter()
                job, _ = seed_job(recruiter, count, threads, f"{count}")
                print(f"  seeded {label}: {time.perf_counter() - started:.1f} s", flush=True)
                jobs[label] = (job, count)
            (small, small_calls), (big, big_calls) = time_funnels(bench, calls, jobs, token, args.calls)
            print(f"\n  {'request':<46} {'n':>5} {'median ms':>10} {'p99 ms':>9}  DynamoDB calls per request")
            for row, per_request in ((small, small_calls), (big, big_calls)):
                named = ", ".join(f"{name} {count:g}" for name, count in sorted(per_request.items())) or "none"
                print(f"  {row.name:<46} {row.n:>5} {row.median:>10.3f} {row.p99:>9.3f}  {named}")
            ratio = big.median / small.median
            verdict = "yes" if ratio <= RATIO_TARGET else "NO"
            print(f"\n  funnel at {args.big} / at {args.small} (medians): {ratio:.2f}x", end="")
            print(f" (target <= {RATIO_TARGET}x: {verdict})")

        if backend_name == "dynamodb" and args.movers:
            job, applications = seed_job(recruiter, args.movers, threads, "movers", moved=False)
            statuses = race_moves(app, calls, job, applications, token)
            reasons, overlapped = conflicts(calls.transactions)
            print(f"\n  {len(statuses)} concurrent moves on one job: statuses {dict(Counter(statuses))}")
            print(f"  TransactWriteItems sent: {len(calls.transactions)} (retries included)")
            on_counters = sum(n for reason, n in reasons.items() if reason.startswith(COUNTER_PREFIX))
            print(f"  cancellation reasons on counter items ({COUNTER_PREFIX}...): {on_counters}")
            others = {r: n for r, n in reasons.items() if not r.startswith(COUNTER_PREFIX)}
            print(f"  cancellation reasons on other items: {sum(others.values())} {others or ''}")
            verdict = "yes" if on_counters == 0 else "NO"
            print(f"  target: none caused by the counters: {verdict} (as DynamoDB Local reports: it serialises them)")
            print("  in flight together and writing an item in common (where real DynamoDB may cancel),")
            print("  transactions by item prefix: " + ", ".join(f"{p} {n}" for p, n in overlapped.most_common()))
            written = Counter(key for t in calls.transactions for key in t.keys if key[0].startswith(COUNTER_PREFIX))
            print(
                f"  counter items written: {len(written)} distinct, each by up to {max(written.values(), default=0)}"
                f" of the {len(calls.transactions)} transactions"
            )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.funnel", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backend", action="append", choices=sorted(BACKENDS), help="sqlite or dynamodb (default both)"
    )
    parser.add_argument("--calls", type=int, default=500, help="timed funnel requests per job (default 500)")
    parser.add_argument("--small", type=int, default=100, help="applications of the small job (default 100)")
    parser.add_argument("--big", type=int, default=100_000, help="applications of the big job (default 100000)")
    parser.add_argument(
        "--movers", type=int, default=50, help="concurrent moves on DynamoDB Local (default 50; 0: none)"
    )
    parser.add_argument("--concurrency", action="store_true", help="only the concurrent moves (DynamoDB Local)")
    args = parser.parse_args(argv)
    backends = args.backend or (["dynamodb"] if args.concurrency else ["sqlite", "dynamodb"])
    if len(backends) == 1:
        run(backends[0], args)
        return 0
    for name in backends:  # each in a fresh interpreter: its own environment and caches
        done = subprocess.run(
            [sys.executable, "-m", "bench.funnel", "--backend", name, *(argv or sys.argv[1:])], cwd=ROOT
        )
        if done.returncode != 0:
            return done.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
