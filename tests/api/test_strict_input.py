"""Strict input: unknown fields and parameters, control characters, emails in words, ids that cannot be ids.

Every refusal is the one error shape naming the field, and writes nothing.
"""

import pytest

from .conftest import PASSWORD
from .helpers import MISSING_ID, assert_error, error_fields


@pytest.fixture
def world(api, recruiter, candidate, job, application):
    """A second open job to apply to, and a way to see everything a refused request could have changed."""
    other_job = api.create_job(recruiter.token, title="Second Job")

    def state():
        jobs = api.get("/jobs/list?mine=true", token=recruiter.token).body["items"]
        applications = api.get("/applications", token=recruiter.token).body["items"]
        history = api.get(f"/applications/{application['id']}/history", token=recruiter.token).body["items"]
        return jobs, applications, history

    return {"job": job, "other_job": other_job, "application": application, "state": state}


def valid_bodies(world, recruiter, candidate):
    """(method, path, token, a body the route takes) for every route with a body."""
    job_id, application_id = world["job"]["id"], world["application"]["id"]
    job_fields = {
        "title": "Title",
        "description": "Text",
        "location": "Berlin",
        "department": "Infra",
        "employment_type": "full-time",
    }
    return [
        (
            "POST",
            "/auth/register",
            None,
            {"email": "new@example.com", "password": PASSWORD, "name": "New", "role": "candidate"},
        ),
        ("POST", "/auth/login", None, {"email": "carl@example.com", "password": PASSWORD}),
        ("POST", "/jobs/create", recruiter.token, job_fields),
        ("POST", "/jobs", recruiter.token, job_fields),
        ("PUT", f"/jobs/{job_id}", recruiter.token, job_fields),
        ("POST", "/applications/create", candidate.token, {"job_id": world["other_job"]["id"], "cover_letter": "Hi"}),
        ("POST", "/applications", candidate.token, {"job_id": world["other_job"]["id"], "cover_letter": "Hi"}),
        (
            "POST",
            "/applications/change-status",
            recruiter.token,
            {"application_id": application_id, "status": "screening", "reason": "Fine"},
        ),
        (
            "POST",
            f"/applications/{application_id}/transition",
            recruiter.token,
            {"to_state": "screening", "reason": "Fine"},
        ),
    ]


# --- unknown fields and parameters ----------------------------------------------------------------


def test_unknown_body_fields_are_422_naming_each_and_write_nothing(api, world, recruiter, candidate):
    before = world["state"]()
    for method, path, token, body in valid_bodies(world, recruiter, candidate):
        reply = api.call(method, path, {**body, "rol": "recruiter", "extra": 1}, token=token)
        error = assert_error(reply, 422, "validation_error")
        unknown = [detail for detail in error["details"] if detail["field"] in ("rol", "extra")]
        assert len(unknown) == 2, (path, error)
        assert all(detail["message"].startswith("unknown field (the fields are: ") for detail in unknown)
    assert world["state"]() == before
    assert_error(api.post("/auth/login", {"email": "new@example.com", "password": PASSWORD}), 401)


def test_a_misspelt_role_does_not_register_a_candidate(api):
    reply = api.post("/auth/register", {"email": "rob@example.com", "password": PASSWORD, "rol": "recruiter"})
    assert_error(reply, 422, "validation_error")
    assert error_fields(reply) == {"rol"}
    assert api.register("rob@example.com", "recruiter")["role"] == "recruiter"  # the email was not taken


def test_fields_a_client_may_not_set_are_refused_on_a_job(api, recruiter, other_recruiter, job):
    sneaky = {"id": MISSING_ID, "owner_id": other_recruiter.id, "version": 9}
    created = api.post("/jobs/create", {"title": "Mine", **sneaky}, token=recruiter.token)
    assert_error(created, 422, "validation_error")
    assert error_fields(created) == set(sneaky)
    updated = api.put(f"/jobs/{job['id']}", {"title": "Taken", **sneaky}, token=recruiter.token)
    assert_error(updated, 422, "validation_error")
    assert error_fields(updated) == set(sneaky)
    assert api.get(f"/jobs/{job['id']}").body["job"] == job
    assert [item["id"] for item in api.get("/jobs/list?mine=true", token=recruiter.token).body["items"]] == [job["id"]]


