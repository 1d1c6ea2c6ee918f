"""POST /applications/change-status and POST /applications/{id}/transition: the pipeline over HTTP."""

import pytest

from .helpers import MISSING_ID, assert_error, error_fields

ROUTES = ["change-status", "transition"]


def move(api, route: str, application_id: str, token: str | None, headers=None, **body):
    """Both routes with one call: change-status takes the id in the body, transition in the path."""
    if route == "change-status":
        return api.post(
            "/applications/change-status", {"application_id": application_id, **body}, token=token, headers=headers
        )
    return api.post(f"/applications/{application_id}/transition", body, token=token, headers=headers)


def walk_to(api, recruiter, application, *statuses):
    for status in statuses:
        assert move(api, "change-status", application["id"], recruiter.token, status=status).status == 200


def history(api, application, token):
    return [
        (e["from_status"], e["to_status"], e["actor_id"], e["reason"])
        for e in api.get(f"/applications/{application['id']}/history", token=token).body["items"]
    ]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("field", ["status", "to_state"])
def test_the_job_owner_moves_an_application(api, recruiter, candidate, application, route, field):
    reply = move(api, route, application["id"], recruiter.token, **{field: "screening", "reason": "good CV"})
    assert reply.status == 200
    moved = reply.body["application"]
    assert (moved["status"], moved["version"], reply.headers["etag"]) == ("screening", 2, '"2"')
    assert moved["allowed_transitions"] == ["shortlisted", "rejected"]  # the recruiter's moves, not withdrawn
    seen = api.get(f"/applications/{application['id']}", token=candidate.token).body["application"]
    assert seen == {**moved, "allowed_transitions": ["withdrawn"]}  # the candidate's
    assert history(api, application, recruiter.token)[-1] == ("applied", "screening", recruiter.id, "good CV")
    # The reason is the team's: the candidate reads the change without it.
    assert history(api, application, candidate.token)[-1] == ("applied", "screening", recruiter.id, None)


def test_the_whole_pipeline_to_hired_is_recorded_in_order(api, recruiter, candidate, application):
    walk_to(api, recruiter, application, "screening", "shortlisted", "selected", "hired")
    assert [(frm, to) for frm, to, _, _ in history(api, application, recruiter.token)] == [
        (None, "applied"),
        ("applied", "screening"),
        ("screening", "shortlisted"),
        ("shortlisted", "selected"),
        ("selected", "hired"),
    ]
    final = api.get(f"/applications/{application['id']}", token=candidate.token).body["application"]
    assert (final["status"], final["allowed_transitions"]) == ("hired", [])


def test_an_admin_moves_any_application(api, admin, application):
    assert move(api, "change-status", application["id"], admin.token, status="rejected").status == 200


@pytest.mark.parametrize("route", ROUTES)
def test_the_candidate_withdraws(api, candidate, application, route):
    reply = move(api, route, application["id"], candidate.token, to_state="withdrawn", reason="took another offer")
    assert (reply.status, reply.body["application"]["status"]) == (200, "withdrawn")


@pytest.mark.parametrize("who", ["recruiter", "admin"])
def test_nobody_but_the_candidate_withdraws(api, request, application, who):
    reply = move(api, "change-status", application["id"], request.getfixturevalue(who).token, status="withdrawn")
    assert_error(reply, 403, "forbidden")


@pytest.mark.parametrize(
    "route,status", [("change-status", "screening"), ("transition", "rejected"), ("change-status", "hired")]
)
def test_the_candidate_cannot_move_own_application_forward(api, candidate, application, route, status):
    assert_error(move(api, route, application["id"], candidate.token, status=status), 403)
    assert api.get(f"/applications/{application['id']}", token=candidate.token).body["application"]["version"] == 1


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("who", ["other_recruiter", "other_candidate"])
def test_someone_elses_application_is_404(api, request, application, route, who):
    target = "withdrawn" if who == "other_candidate" else "screening"
    assert_error(move(api, route, application["id"], request.getfixturevalue(who).token, status=target), 404)


@pytest.mark.parametrize("route", ROUTES)
def test_an_absent_application_is_404(api, recruiter, route):
    assert_error(move(api, route, MISSING_ID, recruiter.token, status="screening"), 404)


@pytest.mark.parametrize("route", ROUTES)
def test_moving_without_a_token_is_401(api, application, route):
    assert_error(move(api, route, application["id"], None, status="screening"), 401)


