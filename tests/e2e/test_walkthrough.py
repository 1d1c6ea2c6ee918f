"""The README over real HTTP, on the server started the way a user starts it: `make run` and
`make run-dynamodb`, as subprocesses, each with its walkthrough pasted into bash.

The only variants of the README's commands, each for a reason:
- PORT= and DYNAMODB_PORT=: free ports, so no test meets another server (or a user's);
- ATS_STATE_DIR in a tmp dir: a fresh store, and the project's .ats/ stays the user's;
- ATS_PASSWORD_HASH_PROFILE=fast: argon2id's cheap profile, so 20 registrations take no minute.
"""

import http.client
import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid

import pytest

from chalicelib.localports import free_port
from tests.conftest import DYNAMODB_ENDPOINT_VARIABLES, ROOT, require_service, status_change

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
STARTUP_SECONDS = 300  # a first `make run` creates the venv's serving install
SECURITY_HEADERS = (
    "x-content-type-options",
    "x-frame-options",
    "content-security-policy",
    "cache-control",
    "x-request-id",
)


class Http:
    """One request per connection, headers as sent (a header may be repeated)."""

    def __init__(self, port: int):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    def request(
        self, method: str, path: str, body: bytes | dict | None = None, headers: list[tuple[str, str]] = ()
    ) -> tuple[int, dict, dict | None]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.putrequest(method, path, skip_accept_encoding=True)
            data = json.dumps(body).encode() if isinstance(body, dict) else body
            sent = [("Content-Type", "application/json"), *headers]
            if data is not None:
                sent.append(("Content-Length", str(len(data))))
            for name, value in sent:
                connection.putheader(name, value)
            connection.endheaders(data)
            response = connection.getresponse()
            raw = response.read()
            received = {name.lower(): value for name, value in response.getheaders()}
            return response.status, received, (json.loads(raw) if raw else None)
        finally:
            connection.close()

    def call(self, method: str, path: str, body=None, token: str | None = None) -> tuple[int, dict | None]:
        status, _, answer = self.request(method, path, body, [("Authorization", f"Bearer {token}")] if token else [])
        return status, answer


def processes_under(pid: int) -> dict[int, list[str]]:
    """{pid: argv} of every process descending from pid."""
    children: dict[int, list[int]] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (ValueError, OSError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = {}, list(children.get(pid, []))
    while todo:
        child = todo.pop()
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                found[child] = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        todo.extend(children.get(child, []))
    return found


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Server:
    def __init__(self, target: str, process: subprocess.Popen, http: Http, tmp, log_path):
        self.target, self.process, self.http, self.tmp, self.log_path = target, process, http, tmp, log_path
        self.state = tmp / "state"
        self.pid = None  # the serving python process, found once it answers

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def serving_pid(self) -> int:
        (pid,) = [pid for pid, argv in processes_under(self.process.pid).items() if argv[1:3] == ["-m", "deploy.serve"]]
        return pid

    def assert_never_restarted(self) -> None:
        assert self.serving_pid() == self.pid, "the serving process changed"
        log = self.log()
        assert log.count("Serving on ") == 1, log[-3000:]
        assert not re.search(r"restart|reload", log, re.I), log[-3000:]


def _environment(tmp) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ATS_")
        and k not in DYNAMODB_ENDPOINT_VARIABLES
        and k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    }  # under `make test`: this make is a fresh one
    env.update(ATS_STATE_DIR=str(tmp / "state"), ATS_PASSWORD_HASH_PROFILE="fast")
    return env


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def _stop(process: subprocess.Popen) -> bool:
    """Stop the whole process group (make, its shell, the server, DynamoDB Local's JVM); False if
    something of it was still alive after SIGTERM."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        if not _group_alive(process.pid):
            break
        os.killpg(process.pid, sig)
        deadline = time.monotonic() + wait
        while _group_alive(process.pid) and time.monotonic() < deadline:
            process.poll()  # reaps make, the group's leader
            time.sleep(0.1)
        if not _group_alive(process.pid):
            process.wait(timeout=5)
            return sig == signal.SIGTERM
    process.wait(timeout=5)
    return False


@pytest.fixture(scope="module", params=["run", "run-dynamodb"])
def server(request, tmp_path_factory):
    target = request.param
    if target == "run-dynamodb":
        from chalicelib.storage.dynamodb_local import missing_reason

        if missing_reason():
            require_service(missing_reason())
    tmp = tmp_path_factory.mktemp(target)
    port = free_port()
    log_path = tmp / "server.log"
    with open(log_path, "wb") as log:
        command = ["make", "--no-print-directory", target, f"PORT={port}", f"DYNAMODB_PORT={free_port()}"]
        process = subprocess.Popen(
            command, cwd=ROOT, env=_environment(tmp), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    served = Server(target, process, Http(port), tmp, log_path)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"make {target} exited with {process.returncode}:\n{served.log()}")
            try:
                if served.http.call("GET", "/ping")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"make {target} did not answer /ping:\n{served.log()}")
            time.sleep(0.2)
        served.pid = served.serving_pid()
        yield served
    finally:
        stopped = _stop(process)
    assert stopped, f"make {target} left processes behind after SIGTERM"


def readme_walkthrough() -> str:
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    section = readme.split("\n## Walkthrough\n", 1)[1]
    return re.search(r"^```sh\n(.*?)^```", section, re.S | re.M).group(1)


def json_values(text: str) -> list:
    """The JSON documents a shell session printed one after the other (curl adds no newline)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return values
        value, at = decoder.raw_decode(text, at)
        values.append(value)


