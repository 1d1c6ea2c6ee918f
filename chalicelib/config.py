"""Settings, read from the environment when asked for, never at import time, and without I/O:
secrets they only name are fetched by the composition root (bootstrap.settings) or the driver
that needs them (chalicelib/secrets.py).

Chalice applies a stage's environment variables around each call (and so does its test
client), so every request reads them afresh: `environment()` is those variables as set now, and
the composition root keeps the settings made from each set of their values (bootstrap.settings).
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from .domain.errors import ConfigurationError

MIN_SECRET_BYTES = 32


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    """Every setting, read from the ATS_* environment variables by get_settings; secrets stay out of its repr."""

    stage: str
    state_dir: str
    storage: str
    sqlite_path: str
    table_name: str
    jwt_secret_value: str | None = field(repr=False)
    jwt_ttl_seconds: int  # an access token's lifetime: also how long a revoked session is remembered
    jwt_issuer: str
    redis_url: str | None = field(repr=False)  # may carry a password
    email_backend: str
    email_from: str
    allow_recruiter_signup: bool
    password_hash_profile: str
    # Email (chalicelib/messaging): SMTP sender, retries, and the broker's bounds.
    smtp_host: str = "localhost"
    smtp_port: int | None = None  # None: 465 for tls, 587 for starttls, 25 for none
    smtp_user: str | None = None
    smtp_password_value: str | None = field(default=None, repr=False)
    # Deployed: the name of an SSM SecureString parameter holding the SMTP password, read by the SMTP
    # sender on its first login.
    smtp_password_parameter: str | None = None
    smtp_tls: str = "starttls"  # starttls | tls | none
    smtp_timeout: float = 10.0
    email_max_retries: int = 12  # with the backoff below: about 4 to 8 minutes of retrying
    email_retry_base: float = 2.0  # seconds; doubles per retry, with jitter
    email_retry_max: float = 60.0  # under half of celery_visibility_timeout (a waiting retry is unacked)
    email_lease_seconds: int = 120  # a claimed delivery's lease; over a send, under celery_visibility_timeout
    celery_visibility_timeout: int = 150  # a killed worker's tasks come back after this (celery_app.py)
    relay_republish_seconds: int = 3600  # a `published` event unsent this long is published again (relay.py)
    scheduled_poll_seconds: float = 2.0  # without a broker, how often the delivery thread looks for due events
    publish_timeout: float = 0.5  # seconds a request may spend handing events to the broker
    # DynamoDB: where, and how long a call may take (well inside a Lambda's timeout).
    aws_region: str = "us-east-1"
    dynamodb_endpoint: str | None = None  # None: AWS itself
    dynamodb_create_tables: bool = False  # local stages create the table on first use
    dynamodb_connect_timeout: float = 2.0
    dynamodb_read_timeout: float = 5.0
    dynamodb_max_retries: int = 2
    # Deployed: the name of an SSM SecureString parameter holding the JWT secret, read on first use.
    jwt_secret_parameter: str | None = None
    jwt_secret_problem: str | None = None  # why the composition root found no JWT secret
    # Login throttling (chalicelib/services/throttle.py): failures allowed per window; 0 switches a limit off.
    login_max_failures_per_pair: int = 5  # one (email, address): a guesser, not the owner elsewhere
    login_max_failures_per_email: int = 100  # NIST 800-63B's ceiling of consecutive failures per account
    login_max_failures_per_address: int = 100  # failures only; high, as callers may share one address
    login_window_seconds: int = 900
    # Sessions (services/sessions.py): a refresh token's lifetime, renewed by each refresh.
    refresh_ttl_seconds: int = 30 * 24 * 3600
    # Password reset requests (services/accounts.py) allowed per window, per email and per address.
    forgot_max_per_email: int = 5
    forgot_max_per_address: int = 50
    # Where the links in emails point (a reset or verification page of the front end).
    public_url: str = "http://127.0.0.1:8000"
    # Browser origins allowed to call the API (CORS); "*" for any; empty for none.
    cors_allow_origins: tuple[str, ...] = ()
    # The function this process serves, set by Lambda itself (AWS_LAMBDA_FUNCTION_NAME); None elsewhere.
    lambda_function: str | None = None

    @property
    def is_dev(self) -> bool:
        return self.stage == "dev"

    @property
    def in_lambda(self) -> bool:
        """Whether this process is a Lambda's, which is frozen between invocations."""
        return self.lambda_function is not None

    @property
    def jwt_secret(self) -> str:
        """The signing key, as the composition root found it (bootstrap.settings); no I/O here."""
        if self.jwt_secret_value is None:
            raise ConfigurationError(self.jwt_secret_problem or "ATS_JWT_SECRET is required outside the dev stage.")
        if len(self.jwt_secret_value.encode()) < MIN_SECRET_BYTES:
            raise ConfigurationError(f"ATS_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes.")
        return self.jwt_secret_value


def environment() -> dict[str, str]:
    """The variables get_settings reads (ENVIRONMENT) that are set, as they are now."""
    env = os.environ
    return {name: value for name in ENVIRONMENT if (value := env.get(name)) is not None}


