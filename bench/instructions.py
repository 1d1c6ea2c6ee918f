"""Instructions per request, per endpoint, before and after a change, in one run (`make bench-instructions`).

    python -m bench.instructions [--before <git ref>] [--after <git ref>] [--calls 20] [--jobs 60]

`make bench` times requests, and on a shared machine its medians move by a third from one process
to the next. This counts instead: each side runs under valgrind's callgrind, which counts the
instructions the process executes, the same for the same code and inputs whatever else the machine
does. It tells whether a change made requests cheaper or dearer, to the percent, on a machine too
noisy to time them; `make bench` still gives the milliseconds.

The code of `--before` (a git ref, in a scratch worktree; default main) and of `--after` (default:
the working tree; a ref, in a worktree too) run the same workload, each in a fresh interpreter on a
fresh SQLite store (the embedded default), through `chalice.test.Client` and only the README's
original routes, so any ref back to them runs it: register a recruiter and a candidate, create
--jobs jobs, then --calls of each endpoint below. A request is framed by two calls of zlib.adler32,
each of which makes callgrind dump its counts (`--dump-before=adler32`); the counts of the
request's own thread between the two are the request's. Its emails are delivered by the in-process
thread after the request, waited for outside the frame, and counted on that thread's own file: not
in the request's figure.

Each figure is the median over the calls, in thousands of instructions, with the after/before ratio.
Nothing is asserted: the table says what changed. valgrind runs the interpreter ~50x slower (a side
takes about a minute; both run at once).
"""

import argparse
import contextlib
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import zlib

from bench.search import worktree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ENDPOINTS = ("ping", "list jobs", "get job", "create job", "apply", "change status", "get application", "history")
PASSWORD = "correct horse battery"


# --- One side (a fresh interpreter on one tree, under callgrind) ----------------------------------


def side(tree: str, jobs: int, calls: int) -> list[str]:
    """The workload on the code of `tree`; the endpoint of each framed request, in order."""
    workdir = tempfile.mkdtemp(prefix="ats-bench-instructions-")
    os.environ.update(
        {
            "ATS_STAGE": "dev",
            "ATS_STATE_DIR": os.path.join(workdir, "state"),
            "ATS_PASSWORD_HASH_PROFILE": "fast",
            "ATS_EMAIL_BACKEND": "file",
            "ATS_STORAGE": "sqlite",
            "ATS_SQLITE_PATH": os.path.join(workdir, "ats.db"),
        }
    )
    os.environ.pop("ATS_REDIS_URL", None)
    sys.path.insert(0, tree)  # that tree's app and chalicelib, before any import of them
    from chalice.test import Client

    from app import app
    from bench.api import Bench, logs_to_file, wait_for_deliveries

    client = Client(app, stage_name="dev", project_dir=tree)
    logs_to_file(open(os.path.join(workdir, "ats.log"), "a"))  # noqa: SIM115  (open until the process ends)
    call = Bench(client, app).call  # one request, its status checked: its parsed body

    for email, role in (("rita@bench.example", "recruiter"), ("carl@bench.example", "candidate")):
        call("POST", "/auth/register", {"email": email, "password": PASSWORD, "role": role}, expect=201)
    recruiter = call("POST", "/auth/login", {"email": "rita@bench.example", "password": PASSWORD})["access_token"]
    candidate = call("POST", "/auth/login", {"email": "carl@bench.example", "password": PASSWORD})["access_token"]
    job = {"title": "Backend Engineer", "location": "Berlin", "department": "Engineering", "description": "Timed."}
    for _ in range(jobs):
        call("POST", "/jobs/create", job, recruiter, expect=201)
    listed = [found["id"] for found in call("GET", "/jobs/list", token=candidate)["items"]]
    for _ in range(20):  # warm the interpreter, the caches, the connection
        call("GET", "/ping")
        call("GET", "/jobs/list", token=candidate)
        call("GET", f"/jobs/{listed[0]}", token=candidate)
    wait_for_deliveries()

    framed: list[str] = []

    def measure(endpoint: str, requests: list[tuple], expect: int = 200) -> list[dict]:
        replies = []
        for method, path, body, token in requests:
            zlib.adler32(b"request")  # callgrind dumps here: the request's counts start
            replies.append(call(method, path, body, token, expect))
            zlib.adler32(b"answered")  # and end here
            framed.append(endpoint)
            wait_for_deliveries()  # its emails, on the delivery thread, outside the frame
        return replies

    measure("ping", [("GET", "/ping", None, None)] * calls)
    measure("list jobs", [("GET", "/jobs/list", None, candidate)] * calls)
    measure("get job", [("GET", f"/jobs/{listed[i % len(listed)]}", None, candidate) for i in range(calls)])
    created = measure("create job", [("POST", "/jobs/create", job, recruiter)] * calls, expect=201)
    letters = [{"job_id": reply["job"]["id"], "cover_letter": "Hi"} for reply in created]
    applied = measure("apply", [("POST", "/applications/create", body, candidate) for body in letters], expect=201)
    ids = [reply["application"]["id"] for reply in applied]
    moves = [{"application_id": a, "status": "screening", "reason": "CV ok"} for a in ids]
    measure("change status", [("POST", "/applications/change-status", body, recruiter) for body in moves])
    measure("get application", [("GET", f"/applications/{a}", None, candidate) for a in ids])
    measure("history", [("GET", f"/applications/{a}/history", None, candidate) for a in ids])
    return framed


