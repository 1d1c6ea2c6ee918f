"""POST /applications/create (and POST /applications), GET /applications/{id} and its history."""

import pytest

from .helpers import MISSING_ID, assert_error, error_fields

APPLICATION_KEYS = {
    "id",
    "job_id",
    "candidate_id",
    "status",
    "stage",
    "rejection_reason_id",
    "cover_letter",
    "version",
    "created_at",
    "updated_at",
    "allowed_transitions",
    "candidate",
    "job",
}
HISTORY_KEYS = {
    "id",
    "application_id",
    "from_status",
    "to_status",
    "from_stage_id",
    "to_stage_id",
    "actor_id",
    "actor",
    "reason",
    "note",
    "rejection_reason_id",
    "created_at",
}


# --- apply --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/applications/create", "/applications"])
def test_candidate_applies(api, candidate, job, path):
    reply = api.post(path, {"job_id": job["id"], "cover_letter": "I run platforms."}, token=candidate.token)
    assert reply.status == 201
    application = reply.body["application"]
    assert set(application) == APPLICATION_KEYS
    assert (application["job_id"], application["candidate_id"], application["status"], application["version"]) == (
        job["id"],
        candidate.id,
        "applied",
        1,
    )
    assert application["cover_letter"] == "I run platforms."
    assert application["allowed_transitions"] == ["withdrawn"]  # what the candidate may do
    assert application["candidate"] == {"id": candidate.id, "name": "carl", "email": "carl@example.com"}
    assert application["job"] == {"id": job["id"], "title": "Platform Engineer", "status": "open", "deleted_at": None}
    assert reply.headers["etag"] == '"1"'


def test_cover_letter_is_optional(api, candidate, job):
    assert api.apply(candidate.token, job["id"])["cover_letter"] is None


@pytest.mark.parametrize("path", ["/applications/create", "/applications"])
def test_applying_twice_is_409(api, candidate, job, application, path):
    reply = api.post(path, {"job_id": job["id"]}, token=candidate.token)
    assert_error(reply, 409, "already_applied")


def test_two_candidates_apply_to_the_same_job(api, other_candidate, job, application):
    assert api.apply(other_candidate.token, job["id"])["id"] != application["id"]


@pytest.mark.parametrize("who", ["recruiter", "other_recruiter", "admin"])
def test_only_candidates_apply(api, request, job, who):
    reply = api.post("/applications/create", {"job_id": job["id"]}, token=request.getfixturevalue(who).token)
    assert_error(reply, 403, "forbidden")


def test_apply_without_a_token_is_401(api, job):
    assert_error(api.post("/applications/create", {"job_id": job["id"]}), 401)


@pytest.mark.parametrize("status", ["draft", "closed"])
def test_applying_to_a_job_that_is_not_open_is_404(api, recruiter, candidate, status):
    job = api.create_job(recruiter.token, status=status)
    assert_error(api.post("/applications/create", {"job_id": job["id"]}, token=candidate.token), 404)


def test_applying_to_an_absent_job_is_404(api, candidate):
    assert_error(api.post("/applications/create", {"job_id": MISSING_ID}, token=candidate.token), 404)


@pytest.mark.parametrize(
    "body,field",
    [
        ({}, "job_id"),
        ({"job_id": None}, "job_id"),
        ({"job_id": 42}, "job_id"),
        ({"job_id": "short"}, "job_id"),
        ({"job_id": "x" * 26}, "job_id"),
        ({"job_id": "J" * 27}, "job_id"),
        ({"job_id": MISSING_ID, "cover_letter": 7}, "cover_letter"),
        ({"job_id": MISSING_ID, "cover_letter": "c" * 10001}, "cover_letter"),
    ],
)
def test_apply_with_invalid_fields_is_422(api, candidate, body, field):
    reply = api.post("/applications/create", body, token=candidate.token)
    assert_error(reply, 422)
    assert field in error_fields(reply)


# --- read ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who,allowed",
    [("candidate", ["withdrawn"]), ("recruiter", ["screening", "rejected"]), ("admin", ["screening", "rejected"])],
)
def test_candidate_job_owner_and_admin_read_an_application(api, request, application, who, allowed):
    reply = api.get(f"/applications/{application['id']}", token=request.getfixturevalue(who).token)
    assert (reply.status, reply.headers["etag"]) == (200, '"1"')
    assert reply.body["application"] == {**application, "allowed_transitions": allowed}


@pytest.mark.parametrize("who", ["candidate", "recruiter", "admin"])
def test_lists_render_applications_without_their_cover_letter(api, request, job, candidate, who):
    """A list renders the summary (the letter stays out of the list indexes); a GET the letter too,
    after a change of status as before it."""
    letter = "\n".join(["I run platforms."] * 500)
    applied = api.apply(candidate.token, job["id"], cover_letter=letter)
    token = request.getfixturevalue(who).token
    for path in ("/applications", f"/jobs/{job['id']}/applications"):
        if who == "candidate" and path != "/applications":
            continue
        (listed,) = api.get(path, token=token).body["items"]
        assert set(listed) == APPLICATION_KEYS - {"cover_letter"}
        assert listed["id"] == applied["id"]
    if who != "candidate":
        moved = api.post(
            "/applications/change-status", {"application_id": applied["id"], "status": "screening"}, token=token
        )
        assert moved.body["application"]["cover_letter"] == letter
    assert api.get(f"/applications/{applied['id']}", token=token).body["application"]["cover_letter"] == letter


@pytest.mark.parametrize("who", ["other_candidate", "other_recruiter"])
@pytest.mark.parametrize("suffix", ["", "/history"])
def test_someone_elses_application_is_404(api, request, application, who, suffix):
    reply = api.get(f"/applications/{application['id']}{suffix}", token=request.getfixturevalue(who).token)
    assert_error(reply, 404, "not_found")


@pytest.mark.parametrize("suffix", ["", "/history"])
@pytest.mark.parametrize("application_id", [MISSING_ID, "nope"])
def test_an_absent_application_is_404(api, candidate, suffix, application_id):
    assert_error(api.get(f"/applications/{application_id}{suffix}", token=candidate.token), 404)


@pytest.mark.parametrize("suffix", ["", "/history"])
def test_reading_an_application_without_a_token_is_401(api, application, suffix):
    assert_error(api.get(f"/applications/{application['id']}{suffix}"), 401)


def test_history_starts_with_the_creation_by_the_candidate(api, candidate, application):
    reply = api.get(f"/applications/{application['id']}/history", token=candidate.token)
    assert reply.status == 200 and reply.body["next_cursor"] is None
    [entry] = reply.body["items"]
    assert set(entry) == HISTORY_KEYS
    assert (entry["application_id"], entry["from_status"], entry["to_status"], entry["actor_id"], entry["reason"]) == (
        application["id"],
        None,
        "applied",
        candidate.id,
        None,
    )
    assert entry["actor"] == {"id": candidate.id, "name": "carl", "role": "candidate"}
    assert entry["created_at"].endswith("Z")


@pytest.mark.parametrize("who", ["candidate", "recruiter", "admin"])
def test_history_is_readable_by_candidate_owner_and_admin(api, request, application, who):
    reply = api.get(f"/applications/{application['id']}/history", token=request.getfixturevalue(who).token)
    assert reply.status == 200 and len(reply.body["items"]) == 1