def test_the_readme_walkthrough_pasted_into_bash(server):
    script, replaced = re.subn(r"^API=.*$", f"API={server.http.base}", readme_walkthrough(), flags=re.M)
    assert replaced == 1
    # After the README's lines: what they left in their variables.
    script += (
        'printf \'\\n{"recruiter": "%s", "candidate": "%s", "job": "%s", "application": "%s"}\\n\' '
        '"$RECRUITER" "$CANDIDATE" "$JOB" "$APP"\n'
    )
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and not done.stderr, done.stderr
    rita, carl, profile, jobs, *statuses, history, left = json_values(done.stdout)

    assert (rita["user"]["email"], rita["user"]["role"]) == ("rita@example.com", "recruiter")
    assert (carl["user"]["email"], carl["user"]["role"]) == ("carl@example.com", "candidate")
    assert (profile["id"], profile["phone"], profile["timezone"]) == (
        carl["user"]["id"],
        "+49301234567",
        "Europe/Berlin",
    )
    for name in ("recruiter", "candidate"):
        assert left[name].count(".") == 2, f"{name}'s token: {left[name]!r}"  # a JWT, not "" or "null"
    assert [job["id"] for job in jobs["items"]] == [left["job"]] and jobs["next_cursor"] is None
    assert left["application"] not in ("", "null")
    assert statuses == ["screening", "shortlisted", "selected"]
    assert [(entry["from_status"], entry["to_status"], entry["reason"]) for entry in history["items"]] == [
        (None, "applied", None),
        ("applied", "screening", "moving to screening"),
        ("screening", "shortlisted", "moving to shortlisted"),
        ("shortlisted", "selected", "moving to selected"),
    ]
    actors = [entry["actor_id"] for entry in history["items"]]
    assert actors == [carl["user"]["id"]] + [rita["user"]["id"]] * 3

    if server.target == "run":  # the embedded default: SQLite and the mail in the state directory
        assert (server.state / "ats.db").exists()
    server.assert_never_restarted()


def readme_block(containing: str) -> str:
    """The README's walkthrough block that holds this text."""
    with open(os.path.join(ROOT, "README.md")) as f:
        section = f.read().split("\n## Walkthrough\n", 1)[1].split("\n## ", 1)[0]
    (block,) = [b for b in re.findall(r"^```sh\n(.*?)^```", section, re.S | re.M) if containing in b]
    return block


def run_readme_block(server, containing: str) -> list:
    """Paste the block into bash in the project directory, as a user would after the walkthrough.
    The variant: `.ats/` is this server's state directory (ATS_STATE_DIR, see the module's doc)."""
    script = f"API={server.http.base}\n" + readme_block(containing).replace(".ats/", f"{server.state}/")
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0 and not done.stderr, done.stderr
    return json_values(done.stdout)