# --- Counting ------------------------------------------------------------------------------------


def run_side(tree: str, label: str, outdir: str, jobs: int, calls: int) -> subprocess.Popen:
    """Start one side under callgrind; its dumps and its list of framed requests go to `outdir`."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--dump-before=adler32",
        "--separate-threads=yes",  # the delivery thread's work in files of its own
        f"--callgrind-out-file={os.path.join(outdir, label)}.%p",
        sys.executable,
        "-m",
        "bench.instructions",
        "--jobs",
        str(jobs),
        "--calls",
        str(calls),
        "--side",
        tree,
        os.path.join(outdir, f"{label}.json"),
    ]
    log = open(os.path.join(outdir, f"{label}.log"), "w")  # noqa: SIM115  (closed with the process)
    return subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


_SUMMARY = re.compile(rb"^summary: (\d+)$", re.M)


def counts(outdir: str, label: str) -> dict[str, float]:
    """Median thousands of instructions per endpoint, from the request thread's dump files."""
    with open(os.path.join(outdir, f"{label}.json")) as file:
        framed = json.load(file)
    # Dump n (1-based) holds what ran since dump n-1: the 2i+2-th ends the i-th framed request (the
    # last frame's end is the last numbered dump; the exit's is <name>.<pid>-01). The thread that
    # ran the requests is the main one: files <name>.<pid>.<n>-01.
    dumps: dict[int, int] = {}
    for path in glob.glob(os.path.join(outdir, f"{label}.*.*-01")):
        number = int(path.rsplit(".", 1)[1].split("-")[0])
        with open(path, "rb") as file:
            found = _SUMMARY.search(file.read(4096))
        if found is None:
            raise SystemExit(f"bench: no summary line in {path}")
        dumps[number] = int(found.group(1))
    if sorted(dumps) != list(range(1, 2 * len(framed) + 1)):  # something else called adler32: frames off
        raise SystemExit(f"bench: {label}: {len(dumps)} dumps for {len(framed)} framed requests (want 2 each)")
    per: dict[str, list[int]] = {}
    for i, endpoint in enumerate(framed):
        per.setdefault(endpoint, []).append(dumps[2 * i + 2])
    return {endpoint: statistics.median(values) / 1000 for endpoint, values in per.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="main", help="the git ref of the code before (default: main)")
    parser.add_argument("--after", help="the git ref of the code after (default: the working tree)")
    parser.add_argument("--calls", type=int, default=20, help="framed requests per endpoint")
    parser.add_argument("--jobs", type=int, default=60, help="jobs created before the frames")
    parser.add_argument("--side", nargs=2, metavar=("TREE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side:  # one side, in this interpreter (under callgrind)
        tree, out = args.side
        framed = side(tree, args.jobs, args.calls)
        with open(out, "w") as file:
            json.dump(framed, file)
        sys.stdout.flush()
        os._exit(0)  # no interpreter teardown: callgrind's last dump stays small
    if shutil.which("valgrind") is None:
        raise SystemExit("bench: valgrind is not installed (apt-get install valgrind)")
    with contextlib.ExitStack() as cleanup:
        outdir = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="ats-callgrind-"))
        after = args.after or "the working tree"
        sides = {
            "before": worktree(args.before, cleanup),
            "after": worktree(args.after, cleanup) if args.after else ROOT,
        }
        print(f"bench: counting {args.before} and {after} under callgrind", file=sys.stderr, flush=True)
        running = {label: run_side(tree, label, outdir, args.jobs, args.calls) for label, tree in sides.items()}
        for label, process in running.items():
            if process.wait() != 0:
                with open(os.path.join(outdir, f"{label}.log")) as log:
                    sys.stderr.write(log.read()[-3000:])
                raise SystemExit(f"bench: the {label} side failed")
        was_counts, now_counts = counts(outdir, "before"), counts(outdir, "after")
    print(f"\n## Instructions per request (thousands, median of {args.calls}): {args.before}, then {after}")
    print("| endpoint | before | after | after / before |")
    print("|---|---|---|---|")
    for endpoint in ENDPOINTS:
        was, now = was_counts[endpoint], now_counts[endpoint]
        print(f"| {endpoint} | {was:,.0f} | {now:,.0f} | {now / was:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
