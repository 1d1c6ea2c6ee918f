"""What a job search costs, before and after the bounded searches, in one run (`make bench-search`).

    python -m bench.search [--before main] [--dynamodb-jobs 4000] [--sqlite-jobs 100000] [--calls 20]

The code of `--before` (a git ref, checked out in a scratch worktree) and the working tree's run the
same workload, each in a fresh interpreter on a fresh store:

  - on DynamoDB Local with --dynamodb-jobs jobs (80 % open): GET /jobs?q=zeppelin (matches nothing)
    and GET /jobs?location=Berlin&department=Nowhere, anonymous: per call the DynamoDB calls, the
    capacity DynamoDB says they consumed (ReturnConsumedCapacity) and the milliseconds; then the
    whole walk a client makes following next_cursor to the end; and POST /jobs/create: its WCU;
  - on SQLite with --sqlite-jobs jobs (80 % open): the same two searches, the rows a page reads
    (items decoded) and its milliseconds, and the whole walk.

Jobs are seeded as `make bench` seeds them (bench.api.seed_jobs: through the unit of work, so every
index and word item is written as the app writes it), "Seeded job <n>" in Berlin, Lisbon or Remote,
Engineering or Sales.
"""

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SEARCHES = {
    "q=zeppelin": "/jobs?q=zeppelin",
    "location=Berlin&department=Nowhere": "/jobs?location=Berlin&department=Nowhere",
}


# --- One side (a fresh interpreter on one tree) --------------------------------------------------


class RowsRead:
    """The items the SQLite driver decodes (one per row it reads), counted."""

    def __init__(self) -> None:
        from chalicelib.storage.drivers import sqlite

        self.count, real = 0, sqlite._decode

        def counted(doc):
            self.count += 1
            return real(doc)

        sqlite._decode = counted

    def take(self) -> int:
        taken, self.count = self.count, 0
        return taken


