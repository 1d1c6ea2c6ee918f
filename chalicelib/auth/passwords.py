"""argon2id password hashing (argon2-cffi: a maintained, audited binding of the reference code)."""

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# "fast" exists for test suites, where thousands of hashes at full cost would dominate the run.
# A hash records its own parameters, so any profile verifies any hash.
PROFILES = {
    "default": dict(time_cost=3, memory_cost=65536, parallelism=4),
    "fast": dict(time_cost=1, memory_cost=1024, parallelism=1),
}


@cache
def _hasher(profile: str) -> PasswordHasher:
    cost = PROFILES.get(profile, PROFILES["default"])
    return PasswordHasher(time_cost=cost["time_cost"], memory_cost=cost["memory_cost"], parallelism=cost["parallelism"])


def hash_password(password: str, profile: str = "default") -> str:
    return _hasher(profile).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher("default").verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def dummy_hash(profile: str) -> str:
    """A hash to verify against when the email is unknown, so both failures cost the same."""
    return hash_password("not-a-real-password", profile)