def test_the_readme_team_and_pipeline_pasted_into_bash(server):
    """The walkthrough, then its hiring-team block in the same shell: Hana joins as hiring manager,
    the pipeline gains a take-home, Hana moves (a stale repeat is 409), rejects with a delayed
    email, unrejects; the visits and the funnel show it. The walkthrough's lines run first, as a
    user runs the block after them (on a server they ran on before, its sign-ups answer 409)."""
    script = re.sub(r"^API=.*$", f"API={server.http.base}", readme_walkthrough(), flags=re.M)
    script += readme_block("/jobs/$JOB/team")
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0 and not done.stderr, done.stderr
    *_, member, names, moved, again, rejected, back, visits, funnel = json_values(done.stdout)

    assert member["role"] == "hiring_manager" and member["name"] == "Hana"
    assert names == ["Applied", "Screening", "Take-home", "Shortlisted", "Selected", "Hired"]
    assert (moved, again) == ("Take-home", "stage_mismatch")
    assert (rejected, back) == ("rejected", "Take-home")
    assert visits == ["Applied", "Screening", "Shortlisted", "Selected", "Take-home", "Take-home"]
    assert funnel == [
        ["Applied", 0, 1],
        ["Screening", 0, 1],
        ["Take-home", 1, 1],
        ["Shortlisted", 0, 1],
        ["Selected", 0, 1],
        ["Hired", 0, 0],
    ]
    server.assert_never_restarted()


def test_the_readme_sessions_and_password_reset_pasted_into_bash(server):
    """Refresh, reuse, then forgot -> the email's .eml -> reset -> login, over real HTTP. Carl is
    the walkthrough's: made here when this test runs on a server the walkthrough did not run on."""
    carl = {"email": "carl@example.com", "password": PASSWORD, "name": "Carl"}
    assert server.http.call("POST", "/auth/register", carl)[0] in (201, 409)

    (reused,) = run_readme_block(server, "/auth/refresh")
    assert reused == "refresh_token_reused"

    accepted, status, verified = run_readme_block(server, "/auth/password/forgot")
    assert set(accepted) == {"message"}
    assert status == 204
    assert verified is True  # the reset link proved the address
    assert server.http.call("POST", "/auth/login", {"email": "carl@example.com", "password": PASSWORD})[0] == 401


def test_writes_in_the_state_directory_and_the_tree_restart_nothing(server):
    probe = os.path.join(ROOT, f".e2e-probe-{uuid.uuid4().hex}.py")
    try:
        for path in (server.state / "probe.eml", server.state / "ats.db-probe", probe):
            with open(path, "w") as f:
                f.write("x = 1\n")
        status, _ = server.http.call(
            "POST",
            "/auth/register",
            {"email": f"{uuid.uuid4().hex}@example.com", "password": PASSWORD, "name": "Writer"},
        )
        assert status == 201  # its welcome email is written into the state directory too
        time.sleep(2.5)  # chalice local's reloader polled every second
    finally:
        os.remove(probe)
    assert server.http.call("GET", "/ping")[0] == 200
    server.assert_never_restarted()


@pytest.mark.parametrize("server", ["run"], indirect=True)
def test_a_scheduled_event_is_emailed_when_due_with_no_request_after_it(server):
    """No broker, no relay: the server's delivery thread sweeps for due events from its start, so an
    event scheduled in its store by another process (as one scheduled before a restart) goes out
    when due, with no request to wake it."""
    from chalicelib.bootstrap import forget_storage, unit_of_work
    from chalicelib.config import get_settings
    from chalicelib.domain.ids import utc_at

    email = f"sched-{uuid.uuid4().hex[:8]}@example.com"
    status, body = server.http.call("POST", "/auth/register", {"email": email, "password": PASSWORD, "name": "S"})
    assert status == 201
    due = time.time() + 3
    event = status_change(body["user"]["id"], utc_at(due))
    settings = get_settings({"ATS_SQLITE_PATH": str(server.state / "ats.db"), "ATS_STATE_DIR": str(server.state)})
    try:
        with unit_of_work(settings) as uow:
            uow.record(event)
            assert uow.commit() == []  # written as scheduled, handed to no one
    finally:
        forget_storage(settings)

    mail = server.state / "mail"
    while not any(event.id in path.read_text(errors="replace") for path in mail.glob("*.eml")):
        assert time.time() < due + 30, "the scheduled email never came"
        time.sleep(0.1)
    assert time.time() >= due, "emailed before it was due"
    server.assert_never_restarted()


