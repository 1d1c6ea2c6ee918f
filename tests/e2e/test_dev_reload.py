"""`make dev`: the server restarted when the code changes, and only then. Run in a copy of the
project (its code is edited), on the project's venv (VENV=), with the state in the copy's own .ats/."""

import os
import shutil
import subprocess
import time

import pytest

from tests.conftest import ROOT
from tests.e2e.test_walkthrough import PASSWORD, STARTUP_SECONDS, Http, _environment, _stop, free_port, processes_under

pytestmark = pytest.mark.e2e

COPIED = (
    "app.py",
    "Makefile",
    "requirements.txt",
    "requirements-local.txt",
    "requirements.lock",
    ".chalice",
    "chalicelib",
    "ats_functions",
    "deploy",
)


def _wait_for(predicate, seconds: float, what: str, log) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {seconds:.0f} s:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)


def _ping(http: Http) -> str | None:
    try:
        status, body = http.call("GET", "/ping")
    except OSError:
        return None
    return body["message"] if status == 200 else None


def test_make_dev_restarts_on_code_changes_and_on_nothing_else(tmp_path):
    tree = tmp_path / "tree"
    for name in COPIED:
        source = os.path.join(ROOT, name)
        if os.path.isdir(source):  # copy2 keeps the times: the venv's install stamp stays newer
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            tree.mkdir(exist_ok=True)
            shutil.copy2(source, tree / name)
    env = _environment(tmp_path)
    del env["ATS_STATE_DIR"]  # the default, .ats/ inside the watched tree
    port = free_port()
    http = Http(port)
    log = tmp_path / "dev.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "dev", f"PORT={port}", f"VENV={os.path.join(ROOT, '.venv')}"],
            cwd=tree,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def serving() -> list[int]:
        return [
            pid
            for pid, argv in processes_under(process.pid).items()
            if argv[1:3] == ["-m", "deploy.serve"] and "--reload" not in argv
        ]

    try:
        _wait_for(lambda: _ping(http) == "pong", STARTUP_SECONDS, "make dev did not answer /ping", log)
        (first,) = serving()

        # Its own state (SQLite, WAL, an .eml in .ats/), bytecode and other files restart nothing.
        assert (
            http.call("POST", "/auth/register", {"email": "dev@example.com", "password": PASSWORD, "name": "Dev"})[0]
            == 201
        )
        assert (tree / ".ats" / "ats.db").exists()
        (tree / "chalicelib" / "notes.txt").write_text("not code\n")
        (tree / "scratch.py").write_text("x = 1\n")
        time.sleep(2.5)  # the watcher looks every second
        assert serving() == [first] and _ping(http) == "pong"

        system = tree / "ats_functions" / "system.py"
        system.write_text(system.read_text().replace('"message": "pong"', '"message": "pong again"'))
        _wait_for(lambda: _ping(http) == "pong again", 60, "the changed code was not served", log)
        assert serving() != [first]
        assert "the code changed, restarting" in log.read_text()
    finally:
        stopped = _stop(process)
    assert stopped, "make dev left processes behind after SIGTERM"
