"""`make run`: the API on Chalice's local server, without what `chalice local` adds around it.

    python -m deploy.serve [--host 127.0.0.1] [--port 8000] [--stage dev] [--reload]

The same app, stage environment (.chalice/config.json) and local gateway as `chalice local`, but:
- no auto-reload: `chalice local` restarts on any write under the project (the SQLite WAL, an
  `.eml` in .ats/, a tool's cache) and stat-polls every file of .venv each second; `--reload`
  (`make dev`) restarts on changes to the code only;
- a listen backlog of 1024 (BaseHTTP's 5 reset concurrent clients' connections);
- every method reaches the app, which answers 405 for one the route lacks (BaseHTTP answered 501
  with an HTML page), and the server's own refusals (a long URL, a malformed request, a path no
  route matches) come in the API's error shape, with its security headers;
- the event carries `multiValueHeaders` as API Gateway's does, and `headers` keeps the last of a
  repeated header as API Gateway's does.
Development tooling only: not part of the deployed package.
"""

import argparse
import contextlib
import io
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler

from chalice.cli.factory import CLIFactory
from chalice.deploy.validate import validate_routes
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    LambdaEventConverter,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    RouteMatcher,
    ThreadedHTTPServer,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
# What `--reload` watches: the code, never the state directory, .venv or node_modules.
CODE = ("app.py", ".chalice/config.json", "chalicelib", "ats_functions")
SERVER_ERRORS = {  # the server's own refusals: (code, message)
    400: ("bad_request", "The request is malformed."),
    404: ("not_found", "No such route."),
    413: ("payload_too_large", f"The body is larger than {MAX_REQUEST_BYTES} bytes."),
    414: ("uri_too_long", "The URL is too long."),
    431: ("headers_too_large", "The request's headers are too large."),
}


class EventConverter(LambdaEventConverter):
    def create_lambda_event(self, method, path, headers, body=None):
        # `headers` is the request's email.message.Message: its items() hold every repeated header,
        # so the event's `headers` keeps the last one, as API Gateway's does.
        event = super().create_lambda_event(method, path, headers, body)
        values: dict[str, list[str]] = {}
        for name, value in headers.items():
            values.setdefault(name.lower(), []).append(value)
        event["multiValueHeaders"] = values
        return event


class Gateway(LocalGateway):
    def __init__(self, app_object, config):
        super().__init__(app_object, config)
        self.event_converter = EventConverter(RouteMatcher(list(app_object.routes)), app_object.api.binary_types)


class Handler(ChaliceRequestHandler):
    disable_nagle_algorithm = True  # headers and body leave at once, no 40 ms wait for an ACK

    def __init__(self, request, client_address, server, app_object, config):
        self.local_gateway = Gateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)  # serves the connection

    def __getattr__(self, name):
        # Any other method (TRACE, CONNECT, ...) reaches the app too, which answers 405 with Allow
        # for one the route lacks (BaseHTTP answers 501 to a method without a do_ method).
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    def _generic_handle(self):
        lengths = set(self.headers.get_all("content-length") or ["0"])
        length = lengths.pop().strip() if len(lengths) == 1 else ""
        if not re.fullmatch(r"[0-9]{1,20}", length):
            return self.send_error(400)
        if int(length) > MAX_REQUEST_BYTES:
            return self.send_error(413)
        return super()._generic_handle()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def _parse_payload(self):
        length = int(self.headers.get("content-length", "0"))
        return self.headers, (self.rfile.read(length) if length else None)

    def _send_error_response(self, error):
        # The gateway's only refusal here is a path no route matches (API Gateway's "Missing
        # Authentication Token", which the deployed template answers as 404 too).
        self.send_error(404)

    def send_error(self, code, message=None, explain=None):
        # Imported here, as app.py is: once the stage's environment is applied (pydantic reads some at import).
        from ats_functions.http import SECURITY_HEADERS, error_response, slug

        phrase = HTTPStatus(code).phrase
        error, text = SERVER_ERRORS.get(code, (slug(phrase), f"{phrase}."))
        response = error_response(code, error, text)
        # Never the stdlib's message: it can quote the request line.
        logging.getLogger("ats.http").info("refused by the server", extra={"fields": {"status": code}})
        self._send_http_response(
            code,
            {**SECURITY_HEADERS, **response.headers, "X-Request-Id": uuid.uuid4().hex, "Connection": "close"},
            response.body,
        )
        self._linger()

    def _linger(self):
        """Close after a refusal as Apache does: the answer and a FIN first, then what the client still
        sends (the rest of a long URL, a body) read and dropped for up to 2 s. Closing with unread
        input resets the connection, and the client can lose the answer with it."""
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(0.5)
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and self.connection.recv(65536):
                pass
        except OSError:
            pass

    def log_request(self, code="-", size="-"):
        pass  # the app logs each request as a JSON line


class Server(ThreadedHTTPServer):
    request_queue_size = 1024
    daemon_threads = True


def create_server(host: str, port: int, stage: str) -> LocalDevServer:
    """What `chalice local --stage <stage>` serves: the stage's environment applied, then app.py imported."""
    os.environ["AWS_CHALICE_CLI_MODE"] = "true"
    factory = CLIFactory(ROOT, environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    app = config.chalice_app
    validate_routes(app.routes)
    # As chalice.local.create_local_server: the app's current_request becomes per thread.
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    return LocalDevServer(app, config, host, port, handler_cls=Handler, server_cls=Server)


def _code_state() -> dict[str, float]:
    state = {}
    for entry in CODE:
        top = os.path.join(ROOT, entry)
        paths = (
            [top]
            if os.path.isfile(top)
            else [
                os.path.join(folder, name)
                for folder, _, names in os.walk(top)
                for name in names
                if name.endswith(".py") and "__pycache__" not in folder
            ]
        )
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                state[path] = os.stat(path).st_mtime
    return state


def serve_with_reload(argv: list[str]) -> None:
    """`make dev`: the server in a child process, started again when the code changes (a child that
    fails to start waits for the next change)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # through the finally below: the child stops too
    while True:
        code = _code_state()
        child = subprocess.Popen([sys.executable, "-m", "deploy.serve", *argv])
        try:
            while _code_state() == code:
                time.sleep(1)
        finally:
            child.terminate()
            child.wait()
        print("deploy.serve: the code changed, restarting", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="dev", help="the chalice stage whose environment applies")
    parser.add_argument("--reload", action="store_true", help="restart when app.py, chalicelib/, ats_functions/ change")
    args = parser.parse_args(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):  # not when a caller has replaced it
        sys.stdout.reconfigure(line_buffering=True)
    if args.reload:
        serve_with_reload(["--host", args.host, "--port", str(args.port), "--stage", args.stage])
        return
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")  # as chalice local
    server = create_server(args.host, args.port, args.stage)
    from chalicelib import bootstrap  # once the stage's environment is applied

    bootstrap.deliver_when_due(bootstrap.settings())
    server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
