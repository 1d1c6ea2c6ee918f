"""The accounts most contract tests start from, made through the repositories themselves."""

import pytest

from .test_repositories import make_user


@pytest.fixture
def recruiter(uow_factory):
    return make_user(uow_factory, "rita@example.com", "recruiter")


@pytest.fixture
def candidate(uow_factory):
    return make_user(uow_factory, "carl@example.com")