def side(tree: str, backend_name: str, jobs: int, calls: int) -> dict:
    """The workload on the code of `tree`; what it measured."""
    from bench.api import BACKENDS, Bench, DynamoDBCalls, seed_jobs, seed_user
    from bench.funnel import environment

    sys.path.insert(0, tree)  # the app and chalicelib of that tree (bench's are this one's): before any import of them
    backend = BACKENDS[backend_name]
    with contextlib.ExitStack() as cleanup:
        workdir = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="ats-bench-search-"))
        environment(backend_name, workdir, cleanup)
        from chalice.test import Client

        from app import app

        assert os.path.dirname(os.path.abspath(sys.modules["chalicelib"].__file__ or "")) == os.path.join(
            tree, "chalicelib"
        )
        client = cleanup.enter_context(Client(app, stage_name=backend.stage, project_dir=tree))
        bench = Bench(client, app)
        dynamodb = backend_name == "dynamodb"
        counter: DynamoDBCalls | RowsRead = DynamoDBCalls() if dynamodb else RowsRead()
        recruiter = seed_user("recruiter@bench.example", "recruiter")
        started = time.perf_counter()
        print(f"bench: seeding {jobs} jobs on {backend_name} ({tree})", file=sys.stderr, flush=True)
        seed_jobs(recruiter, jobs, backend.seed_batch, threads=backend.seed_threads)
        seeded_s = time.perf_counter() - started
        token = bench.call(
            "POST", "/auth/login", {"email": "recruiter@bench.example", "password": "correct horse battery"}
        )
        token = token["access_token"]
        for _ in range(5):  # warm the caches and the connection
            bench.call("GET", "/jobs")
        result: dict = {"seeded_s": round(seeded_s, 1), "searches": {}}
        for name, path in SEARCHES.items():
            result["searches"][name] = measure_search(bench, counter, path, calls if dynamodb else max(3, calls // 4))
        if dynamodb:
            assert isinstance(counter, DynamoDBCalls)
            result["create_job"] = measure_create(bench, counter, token, calls)
        return result


def measure_create(bench, counter, token: str, calls: int) -> dict:
    """POST /jobs/create: the calls, the capacity DynamoDB Local reports, and the WCU its transaction's
    items cost by DynamoDB's rules (DynamoDB Local reports a TransactWriteItems of 4 items as of 1)."""
    from chalicelib.bootstrap import unit_of_work
    from chalicelib.config import get_settings

    store = unit_of_work(get_settings()).storage.items
    transactions: list = []
    real = store.transact

    def recorded(operations):
        transactions.append(list(operations))
        return real(operations)

    store.transact = recorded  # type: ignore[method-assign]
    counter.take()
    created = []
    for n in range(calls):
        body = {"title": f"Senior Backend Engineer {n}", "location": "Berlin", "department": "Engineering"}
        bench.call("POST", "/jobs/create", body, token=token, expect=201)
        created.append(counter.take())
    store.transact = real  # type: ignore[method-assign]
    units = [write_units(operations) for operations in transactions]
    return {
        "calls": statistics.mode(mix for mix, _ in created),
        "reported": statistics.median(units for _, units in created),
        "items": statistics.mode(operations_of(operations) for operations in transactions),
        "wcu": statistics.median(table + indexes for table, indexes in units),
        "wcu_table": statistics.median(table for table, _ in units),
        "wcu_indexes": statistics.median(indexes for _, indexes in units),
    }


def write_units(operations) -> tuple[int, int]:
    """(table, indexes) WCU of a transaction: 2 a KB for each item it writes or checks (a check of an
    item under 1 KB: 2), 1 a KB for each index a put item is in (an index update is a plain write)."""
    from bench.billing import INDEX_ENTRY_OVERHEAD, item_size, units
    from chalicelib.storage.items import INDEXES, Check, Put

    table = indexes = 0
    for operation in operations:
        if isinstance(operation, Put):
            size = item_size(operation.item)
            table += 2 * units(size)
            indexes += units(size + INDEX_ENTRY_OVERHEAD) * sum(f"{index}PK" in operation.item for index in INDEXES)
        elif isinstance(operation, Check):
            table += 2
        else:
            raise SystemExit(f"bench: no size rule for {type(operation).__name__} in a create")
    return table, indexes


def operations_of(operations) -> str:
    """'Put Job, Put TeamMember, Put JobWord x3, Check'."""
    names = [
        f"Put {operation.item['type']}" if hasattr(operation, "item") else type(operation).__name__
        for operation in operations
    ]
    return ", ".join(f"{name} x{names.count(name)}" if names.count(name) > 1 else name for name in dict.fromkeys(names))


def measure_search(bench, counter, path: str, calls: int) -> dict:
    """The first page `calls` times (median ms, its calls or rows), then one walk to the end."""
    samples, costs = [], []
    counter.take()
    for _ in range(calls):
        started = time.perf_counter()
        body = bench.call("GET", path)
        samples.append((time.perf_counter() - started) * 1000)
        costs.append(counter.take())
    first = {"ms": round(statistics.median(samples), 2), "items": len(body["items"]), "more": bool(body["next_cursor"])}
    first.update(_cost(costs))
    walk_costs, pages, cursor, started = [], 0, None, time.perf_counter()
    while True:
        body = bench.call("GET", path + (f"&cursor={cursor}" if cursor else ""))
        walk_costs.append(counter.take())
        pages, cursor = pages + 1, body["next_cursor"]
        if cursor is None:
            break
    walk = {"pages": pages, "ms": round((time.perf_counter() - started) * 1000, 1)}
    walk.update(_cost(walk_costs, total=True))
    return {"first_page": first, "walk": walk}


def _cost(costs: list, *, total: bool = False) -> dict:
    """DynamoDB: (calls, capacity) per request; SQLite: rows read per request. Median, or sum."""
    from bench.api import _counted

    pick = sum if total else statistics.median
    if costs and isinstance(costs[0], tuple):
        return {
            "queries": pick([mix.split().count("Query") for mix, _ in costs]),
            "calls": _counted(costs[-1][0]) if not total else f"{sum(len(mix.split()) for mix, _ in costs)} calls",
            "rcu": round(pick([units for _, units in costs]), 1),
        }
    return {"rows": pick(costs)}


# --- Both sides, one table ----------------------------------------------------------------------


def worktree(ref: str, cleanup: contextlib.ExitStack) -> str:
    """The code of `ref` in a scratch worktree (removed afterwards), with this tree's links to the venv."""
    path = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="ats-bench-before-"))
    subprocess.run(
        ["git", "-C", ROOT, "worktree", "add", "--detach", "--force", path, ref], check=True, capture_output=True
    )
    cleanup.callback(subprocess.run, ["git", "-C", ROOT, "worktree", "remove", "--force", path], capture_output=True)
    for link in ("node_modules",):  # DynamoDB Local's jar
        if os.path.exists(os.path.join(ROOT, link)) and not os.path.exists(os.path.join(path, link)):
            os.symlink(os.path.realpath(os.path.join(ROOT, link)), os.path.join(path, link))
    return path