@pytest.mark.parametrize(
    "route,walked,target,allowed",
    [
        ("change-status", (), "shortlisted", ["rejected", "screening"]),
        ("transition", (), "hired", ["rejected", "screening"]),
        ("change-status", (), "applied", ["rejected", "screening"]),
        ("transition", ("screening",), "selected", ["rejected", "shortlisted"]),
        ("change-status", ("screening", "shortlisted"), "screening", ["rejected", "selected"]),
        ("change-status", ("screening", "shortlisted", "selected"), "applied", ["hired", "rejected"]),
        ("transition", ("rejected",), "screening", []),
        ("change-status", ("screening", "shortlisted", "selected", "hired"), "rejected", []),
    ],
)
def test_an_invalid_transition_is_409_naming_the_allowed_targets(
    api, recruiter, candidate, application, route, walked, target, allowed
):
    walk_to(api, recruiter, application, *walked)
    reply = move(api, route, application["id"], recruiter.token, status=target)
    error = assert_error(reply, 409, "invalid_transition")
    assert sorted(error["details"][0]["allowed"]) == allowed  # what this caller may do: never the candidate's
    for name in allowed:
        assert name in error["message"]
    assert "withdrawn" not in error["message"]
    after = api.get(f"/applications/{application['id']}", token=candidate.token).body["application"]
    assert after["version"] == 1 + len(walked)


def test_a_withdrawn_application_cannot_move_again(api, recruiter, candidate, application):
    move(api, "change-status", application["id"], candidate.token, status="withdrawn")
    assert_error(
        move(api, "change-status", application["id"], recruiter.token, status="screening"), 409, "invalid_transition"
    )
    assert_error(
        move(api, "change-status", application["id"], candidate.token, status="withdrawn"), 409, "invalid_transition"
    )


@pytest.mark.parametrize("route", ROUTES)
def test_the_current_expected_version_is_accepted(api, recruiter, application, route):
    assert move(api, route, application["id"], recruiter.token, status="screening", expected_version=1).status == 200


@pytest.mark.parametrize("route", ROUTES)
def test_a_stale_expected_version_is_409(api, recruiter, candidate, application, route):
    walk_to(api, recruiter, application, "screening")
    reply = move(api, route, application["id"], recruiter.token, status="shortlisted", expected_version=1)
    assert_error(reply, 409, "stale_version")
    assert (
        api.get(f"/applications/{application['id']}", token=candidate.token).body["application"]["status"]
        == "screening"
    )


@pytest.mark.parametrize("route", ROUTES)
def test_the_current_if_match_is_accepted(api, recruiter, application, route):
    reply = move(api, route, application["id"], recruiter.token, headers={"if-match": '"1"'}, status="screening")
    assert reply.status == 200


@pytest.mark.parametrize("route", ROUTES)
def test_a_stale_if_match_is_412(api, recruiter, candidate, application, route):
    walk_to(api, recruiter, application, "screening")
    reply = move(api, route, application["id"], recruiter.token, headers={"if-match": '"1"'}, status="shortlisted")
    assert_error(reply, 412, "precondition_failed")
    assert api.get(f"/applications/{application['id']}", token=candidate.token).body["application"]["version"] == 2


@pytest.mark.parametrize(
    "route,body,field",
    [
        ("change-status", {}, "body"),
        ("transition", {}, "body"),
        ("transition", {"reason": "no target"}, "body"),
        ("change-status", {"status": "promoted"}, "status"),
        ("transition", {"to_state": "promoted"}, "to_state"),
        ("change-status", {"status": 3}, "status"),
        ("transition", {"status": None, "to_state": None}, "body"),
        ("change-status", {"status": "screening", "to_state": "rejected"}, "body"),
        ("transition", {"to_state": "screening", "reason": "r" * 1001}, "reason"),
        ("change-status", {"status": "screening", "reason": "r" * 1001}, "reason"),
        ("change-status", {"status": "screening", "reason": 5}, "reason"),
        ("change-status", {"status": "screening", "expected_version": 0}, "expected_version"),
        ("transition", {"status": "screening", "expected_version": "1"}, "expected_version"),
        ("change-status", {"status": "screening", "expected_version": 1.5}, "expected_version"),
    ],
)
def test_invalid_fields_are_422(api, recruiter, application, route, body, field):
    reply = move(api, route, application["id"], recruiter.token, **body)
    assert_error(reply, 422, "validation_error")
    assert field in error_fields(reply)


@pytest.mark.parametrize(
    "application_id,field",
    [(None, "application_id"), ("x", "application_id"), (42, "application_id"), ("z" * 26, "application_id")],
)
def test_change_status_needs_a_valid_application_id(api, recruiter, application_id, field):
    body = (
        {"status": "screening"} if application_id is None else {"application_id": application_id, "status": "screening"}
    )
    reply = api.post("/applications/change-status", body, token=recruiter.token)
    assert_error(reply, 422)
    assert field in error_fields(reply)


def test_applications_of_a_deleted_job_no_longer_move(api, recruiter, candidate, job, application):
    """More in test_deleted_jobs.py: the candidate may still withdraw; a move racing the delete."""
    api.delete(f"/jobs/{job['id']}", token=recruiter.token)
    assert_error(move(api, "change-status", application["id"], recruiter.token, status="rejected"), 409, "job_deleted")
    assert (
        api.get(f"/applications/{application['id']}", token=candidate.token).body["application"]["status"] == "applied"
    )