def test_a_candidate_cannot_set_the_status_on_applying(api, candidate, job):
    reply = api.post("/applications/create", {"job_id": job["id"], "status": "hired"}, token=candidate.token)
    assert_error(reply, 422, "validation_error")
    assert error_fields(reply) == {"status"}
    assert api.get("/applications", token=candidate.token).body["items"] == []


@pytest.mark.parametrize(
    "path,parameter",
    [
        ("/jobs?foo=1", "foo"),
        ("/jobs/list?limit=5&page=2", "page"),
        ("/jobs?owner_id=x", "owner_id"),
        ("/applications?to_state=applied", "to_state"),
        ("/applications?q=x", "q"),
        ("/jobs/{job}/applications?job_id={job}", "job_id"),
        ("/jobs/{job}/applications?jobid=x", "jobid"),
        ("/admin/outbox?cursor=x", "cursor"),
    ],
)
def test_unknown_query_parameters_are_422_naming_them(api, admin, job, path, parameter):
    reply = api.get(path.format(job=job["id"]), token=admin.token)
    error = assert_error(reply, 422, "validation_error")
    assert error["details"] == [{"field": parameter, "message": error["details"][0]["message"]}]
    assert error["details"][0]["message"].startswith("unknown parameter (the parameters are: ")


def test_the_declared_query_parameters_still_work(api, admin, recruiter, job, application):
    assert api.get(f"/jobs/{job['id']}/applications?status=applied&limit=5", token=recruiter.token).status == 200
    assert api.get(f"/applications?job_id={job['id']}&status=applied", token=recruiter.token).status == 200
    assert api.get("/jobs?status=open&q=plat&location=Berlin&department=Infrastructure&mine=false").status == 200
    assert api.get("/admin/outbox?status=sent&limit=5", token=admin.token).status == 200


def test_the_job_of_a_job_s_applications_is_the_path_s_alone(api, recruiter, other_recruiter, job, application):
    """Item: `job_id` was declared twice (path and query); the query's is refused, not merged."""
    theirs = api.create_job(other_recruiter.token, title="Theirs")
    reply = api.get(f"/jobs/{job['id']}/applications?job_id={theirs['id']}", token=recruiter.token)
    assert_error(reply, 422, "validation_error")
    assert error_fields(reply) == {"job_id"}
    listed = api.get(f"/jobs/{job['id']}/applications", token=recruiter.token)
    assert [item["id"] for item in listed.body["items"]] == [application["id"]]


# --- control characters ---------------------------------------------------------------------------

LONG_TEXT = {"description", "cover_letter", "reason"}
CONTROL = ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\u009f"]
LINE_BREAKS = ["\t", "\n", "\r", "\r\n"]


def test_control_characters_are_422_naming_the_field_in_every_string_and_write_nothing(
    api, world, recruiter, candidate
):
    before = world["state"]()
    for method, path, token, body in valid_bodies(world, recruiter, candidate):
        for field in body:
            refused = CONTROL + ([] if field in LONG_TEXT else LINE_BREAKS)
            for char in refused:
                reply = api.call(method, path, {**body, field: f"a{char}b"}, token=token)
                assert_error(reply, 422, "validation_error")
                assert field in error_fields(reply), (path, field, repr(char), reply.body)
    assert world["state"]() == before
    assert_error(api.post("/auth/login", {"email": "new@example.com", "password": PASSWORD}), 401)


def test_a_name_with_nul_is_refused_and_nothing_is_registered(api):
    reply = api.post("/auth/register", {"email": "nul@example.com", "password": PASSWORD, "name": "nul\x00name"})
    error = assert_error(reply, 422, "validation_error")
    assert error["details"] == [
        {
            "field": "name",
            "message": "must not contain control characters such as NUL, tab or newline (U+0000 at position 3)",
        }
    ]
    assert api.register("nul@example.com", name="Nul")["name"] == "Nul"  # the email was still free


def test_a_control_character_is_refused_not_trimmed(api, recruiter):
    for title in ("Engineer\n", "\tEngineer", "Engineer\x1f"):
        assert_error(api.post("/jobs/create", {"title": title}, token=recruiter.token), 422, "validation_error")
    assert api.get("/jobs/list?mine=true", token=recruiter.token).body["items"] == []


