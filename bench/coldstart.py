"""Cold start (`make bench-coldstart`): what a fresh Lambda interpreter pays before its first answer.

    python -m bench.coldstart [--runs 20]

What is measured is what is deployed: dist/deployment.zip (`make package`), unpacked as Lambda
lays it out, run by `python -S` with only the package and the runtime's boto3/botocore on the path
and nothing written beside the code (deploy.package.unpack). For SQLite and for DynamoDB (on
moto_server, a private one on a free port), in fresh interpreters each, the median of --runs of:

  app        `import app`, then one request through the Lambda handler (`app.app(event, context)`,
             an API Gateway proxy event for GET /jobs/list, which reads the store);
  libraries  importing exactly the modules the `app` run made Python load that are not its own
             (third-party and standard library alike, listed from its sys.modules), plus, for
             DynamoDB, making the botocore DynamoDB client: the libraries alone, none of our code;
  own        app - libraries, run by run (each app run paired with the libraries run after it):
             the app's own cost (its modules, its classes, its first request), whose target is
             at most 30 ms;

and, in the same run, a bare `import boto3`. Times are CPU time (time.process_time) taken inside
each interpreter: the interpreter's own start-up is the same for all and left out, and other
processes sharing the cores (a test suite, a build) do not inflate them as they do wall time; the
wait on moto_server's answer is not counted (it is the server's time, not the function's). The
zip's size target is at most 20 MB.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from chalicelib.localports import free_port
from deploy import package

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZIP = os.path.join(ROOT, "dist", "deployment.zip")
OWN_TARGET_MS, ZIP_TARGET_MB = 30, 20

EVENT = {
    "resource": "/jobs/list",
    "path": "/jobs/list",
    "httpMethod": "GET",
    "headers": {"host": "abc.execute-api.us-east-1.amazonaws.com"},
    "multiValueHeaders": None,
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": None,
    "stageVariables": None,
    "body": None,
    "isBase64Encoded": False,
    "requestContext": {
        "resourcePath": "/jobs/list",
        "httpMethod": "GET",
        "path": "/api/jobs/list",
        "stage": "api",
        "requestId": "bench",
        "identity": {"sourceIp": "203.0.113.9"},
    },
}

# Run in each fresh interpreter: time the app's import and first answer; list the modules it loaded.
APP_RUN = """
import json, sys, time
preloaded = set(sys.modules)  # what the interpreter itself loaded before any of our code ran
start = time.process_time()
import app
imported = time.process_time()
response = app.app(json.loads(sys.argv[1]), None)
answered = time.process_time()
assert response["statusCode"] == 200, response
own = ("app", "chalicelib", "ats_functions")
# Libraries: every module the app made Python load that is not its own, the stdlib's included.
libraries = [name for name in sys.modules if name not in preloaded and name.split(".")[0] not in own]
print(json.dumps({"ms": (answered - start) * 1000, "import_ms": (imported - start) * 1000,
                  "libraries": libraries}))
"""

LIBRARIES_RUN = """
import importlib, json, os, sys, time
start = time.process_time()
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except Exception:
        pass  # a module made at run time (e.g. by six); its parent is imported
if os.environ.get("ATS_STORAGE") == "dynamodb":
    import botocore.session
    botocore.session.get_session().create_client(
        "dynamodb", region_name="us-east-1", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
print(json.dumps({"ms": (time.process_time() - start) * 1000}))
"""

BOTO3_RUN = """
import json, time
start = time.process_time()
import boto3
print(json.dumps({"ms": (time.process_time() - start) * 1000}))
"""


def run(code: str, env: dict, *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-S", "-c", code, *args],
        cwd=env["ATS_STATE_DIR"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode:
        raise SystemExit(f"a timed interpreter failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def median_ms(code: str, env: dict, runs: int, *args: str) -> float:
    run(code, env, *args)  # warm the file cache; not counted
    return statistics.median(run(code, env, *args)["ms"] for _ in range(runs))


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("moto_server did not start") from None
            time.sleep(0.1)


def base_env(directory: str) -> dict:
    """The unpacked package's environment, with a state directory that is also the working one."""
    state_dir = os.path.join(directory, "state")
    os.makedirs(state_dir)
    return {
        "PATH": os.environ["PATH"],
        **package.unpack(ZIP, directory),
        "ATS_STATE_DIR": state_dir,
        "ATS_SQLITE_PATH": os.path.join(state_dir, "ats.db"),
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        # As .chalice/config.json sets it for every function: no scan of installed packages'
        # entry points for pydantic plugins when the first model is built.
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }


def measure(name: str, env: dict, runs: int) -> dict:
    first = run(APP_RUN, env, json.dumps(EVENT))  # also creates the store (table or file); not counted
    env = {**env, "ATS_DYNAMODB_CREATE_TABLES": "false"}
    libraries = json.dumps(first["libraries"])
    run(LIBRARIES_RUN, env, libraries)  # warm the file cache; not counted
    # Pairs, one right after the other: a slower spell of the machine slows both alike, and
    # the median of their differences keeps it out of the app's own cost.
    pairs = [
        (run(APP_RUN, env, json.dumps(EVENT))["ms"], run(LIBRARIES_RUN, env, libraries)["ms"]) for _ in range(runs)
    ]
    return {
        "storage": name,
        "app": statistics.median(app for app, _ in pairs),
        "libraries": statistics.median(alone for _, alone in pairs),
        "own": statistics.median(app - alone for app, alone in pairs),
        "modules": len(first["libraries"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # 20 rather than 10: a DynamoDB run is ~200 ms of CPU that varies by a few percent from run to
    # run, and the own cost is a difference of two such runs; more pairs steady its median.
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()

    if not os.path.exists(ZIP):
        raise SystemExit("dist/deployment.zip is not built: make package")
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        env = base_env(directory)
        boto3_ms = median_ms(BOTO3_RUN, env, options.runs)
        rows.append(measure("sqlite", {**env, "ATS_STORAGE": "sqlite"}, options.runs))
        moto, endpoint = start_moto()
        try:
            rows.append(
                measure(
                    "dynamodb",
                    {
                        **env,
                        "ATS_STORAGE": "dynamodb",
                        "ATS_TABLE_NAME": "ats-bench",
                        "ATS_DYNAMODB_CREATE_TABLES": "true",
                        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
                    },
                    options.runs,
                )
            )
        finally:
            moto.terminate()
            moto.wait(10)

    print(f"Cold start: median of {options.runs} fresh interpreters (ms of CPU, inside the interpreter)\n")
    own = f"own (target <= {OWN_TARGET_MS})"
    print(f"{'storage':<10}{'app: import + GET /jobs/list':>30}{'libraries alone':>18}{own:>22}{'library modules':>18}")
    for row in rows:
        verdict = "ok" if row["own"] <= OWN_TARGET_MS else "OVER"
        print(
            f"{row['storage']:<10}{row['app']:>30.1f}{row['libraries']:>18.1f}{row['own']:>17.1f} {verdict:<4}"
            f"{row['modules']:>18}"
        )
    print(f"{'boto3':<10}{'(bare import boto3)':>30}{boto3_ms:>18.1f}")
    print("\nlibraries: the app run's third-party modules imported alone (for dynamodb, plus the botocore client)")

    size = os.path.getsize(ZIP) / (1024 * 1024)
    print(f"package: {ZIP} {size:.1f} MiB (target <= {ZIP_TARGET_MB} MiB: {'ok' if size <= ZIP_TARGET_MB else 'OVER'})")


if __name__ == "__main__":
    main()