def print_table(results: dict[str, dict]) -> None:
    print("\n## DynamoDB Local: anonymous GET, first page (median) and the whole walk to the last page")
    print("| search | code | items | Queries | calls | RCU | ms | walk: pages, Queries, RCU, ms |")
    print_searches(results, "dynamodb", ("queries", "calls", "rcu", "ms"), ("pages", "queries", "rcu", "ms"))
    print("\n## SQLite: rows a page reads (median) and the whole walk")
    print("| search | code | items | rows read | ms | walk: pages, rows, ms |")
    print_searches(results, "sqlite", ("rows", "ms"), ("pages", "rows", "ms"))
    print("\n## DynamoDB Local: POST /jobs/create (a title of 4 words, 3 indexed; a location and a department)")
    print("| code | calls | transaction | WCU (table + indexes) | reported by DynamoDB Local |")
    print("|---|---|---|---|---|")
    for label in ("before", "after"):
        c = results[label]["dynamodb"]["create_job"]
        wcu = f"{c['wcu']:g} ({c['wcu_table']:g} + {c['wcu_indexes']:g})"
        print(f"| {label} | {c['calls']} | {c['items']} | {wcu} | {c['reported']:g} |")
    seeded = {label: {b: r[b]["seeded_s"] for b in ("dynamodb", "sqlite")} for label, r in results.items()}
    print(f"\nseeding took (s): {json.dumps(seeded)}")


def print_searches(results: dict[str, dict], backend: str, first_page: tuple, walk: tuple) -> None:
    print("|" + "---|" * (3 + len(first_page) + 1))
    for name in SEARCHES:
        for label in ("before", "after"):
            found = results[label][backend]["searches"][name]
            first = found["first_page"]
            cells = [name, label, f"{first['items']}{'+' if first['more'] else ''}"]
            cells += [str(first[column]) for column in first_page]
            cells.append(", ".join(str(found["walk"][column]) for column in walk))
            print("| " + " | ".join(cells) + " |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="main", help="the git ref of the code before (default: main)")
    parser.add_argument("--dynamodb-jobs", type=int, default=4000, help="jobs on DynamoDB Local (80 %% open)")
    parser.add_argument("--sqlite-jobs", type=int, default=100_000, help="jobs on SQLite (80 %% open)")
    parser.add_argument("--calls", type=int, default=20, help="timed first pages per search on DynamoDB")
    parser.add_argument("--side", nargs=3, metavar=("TREE", "BACKEND", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side:  # one side, in this fresh interpreter
        tree, backend, out = args.side
        jobs = args.dynamodb_jobs if backend == "dynamodb" else args.sqlite_jobs
        with open(out, "w") as file:
            json.dump(side(tree, backend, jobs, args.calls), file)
        return 0

    results: dict[str, dict] = {"before": {}, "after": {}}
    with contextlib.ExitStack() as cleanup:
        trees = {"before": worktree(args.before, cleanup), "after": ROOT}
        scratch = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="ats-bench-search-results-"))
        for label, tree in trees.items():
            for backend in ("dynamodb", "sqlite"):
                out = os.path.join(scratch, f"{label}-{backend}.json")
                command = [sys.executable, "-m", "bench.search", "--side", tree, backend, out]
                command += ["--dynamodb-jobs", str(args.dynamodb_jobs), "--sqlite-jobs", str(args.sqlite_jobs)]
                command += ["--calls", str(args.calls)]
                done = subprocess.run(command, cwd=ROOT)
                if done.returncode != 0:
                    print(f"bench: {label} on {backend} failed (exit {done.returncode})", file=sys.stderr)
                    return done.returncode
                with open(out) as file:
                    results[label][backend] = json.load(file)
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