def test_long_text_keeps_its_tabs_and_line_breaks(api, recruiter, candidate, job):
    text = "Line one\n\tindented\r\nline three"
    created = api.create_job(recruiter.token, title="Writer", description=text)
    assert api.get(f"/jobs/{created['id']}").body["job"]["description"] == text
    applied = api.apply(candidate.token, created["id"], cover_letter=text)
    assert applied["cover_letter"] == text
    moved = api.post(
        f"/applications/{applied['id']}/transition", {"to_state": "screening", "reason": text}, token=recruiter.token
    )
    assert moved.status == 200
    history = api.get(f"/applications/{applied['id']}/history", token=recruiter.token).body["items"]
    assert history[-1]["reason"] == text


@pytest.mark.parametrize("parameter", ["q", "location", "department", "cursor"])
@pytest.mark.parametrize("char", ["%00", "%0A", "%09", "%1B", "%7F", "%C2%85"])
def test_control_characters_in_query_strings_are_422(api, recruiter, parameter, char):
    reply = api.get(f"/jobs?{parameter}=a{char}b", token=recruiter.token)
    assert_error(reply, 422, "validation_error")
    assert error_fields(reply) == {parameter}


# --- emails ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email,words",
    [
        ("carl.example.com", "needs an @"),
        ("carl@@example.com", "one @"),
        ("@example.com", "before the @ is empty"),
        ("carl smith@example.com", "before the @ may hold only"),
        ("carl@localhost", "needs a dot"),
        ("carl@-example.com", "each part of the domain"),
        ("carl@example..com", "each part of the domain"),
        ("jörg@example.com", "only ASCII email addresses are accepted"),
        ("carl@bücher.example", "only ASCII email addresses are accepted"),
    ],
)
def test_an_invalid_email_says_what_is_wrong_in_words(api, email, words):
    reply = api.post("/auth/register", {"email": email, "password": PASSWORD})
    error = assert_error(reply, 422, "validation_error")
    [detail] = error["details"]
    assert detail["field"] == "email" and words in detail["message"], detail
    assert "pattern" not in detail["message"] and "[A-Za-z" not in detail["message"]


def test_a_valid_email_with_unusual_characters_is_accepted(api):
    assert api.register("o'brien+jobs@mail.example.co.uk")["email"] == "o'brien+jobs@mail.example.co.uk"


# --- ids that cannot be ids ----------------------------------------------------------------------

ID_ROUTES = [
    ("GET", "/jobs/{}"),
    ("PUT", "/jobs/{}"),
    ("DELETE", "/jobs/{}"),
    ("GET", "/jobs/{}/applications"),
    ("GET", "/applications/{}"),
    ("GET", "/applications/{}/history"),
    ("POST", "/applications/{}/transition"),
]
NOT_IDS = [
    "x" * 2045,
    "0" * 3000,
    MISSING_ID.lower(),
    "8" + MISSING_ID[1:],
    MISSING_ID[:-1],
    MISSING_ID + "0",
    MISSING_ID[:-1] + "U",
    "not-an-id",
]


@pytest.fixture
def storage_calls(monkeypatch, no_dynamodb_scan):
    """Every unit of work a view opens, and every DynamoDB call: both stay empty when nothing is read."""
    import ats_functions.web.request as request  # Call.uow opens them

    opened = []
    real = request.unit_of_work

    def recording(settings):
        opened.append(settings)
        return real(settings)

    monkeypatch.setattr(request, "unit_of_work", recording)
    return lambda: (len(opened), len(no_dynamodb_scan))


@pytest.mark.parametrize("method,path", ID_ROUTES, ids=[f"{m} {p}" for m, p in ID_ROUTES])
def test_an_id_that_cannot_be_an_id_is_404_before_any_storage_call(api, admin, storage_calls, method, path):
    body = {"title": "T"} if method == "PUT" else {"to_state": "screening"} if method == "POST" else None
    before = storage_calls()
    for value in NOT_IDS:
        for token in (admin.token, None):
            reply = api.call(method, path.format(value), body, token=token)
            error = assert_error(reply, 404, "not_found")
            assert error["message"] in ("Job not found.", "Application not found."), error
    assert storage_calls() == before
    assert_error(api.call(method, path.format(MISSING_ID), body, token=admin.token), 404, "not_found")
    assert storage_calls() != before  # the guard above is real: a well-formed id is looked up
