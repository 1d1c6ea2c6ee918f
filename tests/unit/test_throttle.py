"""Login throttling (chalicelib/services/throttle.py) through sessions.login, on the fakes and on Redis."""

import logging
import subprocess
import sys

import pytest

from chalicelib import bootstrap
from chalicelib.domain.errors import AuthenticationFailed, RateLimited
from chalicelib.domain.models import Role
from chalicelib.services import sessions, throttle, users
from chalicelib.services.context import context_for
from chalicelib.storage.drivers.redis_counters import RedisCounters
from chalicelib.storage.stores import Counters
from tests.conftest import ROOT, Clock
from tests.integration.conftest import free_port, redis_server  # noqa: F401  (a fixture, used below)

from .fakes import fake_settings

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(Counters, "clock", staticmethod(clock))
    monkeypatch.setattr(throttle, "clock", clock)
    bootstrap.reset()
    yield clock
    bootstrap.reset()


@pytest.fixture
def settings():
    return fake_settings(
        login_max_failures_per_pair=5,
        login_max_failures_per_email=12,
        login_max_failures_per_address=20,
        login_window_seconds=900,
    )


@pytest.fixture
def carl(uow, settings):
    return users.register(
        context_for(uow(), settings), email="carl@example.com", password=PASSWORD, role=Role.CANDIDATE
    )


@pytest.fixture
def hashes(monkeypatch):
    """How many password checks ran (each costs a hash)."""
    calls = []
    real = sessions.verify_password

    def counting(stored, password):
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(sessions, "verify_password", counting)
    return calls


HOME, ELSEWHERE = "203.0.113.7", "198.51.100.1"


def login(uow, settings, email="carl@example.com", password=PASSWORD, source_ip=HOME):
    return sessions.login(context_for(uow(), settings), email=email, password=password, source_ip=source_ip)


def fail(uow, settings, times, **kw):
    for _ in range(times):
        with pytest.raises(AuthenticationFailed):
            login(uow, settings, password="wrong password", **kw)


def refused(uow, settings, **kw) -> RateLimited:
    with pytest.raises(RateLimited) as raised:
        login(uow, settings, **kw)
    return raised.value


# --- Per (email, address) pair --------------------------------------------------------------------


def test_after_five_failures_the_pair_is_locked_until_its_window_ends(uow, settings, carl, clock, hashes):
    fail(uow, settings, 5)
    clock.advance(100)
    hashes.clear()
    error = refused(uow, settings)  # even the right password, from that address
    assert (error.code, error.retry_after) == ("rate_limited", 800)
    assert hashes == []  # refused before any hash was computed
    clock.advance(799.5)
    assert refused(uow, settings).retry_after == 1  # rounded up, never 0
    clock.advance(0.5)
    assert login(uow, settings).user.id == carl.id


def test_a_locked_pair_does_not_lock_the_owner_out_from_another_address(uow, settings, carl):
    fail(uow, settings, 5)
    refused(uow, settings)
    assert login(uow, settings, source_ip=ELSEWHERE).user.id == carl.id
    assert login(uow, settings, source_ip=None).user.id == carl.id  # no address known: a pair of its own
    refused(uow, settings)  # the guesser's pair stays locked


def test_the_lock_holds_whatever_the_case_of_the_email(uow, settings, carl):
    fail(uow, settings, 5, email="Carl@Example.com")
    refused(uow, settings, email=" CARL@example.COM ")


def test_a_successful_login_clears_the_pairs_failures(uow, settings, carl):
    fail(uow, settings, 4)
    login(uow, settings)
    fail(uow, settings, 5)  # a fresh allowance
    refused(uow, settings)


def test_an_unknown_email_is_counted_and_costs_a_hash_like_a_wrong_password(uow, settings, carl, hashes):
    fail(uow, settings, 1, email="nobody@example.com")
    fail(uow, settings, 1)
    assert len(hashes) == 2  # one check each: the dummy hash, then carl's
    fail(uow, settings, 4, email="nobody@example.com")
    refused(uow, settings, email="nobody@example.com")
    login(uow, settings)  # other emails are not affected


def test_locked_answers_do_not_extend_the_window(uow, settings, carl, clock):
    fail(uow, settings, 5)
    for _ in range(10):
        clock.advance(60)
        refused(uow, settings)
    clock.advance(300)  # 900 s after the first failure
    assert login(uow, settings).user.id == carl.id


def test_behind_one_shared_address_one_users_guesses_lock_only_their_pair(uow, settings, carl):
    users.register(context_for(uow(), settings), email="dana@example.com", password=PASSWORD, role=Role.CANDIDATE)
    fail(uow, settings, 5)
    refused(uow, settings)
    assert login(uow, settings, email="dana@example.com").user.email == "dana@example.com"


# --- Per email ------------------------------------------------------------------------------------


def test_guesses_spread_over_addresses_reach_the_emails_ceiling(uow, settings, carl, clock, hashes):
    for n in range(3):  # 4 failures each: no pair is locked
        fail(uow, settings, 4, source_ip=f"192.0.2.{n}")
    clock.advance(100)
    hashes.clear()
    error = refused(uow, settings, source_ip="192.0.2.99")  # the 13th attempt, from a fresh address
    assert error.retry_after == 800 and hashes == []
    clock.advance(800)
    assert login(uow, settings, source_ip="192.0.2.99").user.id == carl.id


def test_a_locked_pairs_refused_attempts_spend_nothing_of_the_emails_allowance(uow, settings, carl):
    fail(uow, settings, 5)
    for _ in range(50):
        refused(uow, settings, password="wrong password")
    fail(uow, settings, 3, source_ip=ELSEWHERE)
    fail(uow, settings, 3, source_ip="192.0.2.2")  # 11 failures in all: the 12th attempt is the last allowed
    assert login(uow, settings, source_ip="192.0.2.1").user.id == carl.id