def test_the_idle_server_uses_next_to_no_cpu(server):
    # Every python process under make: a reloader would poll in a parent of the serving process.
    pythons = [
        pid for pid, argv in processes_under(server.process.pid).items() if "python" in os.path.basename(argv[0])
    ]
    assert server.pid in pythons
    # Idling starts when what the last request started (a delivery) has settled: no CPU used over
    # half a second (on a busy machine a fixed wait of 1 s could end inside that tail).
    before, deadline = sum(map(cpu_seconds, pythons)), time.monotonic() + 15
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = sum(map(cpu_seconds, pythons))
        if now == before:
            break
        before = now
    time.sleep(3)
    used = sum(map(cpu_seconds, pythons)) - before
    assert used < 0.15, f"{used:.2f} CPU-seconds in 3 s of idling"  # chalice local's polling used 0.4-0.5


def _all_at_once(count: int, work) -> list:
    barrier, results = threading.Barrier(count), [None] * count

    def client(i):
        barrier.wait()
        try:
            results[i] = work(i)
        except OSError as error:  # a refused or reset connection: the request never ran
            results[i] = repr(error)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_twenty_clients_at_once_each_get_their_answer(server):
    run = uuid.uuid4().hex[:8]
    results = _all_at_once(
        20,
        lambda i: server.http.call(
            "POST",
            "/auth/register",
            {"email": f"crowd-{run}-{i}@example.com", "password": PASSWORD, "name": f"Crowd {i}"},
        )[0],
    )
    assert results == [201] * 20


def test_a_few_hundred_connections_at_once_are_all_served(server):
    results = _all_at_once(300, lambda i: server.http.call("GET", "/ping")[0])
    assert results == [200] * 300


def assert_error(answer, status: int, code: str) -> dict:
    answered, headers, body = answer
    assert answered == status, (answered, body)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert headers["content-type"] == "application/json"
    for name in SECURITY_HEADERS:
        assert name in headers, f"{name} missing from a {status}"
    return headers


@pytest.mark.parametrize(
    "method,path,status,code",
    [
        ("GET", "/no/such/route", 404, "not_found"),
        ("GET", "/a/path/deeper/than/any/route/we/have", 404, "not_found"),
        ("DELETE", "/jobs/list", 405, "method_not_allowed"),
        ("GET", "/auth/me", 401, "not_authenticated"),
    ],
)
def test_errors_over_http_have_the_one_shape(server, method, path, status, code):
    assert_error(server.http.request(method, path), status, code)


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "FROBNICATE"])
def test_a_method_the_route_lacks_is_405_in_the_error_shape(server, method):
    headers = assert_error(server.http.request(method, "/jobs/list"), 405, "method_not_allowed")
    assert set(re.split(r",\s*", headers["allow"])) == {"GET", "OPTIONS"}


def test_a_70000_character_url_is_414_in_the_error_shape(server):
    assert_error(server.http.request("GET", "/jobs/list?q=" + "a" * 70_000), 414, "uri_too_long")


def test_malformed_json_over_http_is_400(server):
    assert_error(server.http.request("POST", "/auth/register", b"{oops"), 400, "malformed_json")


def test_json_nested_1000_deep_is_400(server):
    nested = b'{"a": ' * 1000 + b"1" + b"}" * 1000
    assert_error(server.http.request("POST", "/auth/register", nested), 400, "malformed_json")


def test_two_authorization_headers_are_refused(server):
    tokens = []
    for name in ("first", "second"):
        credentials = {"email": f"{name}-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD}
        assert server.http.call("POST", "/auth/register", {**credentials, "name": name})[0] == 201
        tokens.append(server.http.call("POST", "/auth/login", credentials)[1]["access_token"])
    assert server.http.call("GET", "/auth/me", token=tokens[0])[0] == 200
    # Whose request is it? The first token here, the last behind API Gateway: neither.
    answer = server.http.request("GET", "/auth/me", headers=[("Authorization", f"Bearer {token}") for token in tokens])
    assert_error(answer, 400, "ambiguous_authorization")


def test_an_api_gateway_event_with_two_authorization_headers_is_refused_too():
    """The deployed path: API Gateway keeps the last header in `headers`, and both in `multiValueHeaders`."""
    from chalice.local import LambdaContext

    from app import app

    headers = {"Authorization": "Bearer second", "Host": "abc.execute-api.us-east-1.amazonaws.com"}
    event = {
        "resource": "/auth/me",
        "path": "/auth/me",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {"Authorization": ["Bearer first", "Bearer second"], "Host": [headers["Host"]]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "body": None,
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": "/auth/me",
            "httpMethod": "GET",
            "path": "/api/auth/me",
            "stage": "api",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.9"},
        },
    }
    response = app(event, LambdaContext("api_handler", 512))
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == "ambiguous_authorization"
