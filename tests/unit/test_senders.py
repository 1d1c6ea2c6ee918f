"""Addresses that no mail server would take fail for good, not on every retry."""

import pytest

from chalicelib.messaging.senders import PermanentSendError, _address


def test_a_non_ascii_address_is_a_permanent_failure():
    with pytest.raises(PermanentSendError):
        _address("Zoë", "zoë@example.com")


def test_a_non_ascii_name_is_encoded_and_the_address_kept():
    header = _address("Zoë", "zoe@example.com")
    assert header.endswith("<zoe@example.com>") and header.isascii()