def get_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings `env` (by default, `environment()`) says."""
    env = environment() if env is None else env
    state_dir = env.get("ATS_STATE_DIR", ".ats")
    return Settings(
        stage=env.get("ATS_STAGE", "dev"),
        state_dir=state_dir,
        storage=env.get("ATS_STORAGE", "sqlite"),
        sqlite_path=env.get("ATS_SQLITE_PATH") or os.path.join(state_dir, "ats.db"),
        table_name=env.get("ATS_TABLE_NAME", "ats"),
        jwt_secret_value=env.get("ATS_JWT_SECRET") or None,
        jwt_ttl_seconds=int(env.get("ATS_JWT_TTL_SECONDS", "900")),
        jwt_issuer=env.get("ATS_JWT_ISSUER", "ats"),
        redis_url=env.get("ATS_REDIS_URL") or None,
        email_backend=env.get("ATS_EMAIL_BACKEND", "file"),
        email_from=env.get("ATS_EMAIL_FROM", "ATS <no-reply@ats.local>"),
        allow_recruiter_signup=_flag(env.get("ATS_ALLOW_RECRUITER_SIGNUP"), True),
        # "fast" trades hashing cost for speed in test suites only; stored hashes carry their parameters.
        password_hash_profile=env.get("ATS_PASSWORD_HASH_PROFILE", "default"),
        smtp_host=env.get("ATS_SMTP_HOST", "localhost"),
        smtp_port=int(env["ATS_SMTP_PORT"]) if env.get("ATS_SMTP_PORT") else None,
        smtp_user=env.get("ATS_SMTP_USER") or None,
        smtp_password_value=env.get("ATS_SMTP_PASSWORD") or None,
        smtp_password_parameter=env.get("ATS_SMTP_PASSWORD_PARAMETER") or None,
        smtp_tls=env.get("ATS_SMTP_TLS", "starttls").strip().lower(),
        smtp_timeout=float(env.get("ATS_SMTP_TIMEOUT", "10")),
        email_max_retries=int(env.get("ATS_EMAIL_MAX_RETRIES", "12")),
        email_retry_base=float(env.get("ATS_EMAIL_RETRY_BASE", "2")),
        email_retry_max=float(env.get("ATS_EMAIL_RETRY_MAX", "60")),
        email_lease_seconds=int(env.get("ATS_EMAIL_LEASE_SECONDS", "120")),
        celery_visibility_timeout=int(env.get("ATS_CELERY_VISIBILITY_TIMEOUT", "150")),
        relay_republish_seconds=int(env.get("ATS_RELAY_REPUBLISH_SECONDS", "3600")),
        scheduled_poll_seconds=float(env.get("ATS_SCHEDULED_POLL_SECONDS", "2")),
        publish_timeout=float(env.get("ATS_PUBLISH_TIMEOUT", "0.5")),
        aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        dynamodb_endpoint=_dynamodb_endpoint(env),
        dynamodb_create_tables=_flag(env.get("ATS_DYNAMODB_CREATE_TABLES"), False),
        dynamodb_connect_timeout=float(env.get("ATS_DYNAMODB_CONNECT_TIMEOUT", "2")),
        dynamodb_read_timeout=float(env.get("ATS_DYNAMODB_READ_TIMEOUT", "5")),
        dynamodb_max_retries=int(env.get("ATS_DYNAMODB_MAX_RETRIES", "2")),
        jwt_secret_parameter=env.get("ATS_JWT_SECRET_PARAMETER") or None,
        login_max_failures_per_pair=int(env.get("ATS_LOGIN_MAX_FAILURES_PER_PAIR", "5")),
        login_max_failures_per_email=int(env.get("ATS_LOGIN_MAX_FAILURES_PER_EMAIL", "100")),
        login_max_failures_per_address=int(env.get("ATS_LOGIN_MAX_FAILURES_PER_ADDRESS", "100")),
        login_window_seconds=int(env.get("ATS_LOGIN_WINDOW_SECONDS", "900")),
        refresh_ttl_seconds=int(env.get("ATS_REFRESH_TTL_SECONDS", str(30 * 24 * 3600))),
        forgot_max_per_email=int(env.get("ATS_FORGOT_MAX_PER_EMAIL", "5")),
        forgot_max_per_address=int(env.get("ATS_FORGOT_MAX_PER_ADDRESS", "50")),
        public_url=env.get("ATS_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
        cors_allow_origins=tuple(o.strip() for o in env.get("ATS_CORS_ALLOW_ORIGINS", "").split(",") if o.strip()),
        lambda_function=env.get("AWS_LAMBDA_FUNCTION_NAME") or None,
    )


def _dynamodb_endpoint(env: Mapping[str, str]) -> str | None:
    """An emulator's endpoint, if one is set; None means AWS itself."""
    endpoint = env.get("AWS_ENDPOINT_URL_DYNAMODB") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        return endpoint
    if env.get("LOCALSTACK_HOST"):
        from localstack_client.config import get_service_endpoint  # dev-only dependency, asked for only here

        return get_service_endpoint("dynamodb")
    return None


class _Reads(dict):
    """An empty environment that notes every name asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def get(self, name, default=None):
        self.names.append(name)
        return default


def _names_read() -> tuple[str, ...]:
    """Every variable get_settings reads, found by letting it read an empty environment: the list
    is get_settings itself, so a new setting cannot be left out of it (test_config checks the
    reads no default hides)."""
    reads = _Reads()
    get_settings(reads)
    return tuple(dict.fromkeys(reads.names))


ENVIRONMENT = _names_read()  # what environment() copies: get_settings sees nothing else
