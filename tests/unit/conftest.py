"""Fixtures of the service tests: use cases over the memory driver."""

import pytest

from .fakes import MemoryStorage, fake_settings


@pytest.fixture
def store():
    return MemoryStorage()


@pytest.fixture
def uow(store):
    """A factory: each use case gets a fresh unit of work over the same store, like a request."""
    return store.unit_of_work


@pytest.fixture
def settings():
    return fake_settings()
