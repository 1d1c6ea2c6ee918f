"""The DynamoDB calls a request makes: none that could be folded into another.

Counted on every call botocore makes (tests/conftest.py's recorder), on moto and DynamoDB Local;
SQLite has no round trips, and the outcome of each request is checked on every backend elsewhere.
"""

import json

import pytest

from bench.api import DeferredDeliveries
from tests.conftest import settle_email

from .helpers import with_query

ON_DYNAMODB = pytest.mark.parametrize("backend", ["moto", "dynamodb-local"], indirect=True)


@pytest.fixture
def calls(no_dynamodb_scan, api):
    """`calls.of(...)`: the calls of that request alone. What it hands the delivery thread (whose
    calls would count too) is held until they are taken (bench's DeferredDeliveries), then sent."""

    class Calls:
        def of(self, method: str, path: str, body=None, token=None, status: int = 200) -> list[str]:
            headers = {"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})}
            encoded = b"" if body is None else json.dumps(body).encode()
            settle_email()  # what earlier requests owe
            no_dynamodb_scan.clear()
            with DeferredDeliveries():  # on leaving: the held deliveries sent, and waited for
                response = api.client.http.request(method, path, headers=headers, body=encoded)
                made = list(no_dynamodb_scan)
            assert response.status_code == status, response.body
            return made

    return Calls()


@ON_DYNAMODB
def test_a_login_clears_its_counters_in_the_transaction_that_starts_its_session(api, calls, candidate):
    """Peek at the address's failures, count the attempt for the pair and the email (each a new
    window: the last login cleared them), read the account by its email, then one transaction."""
    made = calls.of("POST", "/auth/login", {"email": "carl@example.com", "password": "correct horse battery"})
    assert sorted(made) == sorted(["GetItem", "PutItem", "PutItem", "GetItem", "GetItem", "TransactWriteItems"])
    assert "DeleteItem" not in made and "UpdateItem" not in made  # no refused add, no clear of its own
    again = calls.of("POST", "/auth/login", {"email": "carl@example.com", "password": "correct horse battery"})
    assert sorted(again) == sorted(made)  # the counters were cleared: new windows again, one call each


@ON_DYNAMODB
def test_a_refresh_reads_its_session_and_user_in_one_batch(api, calls):
    api.register("rob@example.com")
    login = api.post("/auth/login", {"email": "rob@example.com", "password": "correct horse battery"}).body
    made = calls.of("POST", "/auth/refresh", {"refresh_token": login["refresh_token"]})
    assert made == ["GetItem", "BatchGetItem", "TransactWriteItems"]


@ON_DYNAMODB
def test_a_history_page_is_one_query_and_one_batch(api, calls, recruiter, candidate, application):
    application_id = application["id"]
    for status in ("screening", "shortlisted"):
        api.post(
            "/applications/change-status",
            {"application_id": application_id, "status": status},
            token=recruiter.token,
        )
    first = api.get(f"/applications/{application_id}/history?limit=2", token=candidate.token).body
    assert [entry["to_status"] for entry in first["items"]] == ["applied", "screening"]

    made = calls.of("GET", f"/applications/{application_id}/history?limit=2", token=recruiter.token)
    assert made == ["Query", "BatchGetItem"]  # the application with its history; its job with the actors
    later = calls.of(
        "GET", with_query(f"/applications/{application_id}/history", cursor=first["next_cursor"]), token=candidate.token
    )
    assert sorted(later) == ["BatchGetItem", "Query", "Query"]  # the application beside the page, at once


@ON_DYNAMODB
def test_a_change_of_one_item_is_a_conditional_write_not_a_transaction(api, calls, candidate):
    """A profile change writes the user alone: an UpdateItem or PutItem, half a transaction's capacity."""
    made = calls.of("PATCH", "/auth/me", {"name": "Carl Renamed"}, token=candidate.token)
    assert "TransactWriteItems" not in made
    assert made.count("PutItem") + made.count("UpdateItem") == 1
    assert api.get("/auth/me", token=candidate.token).body["user"]["name"] == "Carl Renamed"


@ON_DYNAMODB
def test_a_page_of_applications_reads_its_jobs_and_candidates_in_one_batch(api, calls, recruiter):
    jobs = [api.create_job(recruiter.token, title=f"Job {n}") for n in range(2)]
    for n in range(4):
        api.apply(api.signup(f"many{n}@example.com")[1], jobs[n % 2]["id"])
    made = calls.of("GET", "/applications?limit=4", token=recruiter.token)
    assert made.count("BatchGetItem") == 1  # 2 jobs and 4 candidates together
    assert made.count("GetItem") <= 1  # the caller's own account, once its few seconds of trust ran out
