"""POST /jobs/create (and POST /jobs), GET/PUT/DELETE /jobs/{id}."""

import pytest

from .helpers import MISSING_ID, assert_error, error_fields, ids

JOB_KEYS = {
    "id",
    "owner_id",
    "title",
    "description",
    "location",
    "department",
    "employment_type",
    "status",
    "version",
    "created_at",
    "updated_at",
}
STRING_LIMITS = {"title": 200, "description": 20000, "location": 200, "department": 200, "employment_type": 50}


# --- create ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/jobs/create", "/jobs"])
def test_recruiter_creates_a_job(api, recruiter, path):
    body = {
        "title": "Data Engineer",
        "description": "Pipelines",
        "location": "Lisbon",
        "department": "Data",
        "employment_type": "full-time",
    }
    reply = api.post(path, body, token=recruiter.token)
    assert reply.status == 201
    job = reply.body["job"]
    assert set(job) == JOB_KEYS
    assert {k: job[k] for k in body} == body
    assert (job["status"], job["version"], job["owner_id"]) == ("open", 1, recruiter.id)
    assert reply.headers["etag"] == '"1"'
    assert api.get(f"/jobs/{job['id']}").body["job"] == job


@pytest.mark.parametrize("status", ["draft", "open", "closed"])
def test_create_with_a_status(api, recruiter, status):
    assert api.create_job(recruiter.token, status=status)["status"] == status


def test_admin_creates_a_job(api, admin):
    assert api.create_job(admin.token)["owner_id"] == admin.id


def test_candidate_cannot_create_a_job(api, candidate):
    assert_error(api.post("/jobs/create", {"title": "x"}, token=candidate.token), 403, "forbidden")
    assert ids(api.get("/jobs/list")) == []


def test_create_without_a_token_is_401(api):
    assert_error(api.post("/jobs/create", {"title": "x"}), 401)


@pytest.mark.parametrize(
    "body,field",
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": None}, "title"),
        ({"title": 5}, "title"),
        ({"title": "x", "status": "archived"}, "status"),
        ({"title": "x", "status": 1}, "status"),
        ({"title": "x", "description": 5}, "description"),
        ({"title": "x", "location": ["Berlin"]}, "location"),
        ({"title": "x", "department": True}, "department"),
        ({"title": "x", "employment_type": 1.5}, "employment_type"),
    ],
)
def test_create_with_invalid_fields_is_422(api, recruiter, body, field):
    reply = api.post("/jobs/create", body, token=recruiter.token)
    assert_error(reply, 422, "validation_error")
    assert field in error_fields(reply)


@pytest.mark.parametrize("field,limit", STRING_LIMITS.items())
def test_create_with_an_over_long_string_is_422(api, recruiter, field, limit):
    body = {"title": "x", field: "y" * (limit + 1)}
    reply = api.post("/jobs/create", body, token=recruiter.token)
    assert_error(reply, 422)
    assert field in error_fields(reply)


@pytest.mark.parametrize("field,limit", STRING_LIMITS.items())
def test_create_with_a_string_at_its_limit_is_accepted(api, recruiter, field, limit):
    body = {"title": "x", field: "y" * limit}
    assert api.post("/jobs/create", body, token=recruiter.token).status == 201


# --- get ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [None, "candidate", "other_recruiter", "recruiter", "admin"])
def test_an_open_job_is_visible_to_anyone(api, request, job, who):
    token = request.getfixturevalue(who).token if who else None
    reply = api.get(f"/jobs/{job['id']}", token=token)
    assert (reply.status, reply.body["job"]["id"], reply.headers["etag"]) == (200, job["id"], '"1"')


@pytest.mark.parametrize("status", ["draft", "closed"])
@pytest.mark.parametrize(
    "who,visible",
    [(None, False), ("candidate", False), ("other_recruiter", False), ("recruiter", True), ("admin", True)],
)
def test_a_job_that_is_not_open_is_visible_to_owner_and_admin_only(api, request, recruiter, status, who, visible):
    job = api.create_job(recruiter.token, status=status)
    token = request.getfixturevalue(who).token if who else None
    reply = api.get(f"/jobs/{job['id']}", token=token)
    if visible:
        assert reply.status == 200
    else:
        assert_error(reply, 404, "not_found")


@pytest.mark.parametrize("job_id", [MISSING_ID, "not-an-id", "0" * 26])
def test_get_an_absent_job_is_404(api, job_id):
    assert_error(api.get(f"/jobs/{job_id}"), 404)


# --- update -------------------------------------------------------------------------------------


def test_owner_updates_only_the_fields_sent(api, recruiter, job):
    reply = api.put(f"/jobs/{job['id']}", {"title": "Staff Engineer", "description": None}, token=recruiter.token)
    assert reply.status == 200
    updated = reply.body["job"]
    assert (updated["title"], updated["description"], updated["location"]) == ("Staff Engineer", None, "Berlin")
    assert updated["version"] == 2 and reply.headers["etag"] == '"2"'
    assert api.get(f"/jobs/{job['id']}").body["job"] == updated


def test_admin_updates_any_job(api, admin, job):
    assert api.put(f"/jobs/{job['id']}", {"status": "closed"}, token=admin.token).body["job"]["status"] == "closed"


def test_update_with_the_current_if_match_succeeds(api, recruiter, job):
    reply = api.put(f"/jobs/{job['id']}", {"title": "New"}, token=recruiter.token, headers={"if-match": '"1"'})
    assert reply.status == 200


