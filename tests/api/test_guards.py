"""Login throttling (429 + Retry-After) and Idempotency-Key on the create routes, through HTTP."""

import pytest

from .conftest import PASSWORD
from .helpers import assert_error


@pytest.fixture
def strict_login(monkeypatch):
    monkeypatch.setenv("ATS_LOGIN_MAX_FAILURES_PER_EMAIL", "3")
    monkeypatch.setenv("ATS_LOGIN_MAX_FAILURES_PER_ADDRESS", "5")
    monkeypatch.setenv("ATS_LOGIN_WINDOW_SECONDS", "600")


def login(api, email, password):
    return api.post("/auth/login", {"email": email, "password": password})


def test_repeated_failed_logins_for_one_email_are_throttled_with_retry_after(api, candidate, strict_login):
    for _ in range(3):
        assert_error(login(api, candidate.user["email"], "wrong password!"), 401, "invalid_credentials")
    refused = login(api, candidate.user["email"], PASSWORD)  # even the right password, while locked
    assert_error(refused, 429, "rate_limited")
    assert 0 < int(refused.headers["retry-after"]) <= 600


def test_an_unknown_email_is_throttled_like_a_known_one(api, strict_login):
    for _ in range(3):
        assert_error(login(api, "nobody@example.com", "wrong password!"), 401, "invalid_credentials")
    assert_error(login(api, "nobody@example.com", "wrong password!"), 429, "rate_limited")


def test_failures_from_one_address_are_throttled_across_emails(api, strict_login):
    for n in range(5):
        assert_error(login(api, f"guess{n}@example.com", "wrong password!"), 401)
    assert_error(login(api, "guess9@example.com", "wrong password!"), 429, "rate_limited")


def test_a_successful_login_clears_the_email_count(api, candidate, strict_login):
    for _ in range(2):
        login(api, candidate.user["email"], "wrong password!")
    assert login(api, candidate.user["email"], PASSWORD).status == 200
    for _ in range(2):
        assert login(api, candidate.user["email"], "wrong password!").status == 401
    assert login(api, candidate.user["email"], PASSWORD).status == 200


def test_a_retried_create_job_answers_the_first_response_and_creates_nothing_more(api, recruiter):
    key = {"Idempotency-Key": "create-job-1"}
    first = api.post("/jobs/create", {"title": "SRE"}, token=recruiter.token, headers=key)
    again = api.post("/jobs", {"title": "SRE"}, token=recruiter.token, headers=key)  # the alias too
    assert first.status == again.status == 201
    assert again.body == first.body and again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    mine = api.get("/jobs/list?mine=true", token=recruiter.token)
    assert [job["title"] for job in mine.body["items"]] == ["SRE"]


def test_a_retried_application_is_not_a_second_application(api, candidate, job):
    key = {"Idempotency-Key": "apply-1"}
    first = api.post("/applications/create", {"job_id": job["id"]}, token=candidate.token, headers=key)
    again = api.post("/applications/create", {"job_id": job["id"]}, token=candidate.token, headers=key)
    assert first.status == again.status == 201 and again.body == first.body
    assert len(api.get("/applications", token=candidate.token).body["items"]) == 1


def test_a_retried_registration_registers_once(api):
    body = {"email": "nina@example.com", "password": PASSWORD}
    first = api.post("/auth/register", body, headers={"Idempotency-Key": "signup-nina"})
    again = api.post("/auth/register", body, headers={"Idempotency-Key": "signup-nina"})
    assert first.status == again.status == 201 and again.body == first.body


def test_a_key_reused_with_another_body_is_refused(api, recruiter):
    key = {"Idempotency-Key": "create-job-2"}
    assert api.post("/jobs/create", {"title": "SRE"}, token=recruiter.token, headers=key).status == 201
    reused = api.post("/jobs/create", {"title": "DBA"}, token=recruiter.token, headers=key)
    assert_error(reused, 422, "idempotency_key_reused")


def test_keys_are_per_caller(api, recruiter, other_recruiter):
    key = {"Idempotency-Key": "same-key"}
    mine = api.post("/jobs/create", {"title": "SRE"}, token=recruiter.token, headers=key)
    theirs = api.post("/jobs/create", {"title": "SRE"}, token=other_recruiter.token, headers=key)
    assert mine.status == theirs.status == 201
    assert mine.body["job"]["id"] != theirs.body["job"]["id"]


def test_a_failed_create_is_not_remembered(api, recruiter):
    key = {"Idempotency-Key": "create-job-3"}
    assert_error(api.post("/jobs/create", {"title": ""}, token=recruiter.token, headers=key), 422)
    assert api.post("/jobs/create", {"title": "SRE"}, token=recruiter.token, headers=key).status == 201


def test_a_malformed_key_is_a_validation_error(api, recruiter):
    reply = api.post("/jobs/create", {"title": "SRE"}, token=recruiter.token, headers={"Idempotency-Key": "x" * 300})
    assert_error(reply, 422, "validation_error")
