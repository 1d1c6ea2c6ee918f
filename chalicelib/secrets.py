"""Secrets kept outside the settings: SSM SecureString parameters and the dev stage's own key.

Settings only name them (ATS_JWT_SECRET_PARAMETER, ATS_SMTP_PASSWORD_PARAMETER); whoever needs a
secret fetches it here (the composition root for the JWT secret, the SMTP sender for its
password). One store per process, made by the composition root: each value is fetched once
(a Lambda's cold start) and fetched again when found stale (`forget`).
"""

import os
import secrets
import threading

from .domain.errors import ConfigurationError


class SecretStore:
    def __init__(self) -> None:
        self._values: dict[tuple, str] = {}
        self._lock = threading.Lock()

    def parameter(self, name: str, region: str) -> str:
        """An SSM SecureString parameter, decrypted.

        A Lambda environment variable cannot hold a `{{resolve:ssm-secure:...}}` reference, and a
        resolved secret there would be readable by anyone who can read the function's
        configuration; so the template passes the parameter's name and the function reads it.
        """
        endpoint = os.environ.get("AWS_ENDPOINT_URL_SSM") or os.environ.get("AWS_ENDPOINT_URL")
        key = ("ssm", name, region, endpoint)
        with self._lock:
            if key in self._values:
                return self._values[key]
        import botocore.session  # only a deployed function asks, and once per parameter

        # Not under the lock: a slow SSM must not hold up the other secret's readers.
        client = botocore.session.get_session().create_client("ssm", region_name=region, endpoint_url=endpoint)
        try:
            reply = client.get_parameter(Name=name, WithDecryption=True)
        except Exception as error:  # botocore's errors stay here: a view sees a ConfigurationError
            raise ConfigurationError(f"Cannot read the SSM parameter {name}: {type(error).__name__}") from None
        with self._lock:
            return self._values.setdefault(key, reply["Parameter"]["Value"])

    def held(self) -> list[str]:
        """Every value fetched or made so far (the log check: none may appear in a log line)."""
        with self._lock:
            return list(self._values.values())

    def clear(self) -> None:
        """Forget every value (tests)."""
        with self._lock:
            self._values.clear()

    def forget(self, name: str) -> None:
        """Fetch the parameter afresh when next asked: its value was found stale (rotated)."""
        with self._lock:
            for key in [key for key in self._values if key[1] == name]:
                del self._values[key]

    def generated(self, path: str) -> str:
        """A random key kept in a file (the dev stage's JWT secret), made on first use."""
        key = ("file", path)
        with self._lock:
            if key not in self._values:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:
                    pass
                else:
                    with os.fdopen(fd, "w") as f:
                        f.write(secrets.token_urlsafe(48))
                with open(path) as f:
                    self._values[key] = f.read().strip()
            return self._values[key]
