"""Settings, read from the environment when asked for, never at import time.

Chalice applies a stage's environment variables around each call (and so does its test
client), so every request reads them afresh; reading a dozen variables costs microseconds.
"""
import os
import secrets
import threading
from dataclasses import dataclass

from .domain.errors import ConfigurationError

MIN_SECRET_BYTES = 32
_generated_secrets: dict[str, str] = {}
_secret_lock = threading.Lock()


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    stage: str
    state_dir: str
    storage: str
    sqlite_path: str
    table_name: str
    jwt_secret_value: str | None
    jwt_ttl_seconds: int
    jwt_issuer: str
    redis_url: str | None
    email_backend: str
    email_from: str
    allow_recruiter_signup: bool
    password_hash_profile: str

    @property
    def is_dev(self) -> bool:
        return self.stage == "dev"

    @property
    def jwt_secret(self) -> str:
        """The signing key. Dev makes one and keeps it in the state directory; others must set it."""
        if self.jwt_secret_value:
            if len(self.jwt_secret_value.encode()) < MIN_SECRET_BYTES:
                raise ConfigurationError(f"ATS_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes.")
            return self.jwt_secret_value
        if not self.is_dev:
            raise ConfigurationError("ATS_JWT_SECRET is required outside the dev stage.")
        return _dev_secret(os.path.join(self.state_dir, "jwt-secret"))


def _dev_secret(path: str) -> str:
    with _secret_lock:
        if path not in _generated_secrets:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_urlsafe(48))
            with open(path) as f:
                _generated_secrets[path] = f.read().strip()
        return _generated_secrets[path]


def get_settings() -> Settings:
    env = os.environ
    state_dir = env.get("ATS_STATE_DIR", ".ats")
    return Settings(
        stage=env.get("ATS_STAGE", "dev"),
        state_dir=state_dir,
        storage=env.get("ATS_STORAGE", "sqlite"),
        sqlite_path=env.get("ATS_SQLITE_PATH") or os.path.join(state_dir, "ats.db"),
        table_name=env.get("ATS_TABLE_NAME", "ats"),
        jwt_secret_value=env.get("ATS_JWT_SECRET") or None,
        jwt_ttl_seconds=int(env.get("ATS_JWT_TTL_SECONDS", "3600")),
        jwt_issuer=env.get("ATS_JWT_ISSUER", "ats"),
        redis_url=env.get("ATS_REDIS_URL") or None,
        email_backend=env.get("ATS_EMAIL_BACKEND", "file"),
        email_from=env.get("ATS_EMAIL_FROM", "ATS <no-reply@ats.local>"),
        allow_recruiter_signup=_flag(env.get("ATS_ALLOW_RECRUITER_SIGNUP"), True),
        # "fast" trades hashing cost for speed in test suites only; stored hashes carry their parameters.
        password_hash_profile=env.get("ATS_PASSWORD_HASH_PROFILE", "default"),
    )
