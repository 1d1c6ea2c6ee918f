"""The original spec's routes and their REST aliases answer identically."""

import pytest

from .helpers import ids


def without_volatile(entity: dict) -> dict:
    # A stage's id is its job's: two jobs' applications are alike in the stage's name and kind.
    stage = {k: v for k, v in entity["stage"].items() if k != "id"} if entity.get("stage") else None
    kept = {k: v for k, v in entity.items() if k not in ("id", "created_at", "updated_at", "job", "stage")}
    return {**kept, "stage": stage} if "stage" in entity else kept


def test_ping_and_ping_ping_are_the_same(api):
    first, second = api.get("/ping"), api.get("/ping/ping")
    assert (first.status, first.body) == (second.status, second.body)


def test_jobs_list_and_jobs_are_the_same(api, recruiter, job, draft_job):
    for token in (None, recruiter.token):
        first, second = api.get("/jobs/list?limit=5", token=token), api.get("/jobs?limit=5", token=token)
        assert (first.status, first.body) == (second.status, second.body)


def test_jobs_create_and_post_jobs_make_the_same_job(api, recruiter):
    body = {"title": "Alias", "location": "Rome", "status": "draft"}
    first = api.post("/jobs/create", body, token=recruiter.token)
    second = api.post("/jobs", body, token=recruiter.token)
    assert first.status == second.status == 201
    assert without_volatile(first.body["job"]) == without_volatile(second.body["job"])


def test_applications_create_and_post_applications_make_the_same_application(api, recruiter, candidate):
    jobs = [api.create_job(recruiter.token, title=f"Job {n}")["id"] for n in range(2)]
    first = api.post("/applications/create", {"job_id": jobs[0], "cover_letter": "x"}, token=candidate.token)
    second = api.post("/applications", {"job_id": jobs[1], "cover_letter": "x"}, token=candidate.token)
    assert first.status == second.status == 201
    assert without_volatile({**first.body["application"], "job_id": None}) == without_volatile(
        {**second.body["application"], "job_id": None}
    )


@pytest.mark.parametrize("body", [{"to_state": "screening", "reason": "r"}, {"status": "screening", "reason": "r"}])
def test_transition_and_change_status_move_the_same_way(api, recruiter, candidate, body):
    job = api.create_job(recruiter.token)["id"]
    other_job = api.create_job(recruiter.token)["id"]
    first = api.apply(candidate.token, job)["id"]
    second = api.apply(candidate.token, other_job)["id"]
    by_transition = api.post(f"/applications/{first}/transition", body, token=recruiter.token)
    by_change = api.post("/applications/change-status", {"application_id": second, **body}, token=recruiter.token)
    assert by_transition.status == by_change.status == 200
    strip = lambda a: without_volatile({**a, "job_id": None})  # noqa: E731
    assert strip(by_transition.body["application"]) == strip(by_change.body["application"])


def test_applications_list_and_job_applications_agree(api, recruiter, candidate, job, application):
    assert (
        ids(api.get("/applications", token=recruiter.token))
        == ids(api.get(f"/jobs/{job['id']}/applications", token=recruiter.token))
        == [application["id"]]
    )
