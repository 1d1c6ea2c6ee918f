"""Login throttling: too many failed logins answer 429, without letting an attacker lock out the owner.

Three fixed-window counters over settings.login_window_seconds:
- per (email, address) pair, a low limit (settings.login_max_failures_per_pair): one guesser is
  stopped at once, and only for that pair, so the owner signs in from anywhere else;
- per email, a much higher ceiling (settings.login_max_failures_per_email; NIST 800-63B allows
  up to 100 consecutive failures per account): guesses spread over many addresses;
- per address, counting failures only (settings.login_max_failures_per_address): one address
  guessing many emails. Behind one shared address (a proxy, `chalice local`) every caller has the
  same address, so this ceiling is high too, and nobody else's pair is locked by another's guesses.
Once a limit is reached, the next attempt raises RateLimited with retry_after = the seconds until
that window ends, before any password hash is computed.

- The pair's and the email's counters are taken before the password is checked (a hit per
  attempt), so parallel guesses cannot outrun them; a successful login clears both, in the
  transaction that starts its session when they are in storage (no call of their own). The pair is
  checked first: a refused pair spends nothing of the email's allowance.
- The address's counter counts failures only (a hit after a failed check), so an office behind
  one address is not locked out by its own successful logins; it is read before the attempt.
- Unknown email and wrong password are counted alike, and the caller hashes a dummy for an
  unknown email, so neither the answer nor its timing tells them apart.

The counters are the unit of work's (uow.counters, which write at once): the composition root puts
them in Redis when one is configured (storage/drivers/redis_counters.py), in storage otherwise.
Keys carry an HMAC of the email (case-folded) and address under the JWT secret, never the values.
"""

import hashlib
import hmac
import logging
import math
import time

from ..config import Settings
from ..domain.errors import RateLimited
from ..domain.models import email_key
from ..storage import UnitOfWork
from ..storage.records import Window

log = logging.getLogger("ats.auth")

clock = time.time  # epoch seconds; tests replace it


# --- The checks, in the order sessions.login calls them --------------------------------------------


def before_login(uow: UnitOfWork, settings: Settings, *, email: str, source_ip: str | None) -> None:
    """Refuse the attempt (RateLimited) when its address, pair or email is locked; count it for the
    pair and the email."""
    counters = uow.counters
    window = settings.login_window_seconds
    if source_ip and settings.login_max_failures_per_address > 0:
        failures = counters.peek(_address_key(settings, source_ip))
        if failures.count >= settings.login_max_failures_per_address:
            _refuse("address", failures)
    for what, key, limit in _attempt_counters(settings, email, source_ip):
        attempts = counters.hit(key, window_seconds=window)
        if attempts.count > limit:
            _refuse(what, attempts)


def login_failed(uow: UnitOfWork, settings: Settings, *, email: str, source_ip: str | None) -> None:
    """Count a failed attempt against its address (the pair's and email's counters took it already)."""
    if source_ip and settings.login_max_failures_per_address > 0:
        uow.counters.hit(_address_key(settings, source_ip), window_seconds=settings.login_window_seconds)


def login_succeeded(uow: UnitOfWork, settings: Settings, *, email: str, source_ip: str | None) -> None:
    """Forget the pair's and the email's failures: with the session the login starts, in its unit
    of work (counters in storage), or at once (in Redis)."""
    for _, key, _ in _attempt_counters(settings, email, source_ip):
        clear = uow.counters.clearing(key)
        if clear is not None:
            uow.stage(clear)


def _attempt_counters(settings: Settings, email: str, source_ip: str | None) -> list[tuple[str, str, int]]:
    """(what, key, limit) of the counters hit per attempt, the pair first; a limit of 0 is off."""
    counters = [
        ("pair", _pair_key(settings, email, source_ip), settings.login_max_failures_per_pair),
        ("email", _email_key(settings, email), settings.login_max_failures_per_email),
    ]
    return [counter for counter in counters if counter[2] > 0]


def before_reset_request(uow: UnitOfWork, settings: Settings, *, email: str, source_ip: str | None) -> None:
    """Count a password reset request per email and per address; RateLimited past either limit.
    Unknown and known emails count alike, so the answer tells nothing of the account."""
    limits = [("email", "email", email_key(email), settings.forgot_max_per_email)]
    if source_ip:
        limits.append(("address", "address", _address(source_ip), settings.forgot_max_per_address))
    for what, kind, value, limit in limits:
        if limit > 0:
            requests = uow.counters.hit(
                f"reset-{kind}:{_digest(settings, f'reset-{kind}', value)}",
                window_seconds=settings.login_window_seconds,
            )
            if requests.count > limit:
                _refuse(what, requests, "Too many password reset requests")


def retry_after(window: Window, now: float | None = None) -> int:
    """Whole seconds until the window ends, at least 1 (the value of a Retry-After header)."""
    return max(1, math.ceil(window.ends_at - (clock() if now is None else now)))


def _refuse(what: str, window: Window, too_many: str = "Too many failed logins") -> None:
    seconds = retry_after(window)
    log.warning("refused: %s for this %s; retry after %d s", too_many.lower(), what, seconds)
    raise RateLimited(f"{too_many}. Try again in {seconds} seconds.", retry_after=seconds)


# --- Keys -----------------------------------------------------------------------------------------


def _digest(settings: Settings, kind: str, value: str) -> str:
    mac = hmac.new(settings.jwt_secret.encode(), f"{kind}\0{value}".encode(), hashlib.sha256)
    return mac.hexdigest()[:40]


def _email_key(settings: Settings, email: str) -> str:
    return f"login-email:{_digest(settings, 'email', email_key(email))}"


def _address(source_ip: str | None) -> str:
    return (source_ip or "").strip().lower()


def _address_key(settings: Settings, source_ip: str) -> str:
    return f"login-address:{_digest(settings, 'address', _address(source_ip))}"


def _pair_key(settings: Settings, email: str, source_ip: str | None) -> str:
    """An unknown address (no request context) is one address of its own."""
    pair = f"{email_key(email)}\0{_address(source_ip)}"
    return f"login-pair:{_digest(settings, 'pair', pair)}"
