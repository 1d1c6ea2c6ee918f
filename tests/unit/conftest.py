"""Fixtures of the service tests: use cases over the in-memory fakes."""

import pytest

from .fakes import FakeStore, FakeUnitOfWork, fake_settings


@pytest.fixture
def store():
    return FakeStore()


@pytest.fixture
def uow(store):
    """A factory: each use case gets a fresh unit of work over the same store, like a request."""
    return lambda: FakeUnitOfWork(store)


@pytest.fixture
def settings():
    return fake_settings()
