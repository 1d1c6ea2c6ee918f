"""Settings: secrets never show in a repr (a log line, a traceback, a debugger)."""

from chalicelib.config import get_settings


def test_the_repr_of_settings_holds_no_secret(monkeypatch):
    monkeypatch.setenv("ATS_JWT_SECRET", "jwt-secret-" + "s" * 40)
    monkeypatch.setenv("ATS_SMTP_PASSWORD", "smtp-secret")
    monkeypatch.setenv("ATS_REDIS_URL", "redis://:redis-secret@127.0.0.1:6379/0")
    settings = get_settings()
    assert settings.jwt_secret.startswith("jwt-secret-") and settings.smtp_password == "smtp-secret"
    text = repr(settings)
    assert "stage=" in text
    assert not any(secret in text for secret in ("jwt-secret", "smtp-secret", "redis-secret"))
