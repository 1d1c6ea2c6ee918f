"""Password policy (NIST SP 800-63B): 8 to 128 characters, no composition rules, not a common one.

common-passwords.txt.gz holds the passwords of 8 characters or more from the list of 20 000
common passwords that Django ships (BSD licence; compiled by Royce Williams from breach data),
lowercased, one a line.
"""

import gzip
from functools import cache
from pathlib import Path

MIN_LENGTH, MAX_LENGTH = 8, 128


@cache
def _common_passwords() -> frozenset[str]:
    with gzip.open(Path(__file__).with_name("common-passwords.txt.gz"), "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines)


def is_common(password: str) -> bool:
    return password.strip().lower() in _common_passwords()