def test_a_successful_login_clears_the_emails_failures(uow, settings, carl):
    for n in range(3):
        fail(uow, settings, 3, source_ip=f"192.0.2.{n}")
    login(uow, settings, source_ip=ELSEWHERE)
    for n in range(3):
        fail(uow, settings, 3, source_ip=f"192.0.2.{n + 10}")  # 19 attempts without the clear
    assert login(uow, settings, source_ip=ELSEWHERE).user.id == carl.id


# --- Per address ----------------------------------------------------------------------------------


def test_after_twenty_failures_from_one_address_it_is_locked(uow, settings, carl, clock, hashes):
    for n in range(20):  # many emails, so no pair or email lock applies
        fail(uow, settings, 1, email=f"guess{n}@example.com")
    hashes.clear()
    error = refused(uow, settings)
    assert error.retry_after == 900 and hashes == []
    assert login(uow, settings, source_ip=ELSEWHERE).user.id == carl.id  # another address
    assert login(uow, settings, source_ip=None).user.id == carl.id  # no address known: no address limit
    clock.advance(900)
    assert login(uow, settings).user.id == carl.id


def test_successful_logins_do_not_count_against_the_address(uow, settings, carl):
    for _ in range(30):
        login(uow, settings)
    fail(uow, settings, 1)


def test_a_limit_of_zero_switches_it_off(uow, carl):
    settings = fake_settings(
        login_max_failures_per_pair=0, login_max_failures_per_email=0, login_max_failures_per_address=0
    )
    fail(uow, settings, 30)
    assert login(uow, settings).user.id == carl.id


def test_settings_come_from_the_environment(monkeypatch):
    from chalicelib.config import get_settings

    def limits(settings):
        return (
            settings.login_max_failures_per_pair,
            settings.login_max_failures_per_email,
            settings.login_max_failures_per_address,
            settings.login_window_seconds,
        )

    assert limits(get_settings()) == (5, 100, 100, 900)
    monkeypatch.setenv("ATS_LOGIN_MAX_FAILURES_PER_PAIR", "2")
    monkeypatch.setenv("ATS_LOGIN_MAX_FAILURES_PER_EMAIL", "3")
    monkeypatch.setenv("ATS_LOGIN_MAX_FAILURES_PER_ADDRESS", "7")
    monkeypatch.setenv("ATS_LOGIN_WINDOW_SECONDS", "60")
    assert limits(get_settings()) == (2, 3, 7, 60)


# --- Keys and storage -----------------------------------------------------------------------------


def test_counter_keys_do_not_reveal_the_email_or_address(uow, settings, store, carl):
    fail(uow, settings, 2)
    assert len(store.counters) == 3  # the pair, the email, the address
    for key in store.counters:
        assert "carl" not in key.lower() and "example" not in key and HOME not in key
    other = fake_settings(jwt_secret_value="t" * 48)  # another deployment: other keys
    fail(uow, other, 1)
    assert len(store.counters) == 6


def test_throttling_does_not_import_redis():
    code = (
        "import sys; import chalicelib.services.users, chalicelib.services.throttle; "
        "print([m for m in sys.modules if m.split('.')[0] == 'redis'])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unreachable_redis_falls_back_to_storage_counters(store, carl, caplog):
    settings = fake_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there

    def uow():
        return store.unit_of_work(settings)  # the counters the composition root picks for these settings

    with caplog.at_level(logging.WARNING, logger="ats.auth"):
        fail(uow, settings, 5)
        with pytest.raises(RateLimited):
            login(uow, settings)
    assert len(store.counters) == 3  # counted in storage
    unavailable = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(unavailable) == 1  # tried once, then left alone for a while


# --- On Redis -------------------------------------------------------------------------------------


def test_counters_live_in_redis_when_it_is_configured(store, carl, redis_server):  # noqa: F811
    settings = fake_settings(redis_url=redis_server.url, login_window_seconds=900)

    def uow():
        return store.unit_of_work(settings)  # the counters the composition root picks for these settings

    fail(uow, settings, 5)
    assert 0 < refused(uow, settings).retry_after <= 900
    assert store.counters == {}  # nothing in storage
    client = redis_server.client()
    try:
        keys = sorted(key.decode() for key in client.keys("ats:throttle:*"))
        assert len(keys) == 3 and not any("carl" in key for key in keys)
        assert all(0 < client.ttl(key) <= 900 for key in keys)  # they expire with their window
        counts = {key.split(":")[2]: int(client.get(key)) for key in keys}
        assert counts == {"login-pair": 6, "login-email": 5, "login-address": 5}  # the refusal: the pair's only
        pair_key = next(key for key in keys if "login-pair" in key)
        client.delete(pair_key)  # as if the window had ended
        assert login(uow, settings).user.id == carl.id  # ... and a success clears the pair and the email
        assert sorted(key.decode() for key in client.keys("ats:throttle:*")) == [
            key for key in keys if "login-address" in key
        ]
    finally:
        client.close()


def test_redis_counters_count_every_concurrent_hit_and_clear(redis_server):  # noqa: F811
    import threading

    counters = RedisCounters(redis_server.client())
    assert counters.peek("k").count == 0
    counts, start = [], threading.Barrier(4)

    def hammer():
        start.wait()
        counts.extend(counters.hit("k", window_seconds=60).count for _ in range(10))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, 41))  # each hit saw its own count
    assert counters.peek("k").count == 40
    assert counters.clearing("k") is None  # cleared at once: nothing for a transaction to carry
    assert counters.peek("k").count == 0
