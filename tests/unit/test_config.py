"""Settings: secrets never show in a repr (a log line, a traceback, a debugger), and reading them
does no I/O: the composition root fetches what they only name."""

import os

import pytest

from chalicelib import bootstrap
from chalicelib.config import get_settings
from chalicelib.domain.errors import ConfigurationError


def test_the_repr_of_settings_holds_no_secret(monkeypatch):
    monkeypatch.setenv("ATS_JWT_SECRET", "jwt-secret-" + "s" * 40)
    monkeypatch.setenv("ATS_SMTP_PASSWORD", "smtp-secret")
    monkeypatch.setenv("ATS_REDIS_URL", "redis://:redis-secret@127.0.0.1:6379/0")
    settings = get_settings()
    assert settings.jwt_secret.startswith("jwt-secret-") and settings.smtp_password_value == "smtp-secret"
    text = repr(settings)
    assert "stage=" in text
    assert not any(secret in text for secret in ("jwt-secret", "smtp-secret", "redis-secret"))


def test_settings_that_name_a_secret_fetch_nothing(monkeypatch, tmp_path):
    monkeypatch.delenv("ATS_JWT_SECRET", raising=False)
    monkeypatch.setenv("ATS_STATE_DIR", str(tmp_path))
    settings = get_settings()  # the dev stage: its secret is a file the root makes
    with pytest.raises(ConfigurationError):
        _ = settings.jwt_secret
    assert os.listdir(tmp_path) == []  # nothing read or written by the settings themselves
    found = bootstrap.settings()
    assert len(found.jwt_secret) >= 32 and (tmp_path / "jwt-secret").read_text().strip() == found.jwt_secret
    assert bootstrap.settings().jwt_secret == found.jwt_secret  # the same key on every request


def test_outside_dev_a_missing_secret_is_said_when_it_is_used(monkeypatch):
    monkeypatch.delenv("ATS_JWT_SECRET", raising=False)
    monkeypatch.delenv("ATS_JWT_SECRET_PARAMETER", raising=False)
    monkeypatch.setenv("ATS_STAGE", "prod")
    settings = bootstrap.settings()  # a route that signs nothing (/ping) still answers
    with pytest.raises(ConfigurationError, match="required outside the dev stage"):
        _ = settings.jwt_secret


def test_every_variable_the_settings_read_is_one_the_environment_copies():
    """ENVIRONMENT is found by a dry run of get_settings; a read only some other value leads to
    would be missed by it, and is found here in the source instead."""
    import re
    from pathlib import Path

    from chalicelib import config

    source = Path(config.__file__).read_text()
    named = set(re.findall(r"env(?:\.get\(|\[)\"([A-Z][A-Z0-9_]+)\"", source))
    assert named and named <= set(config.ENVIRONMENT)
    assert "ATS_PUBLIC_URL" in config.ENVIRONMENT


def test_a_setting_changed_in_the_environment_is_seen_on_the_next_request(monkeypatch):
    from chalicelib import bootstrap

    monkeypatch.setenv("ATS_PUBLIC_URL", "https://one.example.com")
    assert bootstrap.settings().public_url == "https://one.example.com"
    monkeypatch.setenv("ATS_PUBLIC_URL", "https://two.example.com/")
    assert bootstrap.settings().public_url == "https://two.example.com"
