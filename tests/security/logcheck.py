"""Every log line the `ats` loggers write, captured, and the secrets none of them may hold.

`LogCapture` is a handler on the `ats` logger (every logger of the app is a child of it) that keeps
each record as the line the app writes (the same JSON formatter), so what is checked is what would
reach stderr or CloudWatch. `SecretRecorder` watches a test's traffic: every password sent, every
token issued or sent, every password hash made, and the JWT secrets, so that `assert_clean` can say
that no captured line holds any of them, nor anything shaped like a JWT or an argon2 hash.

Used by test_headers_and_logs.py, and by tests/api/conftest.py over the whole API suite.
"""

import json
import logging
import os
import re

# Anything shaped like a JWT (header and payload are base64url JSON objects: "eyJ...").
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
HASH_MARK = "$argon2"
MIN_SECRET_LENGTH = 8  # shorter strings sent as passwords (validation tests) are words, not secrets
# What the check over the API suite (tests/api/conftest.py) saw: printed at the end of the session.
SUITE_FIGURES = {"tests": 0, "lines": 0}


class LogCapture(logging.Handler):
    """Every record of the `ats` loggers while installed, formatted as the app writes it."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        from ats_functions.logs import JsonFormatter

        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception as error:  # a line the app could not write is itself a finding
            line = f"UNFORMATTABLE {record.name} {record.msg!r}: {error!r}"
        self.lines.append(line)

    def install(self) -> "LogCapture":
        # The app first: Chalice's constructor and then the middleware set the `ats` logger up, and
        # the middleware would take this handler (same formatter) for its own if it came first.
        from app import app  # noqa: F401

        logger = logging.getLogger("ats")
        assert logger.getEffectiveLevel() <= logging.INFO, "the app's request lines would not be written"
        logger.addHandler(self)
        return self

    def remove(self) -> None:
        logging.getLogger("ats").removeHandler(self)

    def __enter__(self) -> "LogCapture":
        return self.install()

    def __exit__(self, *exc) -> None:
        self.remove()

    def entries(self) -> list[dict]:
        return [json.loads(line) for line in self.lines]

    def requests(self) -> list[dict]:
        """The one line per request the middleware writes."""
        return [
            entry for entry in self.entries() if entry.get("logger") == "ats.http" and entry.get("message") == "request"
        ]


class SecretRecorder:
    """What must never be logged, gathered from a test's traffic and the app's own secrets."""

    def __init__(self):
        self.passwords: set[str] = set()
        self.tokens: set[str] = set()
        self.hashes: set[str] = set()

    # --- gathering ---
    def saw_request(
        self, json_body=None, raw: bytes | None = None, headers: dict | None = None, token: str | None = None
    ) -> None:
        body = json_body
        if raw is not None:
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                body = None
        if isinstance(body, dict):
            for name in ("password", "new_password", "old_password"):
                if isinstance(body.get(name), str):
                    self.add_password(body[name])
        if token:
            self.tokens.add(token)
        for name, value in (headers or {}).items():
            if name.lower() == "authorization" and isinstance(value, str):
                self.tokens.add(value.partition(" ")[2].strip() or value)

    def saw_response(self, body) -> None:
        if isinstance(body, dict) and isinstance(body.get("access_token"), str):
            self.tokens.add(body["access_token"])

    def add_password(self, password: str) -> None:
        from chalicelib.auth.policy import is_common

        # A common password is refused and public; a short one is a word that may well be in a message.
        if len(password.strip()) >= MIN_SECRET_LENGTH and not is_common(password):
            self.passwords.add(password)

    def add_hash(self, password_hash: str) -> None:
        self.hashes.add(password_hash)

    # --- checking ---
    def secrets(self) -> dict[str, str]:
        """{secret: what it is}: every string no log line may contain."""
        from chalicelib import bootstrap
        from chalicelib.auth import passwords

        found = {}
        for password in self.passwords:
            found[password] = "a password"
        for token in self.tokens:
            if len(token) >= 16:
                found[token] = "a token"
                for part in token.split(".")[1:]:  # payload and signature: the header is the same for all
                    if len(part) >= 16:
                        found[part] = "part of a token"
        # The hash an unknown email is checked against (the test suites' profile: cheap, and cached).
        hashes = {*self.hashes, passwords.dummy_hash(os.environ.get("ATS_PASSWORD_HASH_PROFILE", "default"))}
        for password_hash in hashes:
            found[password_hash] = "a password hash"
            for part in password_hash.split("$"):
                if len(part) >= 16:  # the salt and the digest
                    found[part] = "part of a password hash"
        for secret in bootstrap.secrets_held():
            found[secret] = "the JWT secret"
        if os.environ.get("ATS_JWT_SECRET"):
            found[os.environ["ATS_JWT_SECRET"]] = "the JWT secret"
        return found

    def leaks(self, lines: list[str]) -> list[str]:
        secrets = self.secrets()
        problems = []
        for line in lines:
            if HASH_MARK in line:
                problems.append(f"an argon2 hash: {line[:300]}")
            if JWT_SHAPE.search(line):
                problems.append(f"a JWT: {line[:300]}")
            problems += [f"{what}: {line[:300]}" for secret, what in secrets.items() if secret in line]
        return problems

    def assert_clean(self, lines: list[str]) -> None:
        problems = self.leaks(lines)
        assert not problems, f"{len(problems)} log line(s) hold a secret:\n" + "\n".join(problems[:10])


def record_traffic(monkeypatch, recorder: SecretRecorder) -> None:
    """Make the tests' Api client and the password hasher report to the recorder."""
    import chalicelib.auth.passwords as passwords
    import chalicelib.services.users as users
    from tests.conftest import Api

    call = Api.call

    def recorded_call(self, method, path, json_body=None, *, token=None, headers=None, raw=None):
        recorder.saw_request(json_body, raw, headers, token)
        reply = call(self, method, path, json_body, token=token, headers=headers, raw=raw)
        recorder.saw_response(reply.body)
        return reply

    def recorded_hash(password, profile="default"):
        made = hash_password(password, profile)
        recorder.add_password(password)
        recorder.add_hash(made)
        return made

    hash_password = passwords.hash_password
    monkeypatch.setattr(Api, "call", recorded_call)
    monkeypatch.setattr(users, "hash_password", recorded_hash)
