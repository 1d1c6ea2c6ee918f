"""LOCALSTACK_HOST points the backend at an emulator through localstack-client (here: DynamoDB Local)."""

import pytest

from chalicelib import bootstrap
from chalicelib.bootstrap import forget_storage, unit_of_work
from chalicelib.config import get_settings
from chalicelib.domain.models import Principal
from chalicelib.services import jobs, users
from chalicelib.services.context import context_for

pytestmark = pytest.mark.parametrize("backend", ["dynamodb-local"], indirect=True)


@pytest.fixture
def via_localstack(backend, dynamodb_local, monkeypatch):
    """The backend fixture's table, reached through LOCALSTACK_HOST instead of an endpoint URL."""
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
    monkeypatch.setenv("LOCALSTACK_HOST", f"127.0.0.1:{dynamodb_local.port}")
    yield bootstrap.settings()  # as a request sees them: with the JWT secret found
    forget_storage(get_settings())


def test_localstack_host_resolves_to_the_emulator_endpoint(via_localstack, dynamodb_local):
    assert via_localstack.dynamodb_endpoint == dynamodb_local.endpoint


def test_the_backend_works_through_localstack_client(via_localstack):
    settings = via_localstack
    user = users.register(
        context_for(unit_of_work(settings), settings),
        email="rita@example.com",
        password="correct horse battery",
        role="recruiter",
    )
    job = jobs.create_job(
        context_for(unit_of_work(settings), settings, Principal(user.id, user.role)), title="Via LocalStack"
    )
    listed = jobs.list_jobs(context_for(unit_of_work(settings), settings, None), limit=10)
    assert [item.id for item in listed.items] == [job.id]
    with unit_of_work(settings) as uow:
        assert uow.users.get_by_email("RITA@example.com").id == user.id


def test_an_explicit_endpoint_wins_over_localstack_host(via_localstack, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4000")
    assert get_settings().dynamodb_endpoint == "http://127.0.0.1:4000"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:4001")
    assert get_settings().dynamodb_endpoint == "http://127.0.0.1:4001"
