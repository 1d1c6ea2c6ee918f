"""A deleted job's applications no longer move (409 `job_deleted`); their candidate may still withdraw.
A move racing the delete: tests/api/test_races.py."""

import pytest

from .helpers import assert_error


def move(api, route: str, application_id: str, token: str, status: str):
    if route == "change-status":
        return api.post(
            "/applications/change-status", {"application_id": application_id, "status": status}, token=token
        )
    return api.post(f"/applications/{application_id}/transition", {"to_state": status}, token=token)


def history(api, application_id: str, token: str) -> list[str]:
    reply = api.get(f"/applications/{application_id}/history", token=token)
    assert reply.status == 200, reply.body
    return [entry["to_status"] for entry in reply.body["items"]]


@pytest.fixture
def deleted(api, recruiter, job, application):
    """The application, moved once, then its job deleted."""
    assert move(api, "change-status", application["id"], recruiter.token, "screening").status == 200
    assert api.delete(f"/jobs/{job['id']}", token=recruiter.token).status == 204
    return application


@pytest.mark.parametrize("route", ["change-status", "transition"])
@pytest.mark.parametrize("who", ["recruiter", "admin"])
@pytest.mark.parametrize("status", ["shortlisted", "rejected"])
def test_the_hiring_side_can_no_longer_move_a_deleted_jobs_applications(
    api, request, candidate, deleted, route, who, status
):
    error = assert_error(
        move(api, route, deleted["id"], request.getfixturevalue(who).token, status), 409, "job_deleted"
    )
    assert error["message"] == (
        "The job was deleted: its applications no longer move, but the candidate may still withdraw."
    )
    stored = api.get(f"/applications/{deleted['id']}", token=candidate.token).body["application"]
    assert (stored["status"], stored["version"]) == ("screening", 2)
    assert history(api, deleted["id"], candidate.token) == ["applied", "screening"]


@pytest.mark.parametrize("route", ["change-status", "transition"])
def test_the_candidate_may_still_withdraw_from_a_deleted_job(api, recruiter, candidate, deleted, route):
    reply = move(api, route, deleted["id"], candidate.token, "withdrawn")
    assert (reply.status, reply.body["application"]["status"], reply.body["application"]["version"]) == (
        200,
        "withdrawn",
        3,
    )
    assert history(api, deleted["id"], recruiter.token) == ["applied", "screening", "withdrawn"]
    assert_error(move(api, route, deleted["id"], candidate.token, "withdrawn"), 409, "invalid_transition")


def test_a_closed_jobs_applications_still_move(api, recruiter, job, application):
    assert api.put(f"/jobs/{job['id']}", {"status": "closed"}, token=recruiter.token).status == 200
    assert move(api, "change-status", application["id"], recruiter.token, "screening").status == 200