@pytest.mark.parametrize("if_match", ['"7"', '"0"', 'W/"5"', "garbage"])
def test_update_with_a_stale_or_bad_if_match_is_412(api, recruiter, job, if_match):
    reply = api.put(f"/jobs/{job['id']}", {"title": "New"}, token=recruiter.token, headers={"if-match": if_match})
    assert_error(reply, 412, "precondition_failed")
    assert api.get(f"/jobs/{job['id']}").body["job"]["title"] == job["title"]


def test_update_after_someone_else_changed_it_is_412(api, recruiter, admin, job):
    api.put(f"/jobs/{job['id']}", {"title": "By admin"}, token=admin.token)
    reply = api.put(f"/jobs/{job['id']}", {"title": "By owner"}, token=recruiter.token, headers={"if-match": '"1"'})
    assert_error(reply, 412)


def test_another_recruiter_cannot_update_an_open_job(api, other_recruiter, job):
    assert_error(api.put(f"/jobs/{job['id']}", {"title": "Mine"}, token=other_recruiter.token), 403)
    assert api.get(f"/jobs/{job['id']}").body["job"]["title"] == job["title"]


@pytest.mark.parametrize("who", ["other_recruiter", "candidate"])
def test_updating_someone_elses_draft_is_404(api, request, draft_job, who):
    token = request.getfixturevalue(who).token
    assert_error(api.put(f"/jobs/{draft_job['id']}", {"title": "Mine"}, token=token), 404)


def test_candidate_cannot_update_an_open_job(api, candidate, job):
    assert_error(api.put(f"/jobs/{job['id']}", {"title": "Mine"}, token=candidate.token), 403)


def test_update_without_a_token_is_401(api, job):
    assert_error(api.put(f"/jobs/{job['id']}", {"title": "Mine"}), 401)


def test_update_an_absent_job_is_404(api, recruiter):
    assert_error(api.put(f"/jobs/{MISSING_ID}", {"title": "x"}, token=recruiter.token), 404)


@pytest.mark.parametrize(
    "body,field",
    [
        ({"title": None}, "title"),
        ({"title": ""}, "title"),
        ({"status": None}, "status"),
        ({"status": "archived"}, "status"),
        ({"title": 3}, "title"),
        *[({name: "y" * (limit + 1)}, name) for name, limit in STRING_LIMITS.items()],
    ],
)
def test_update_with_invalid_fields_is_422(api, recruiter, job, body, field):
    reply = api.put(f"/jobs/{job['id']}", body, token=recruiter.token)
    assert_error(reply, 422)
    assert field in error_fields(reply)
    assert api.get(f"/jobs/{job['id']}").body["job"]["version"] == 1


# --- delete -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["recruiter", "admin"])
def test_owner_or_admin_deletes_a_job_which_is_then_gone(api, request, recruiter, job, who):
    reply = api.delete(f"/jobs/{job['id']}", token=request.getfixturevalue(who).token)
    assert reply.status == 204
    assert_error(api.get(f"/jobs/{job['id']}", token=recruiter.token), 404)
    assert_error(api.put(f"/jobs/{job['id']}", {"title": "x"}, token=recruiter.token), 404)
    assert_error(api.delete(f"/jobs/{job['id']}", token=recruiter.token), 404)
    assert job["id"] not in ids(api.get("/jobs/list", token=recruiter.token))
    assert job["id"] not in ids(api.get("/jobs/list?mine=true", token=recruiter.token))


def test_delete_with_a_stale_if_match_is_412(api, recruiter, job):
    assert_error(api.delete(f"/jobs/{job['id']}", token=recruiter.token, headers={"if-match": '"3"'}), 412)
    assert api.get(f"/jobs/{job['id']}").status == 200


def test_another_recruiter_cannot_delete_an_open_job(api, other_recruiter, job):
    assert_error(api.delete(f"/jobs/{job['id']}", token=other_recruiter.token), 403)
    assert api.get(f"/jobs/{job['id']}").status == 200


def test_deleting_someone_elses_draft_is_404(api, other_recruiter, draft_job):
    assert_error(api.delete(f"/jobs/{draft_job['id']}", token=other_recruiter.token), 404)


def test_candidate_cannot_delete(api, candidate, job):
    assert_error(api.delete(f"/jobs/{job['id']}", token=candidate.token), 403)


def test_delete_without_a_token_is_401(api, job):
    assert_error(api.delete(f"/jobs/{job['id']}"), 401)


def test_delete_an_absent_job_is_404(api, recruiter):
    assert_error(api.delete(f"/jobs/{MISSING_ID}", token=recruiter.token), 404)


def test_deleted_jobs_applications_stay_readable_by_their_candidate(api, recruiter, candidate, job, application):
    assert api.delete(f"/jobs/{job['id']}", token=recruiter.token).status == 204
    reply = api.get(f"/applications/{application['id']}", token=candidate.token)
    assert (reply.status, reply.body["application"]["job_id"]) == (200, job["id"])
    assert api.get(f"/applications/{application['id']}/history", token=candidate.token).status == 200
    assert ids(api.get("/applications", token=candidate.token)) == [application["id"]]


def test_no_one_applies_to_a_deleted_job(api, recruiter, other_candidate, job):
    api.delete(f"/jobs/{job['id']}", token=recruiter.token)
    assert_error(api.post("/applications/create", {"job_id": job["id"]}, token=other_candidate.token), 404)
