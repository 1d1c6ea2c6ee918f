"""People and things most API tests start from, all made through the API itself."""

import pytest

from chalicelib.services.context import context_for

from .helpers import Actor

PASSWORD = "correct horse battery"


@pytest.fixture
def recruiter(api):
    return Actor(*api.signup("rita@example.com", "recruiter"))


@pytest.fixture
def other_recruiter(api):
    return Actor(*api.signup("olga@example.com", "recruiter"))


@pytest.fixture
def candidate(api):
    return Actor(*api.signup("carl@example.com"))


@pytest.fixture
def other_candidate(api):
    return Actor(*api.signup("cleo@example.com"))


@pytest.fixture
def admin(api, uow_factory, settings):
    """Admins never come from the API: made by the use case behind `cli create-admin`."""
    from chalicelib.services.users import create_admin
    from tests.conftest import settle_email

    user = create_admin(context_for(uow_factory(), settings), email="ada@example.com", password=PASSWORD, name="Ada")
    settle_email()  # its welcome email, sent by a thread, before the test's own calls (moto is not thread-safe)
    token = api.login("ada@example.com", PASSWORD)
    return Actor({"id": user.id, "email": user.email, "role": "admin"}, token)


@pytest.fixture
def small_bound(monkeypatch):
    """A filtered query reads at most 5 items a page (100 in use): what a bound cuts short shows with few items."""
    from chalicelib.storage import repositories

    monkeypatch.setattr(repositories, "READ_BOUND", 5)
    return 5


@pytest.fixture
def job(api, recruiter):
    return api.create_job(recruiter.token, title="Platform Engineer", location="Berlin", department="Infrastructure")


@pytest.fixture
def draft_job(api, recruiter):
    return api.create_job(recruiter.token, title="Secret Project", status="draft")


@pytest.fixture
def application(api, candidate, job):
    return api.apply(candidate.token, job["id"], cover_letter="Hello")


@pytest.fixture(autouse=True)
def _logs_hold_no_secret(monkeypatch):
    """Every line the `ats` loggers write during an API test holds no password, token, hash or secret.

    The passwords sent, the tokens issued and sent, and the hashes made are recorded as the test
    runs (tests/security/logcheck.py); so is anything shaped like a JWT or an argon2 hash.
    """
    from tests.conftest import settle_email
    from tests.security.logcheck import SUITE_FIGURES, LogCapture, SecretRecorder, record_traffic

    recorder = SecretRecorder()
    record_traffic(monkeypatch, recorder)
    with LogCapture() as capture:
        yield
        settle_email()  # the email lines of this test's deliveries too
    recorder.assert_clean(capture.lines)
    SUITE_FIGURES["tests"] += 1
    SUITE_FIGURES["lines"] += len(capture.lines)
