"""Who may touch what: object level (BOLA), function level (BFLA), and mass assignment.

One small world per test: a recruiter who owns an open job and a draft, a candidate who applied to
the open job, and outsiders (another candidate, another recruiter, nobody signed in, an admin).
Every route with an object id is called by each outsider; the answer is 404 (or 401 signed out),
except where the object is public anyway (an open job: 403 to a change), and the objects are the
same afterwards, as their owner reads them. Then the owner (or the candidate, for a withdrawal)
makes the same call and succeeds, so a refusal is never a typo in the route.

Runs on SQLite and on DynamoDB Local: who sees what is decided partly by the queries of each
backend (moto runs the same DynamoDB code as DynamoDB Local, only slower, so it is left out here).
"""

from dataclasses import dataclass

import pytest

from chalicelib.services.context import context_for
from tests.api.helpers import Actor, assert_error, ids

PASSWORD = "correct horse battery"

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "dynamodb-local"], indirect=True)


@dataclass
class World:
    owner: Actor  # recruiter of job and draft
    candidate: Actor  # applied to job
    other_candidate: Actor
    other_recruiter: Actor
    admin: Actor
    job: dict
    draft: dict
    application: dict

    def caller(self, who: str) -> str | None:
        return None if who == "anonymous" else getattr(self, who).token


@pytest.fixture
def world(api, uow_factory, settings) -> World:
    from chalicelib.services.users import create_admin

    owner = Actor(*api.signup("owner@example.com", "recruiter"))
    candidate = Actor(*api.signup("applicant@example.com"))
    other_candidate = Actor(*api.signup("mallory@example.com"))
    other_recruiter = Actor(*api.signup("trudy@example.com", "recruiter"))
    user = create_admin(context_for(uow_factory(), settings), email="root@example.com", password=PASSWORD, name="Root")
    admin = Actor({"id": user.id, "email": user.email, "role": "admin"}, api.login("root@example.com"))
    job = api.create_job(owner.token, title="Open Role", description="Public")
    draft = api.create_job(owner.token, title="Secret Role", description="Not yet public", status="draft")
    application = api.apply(candidate.token, job["id"], cover_letter="My private letter")
    return World(owner, candidate, other_candidate, other_recruiter, admin, job, draft, application)


def snapshot(api, w: World) -> dict:
    """Everything an attack could change, as the owner sees it (a deleted job reads as 404)."""
    owner = w.owner.token
    state = {}
    for name, path in [
        ("job", f"/jobs/{w.job['id']}"),
        ("draft", f"/jobs/{w.draft['id']}"),
        ("application", f"/applications/{w.application['id']}"),
        ("history", f"/applications/{w.application['id']}/history"),
        ("job applications", f"/jobs/{w.job['id']}/applications"),
        ("own jobs", "/jobs/list?mine=true&limit=100"),
    ]:
        reply = api.get(path, token=owner)
        state[name] = (reply.status, reply.body, reply.headers.get("etag"))
    candidate_view = api.get("/applications", token=w.candidate.token)
    state["candidate applications"] = (candidate_view.status, candidate_view.body)
    return state


# --- BOLA ---------------------------------------------------------------------------------------
# (name, method, path, body, answers to other_candidate / other_recruiter / anonymous,
#  who succeeds with the same call, with which status, and with which body if another). "list" is a list answered 200
# that must hold none of another's objects (a candidate's list is filtered to the candidate's own).
OUTSIDERS = ("other_candidate", "other_recruiter", "anonymous")
NOT_YOURS = {"other_candidate": {404}, "other_recruiter": {404}, "anonymous": {401}}
PUBLIC_OBJECT = {"other_candidate": {403, 404}, "other_recruiter": {403, 404}, "anonymous": {401}}
BOLA = [
    ("read a draft", "GET", "/jobs/{draft}", None, {**NOT_YOURS, "anonymous": {404}}, ("owner", 200)),
    ("change a draft", "PUT", "/jobs/{draft}", {"title": "Hacked", "status": "open"}, NOT_YOURS, ("owner", 200)),
    ("delete a draft", "DELETE", "/jobs/{draft}", None, NOT_YOURS, ("owner", 204)),
    (
        "change an open job",
        "PUT",
        "/jobs/{job}",
        {"title": "Hacked", "status": "closed"},
        PUBLIC_OBJECT,
        ("owner", 200),
    ),
    ("delete an open job", "DELETE", "/jobs/{job}", None, PUBLIC_OBJECT, ("owner", 204)),
    (
        "list a job's applications",
        "GET",
        "/jobs/{job}/applications",
        None,
        {**NOT_YOURS, "other_candidate": {"list"}},
        ("owner", 200),
    ),
    (
        "list a draft's applications",
        "GET",
        "/jobs/{draft}/applications",
        None,
        {**NOT_YOURS, "other_candidate": {"list"}},
        ("owner", 200),
    ),
    (
        "list applications by job_id",
        "GET",
        "/applications?job_id={job}",
        None,
        {**NOT_YOURS, "other_candidate": {"list"}},
        ("owner", 200),
    ),
    ("read an application", "GET", "/applications/{application}", None, NOT_YOURS, ("candidate", 200)),
    ("read its history", "GET", "/applications/{application}/history", None, NOT_YOURS, ("candidate", 200)),
    (
        "move it (transition)",
        "POST",
        "/applications/{application}/transition",
        {"to_state": "screening"},
        NOT_YOURS,
        ("owner", 200),
    ),
    (
        "withdraw it (transition)",
        "POST",
        "/applications/{application}/transition",
        {"to_state": "withdrawn", "reason": "not me"},
        NOT_YOURS,
        ("candidate", 200),
    ),
    (
        "move it (change-status)",
        "POST",
        "/applications/change-status",
        {"application_id": "{application}", "status": "rejected", "reason": "x"},
        NOT_YOURS,
        ("owner", 200),
    ),
    (
        "withdraw it (change-status)",
        "POST",
        "/applications/change-status",
        {"application_id": "{application}", "status": "withdrawn"},
        NOT_YOURS,
        ("candidate", 200),
    ),
    (
        "move it with a version (change-status)",
        "POST",
        "/applications/change-status",
        {"application_id": "{application}", "to_state": "screening", "expected_version": 1},
        NOT_YOURS,
        ("admin", 200),
    ),
    (
        "apply to a draft",
        "POST",
        "/applications/create",
        {"job_id": "{draft}"},
        {**NOT_YOURS, "other_recruiter": {403}},
        ("other_candidate", 201, {"job_id": "{job}"}),
    ),
    (
        "apply to a draft (alias)",
        "POST",
        "/applications",
        {"job_id": "{draft}"},
        {**NOT_YOURS, "other_recruiter": {403}},
        ("other_candidate", 201, {"job_id": "{job}"}),
    ),
]


def _fill(value, w: World):
    names = {"job": w.job["id"], "draft": w.draft["id"], "application": w.application["id"]}
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {key: _fill(item, w) for key, item in value.items()}
    return value


def _assert_refused(reply, allowed: set, who: str, w: World) -> None:
    if "list" in allowed and reply.status == 200:
        foreign = {w.application["id"]}
        assert not foreign & set(ids(reply)), f"{who} listed another's application"
        return
    assert reply.status in allowed, (who, reply.status, reply.body)
    assert_error(reply, reply.status)
    for secret in (w.application["id"], "My private letter", "Secret Role", "Not yet public"):
        assert secret not in str(reply.body), f"{who} was shown {secret!r}"


@pytest.mark.parametrize("name,method,path,body,refusals,allowed", BOLA, ids=[case[0] for case in BOLA])
def test_nobody_reads_or_changes_another_users_object(api, world, name, method, path, body, refusals, allowed):
    path, body = _fill(path, world), _fill(body, world)
    before = snapshot(api, world)
    for who in OUTSIDERS:
        reply = api.call(method, path, body, token=world.caller(who))
        _assert_refused(reply, refusals[who], who, world)
        assert snapshot(api, world) == before, f"{who} changed something with {method} {path}"

    # The control: the same call by who may make it is answered as it should be.
    actor, status, *control_body = allowed
    reply = api.call(method, path, _fill(control_body[0], world) if control_body else body, token=world.caller(actor))
    assert reply.status == status, (actor, reply.status, reply.body)


def test_lists_hold_nobody_elses_objects(api, world):
    w = world
    # Jobs: a draft is its owner's alone (and an admin's), whatever the filter.
    for who in OUTSIDERS:
        for query in ("", "?status=draft", "?mine=true", "?q=Secret", "?limit=100"):
            reply = api.get(f"/jobs/list{query}", token=w.caller(who))
            if reply.status == 200:
                assert w.draft["id"] not in ids(reply), (who, query)
            else:
                assert_error(reply, 401)  # mine=true signed out
    assert w.draft["id"] in ids(api.get("/jobs/list?status=draft", token=w.owner.token))
    # Applications: a candidate's own, a recruiter's jobs'.
    for who in ("other_candidate", "other_recruiter"):
        for query in ("", "?status=applied", f"?job_id={w.job['id']}", "?limit=100"):
            reply = api.get(f"/applications{query}", token=w.caller(who))
            if reply.status == 200:
                assert w.application["id"] not in ids(reply), (who, query)
            else:
                assert_error(reply, 404)
    assert_error(api.get("/applications"), 401)
    assert ids(api.get("/applications", token=w.candidate.token)) == [w.application["id"]]
    assert ids(api.get("/applications", token=w.owner.token)) == [w.application["id"]]


def test_a_deleted_job_is_gone_for_everyone_but_its_applications_stay_with_their_people(api, world):
    w = world
    assert api.delete(f"/jobs/{w.job['id']}", token=w.owner.token).status == 204
    for who in (*OUTSIDERS, "candidate", "owner"):
        assert_error(api.get(f"/jobs/{w.job['id']}", token=w.caller(who)), 404)
        if who != "anonymous":
            assert_error(api.put(f"/jobs/{w.job['id']}", {"title": "Back"}, token=w.caller(who)), 404)
    assert api.get(f"/applications/{w.application['id']}", token=w.candidate.token).status == 200
    assert_error(api.get(f"/applications/{w.application['id']}", token=w.other_candidate.token), 404)


# --- BFLA ---------------------------------------------------------------------------------------
# (caller, method, path, body): each is 403, and changes nothing.
BFLA = [
    ("candidate", "POST", "/jobs/create", {"title": "Candidate's job"}),
    ("candidate", "POST", "/jobs", {"title": "Candidate's job"}),
    ("candidate", "PUT", "/jobs/{job}", {"title": "Hacked"}),
    ("candidate", "DELETE", "/jobs/{job}", None),
    ("candidate", "GET", "/admin/outbox", None),
    ("candidate", "GET", "/admin/outbox?status=pending", None),
    ("candidate", "POST", "/applications/{application}/transition", {"to_state": "screening"}),
    ("candidate", "POST", "/applications/change-status", {"application_id": "{application}", "status": "shortlisted"}),
    ("candidate", "POST", "/applications/change-status", {"application_id": "{application}", "status": "rejected"}),
    ("other_candidate", "POST", "/jobs/create", {"title": "Candidate's job"}),
    ("other_candidate", "GET", "/admin/outbox", None),
    ("owner", "GET", "/admin/outbox", None),
    ("other_recruiter", "GET", "/admin/outbox?status=failed&limit=5", None),
    ("owner", "POST", "/applications/create", {"job_id": "{job}"}),
    ("owner", "POST", "/applications", {"job_id": "{job}"}),
    ("owner", "POST", "/applications/{application}/transition", {"to_state": "withdrawn"}),
    ("admin", "POST", "/applications/create", {"job_id": "{job}"}),
    ("admin", "POST", "/applications/change-status", {"application_id": "{application}", "status": "withdrawn"}),
]


@pytest.mark.parametrize("who,method,path,body", BFLA, ids=[f"{c[0]} {c[1]} {c[2]}" for c in BFLA])
def test_a_role_not_allowed_is_refused_with_403(api, world, who, method, path, body):
    before = snapshot(api, world)
    jobs_before = ids(api.get("/jobs/list?limit=100", token=world.admin.token))
    reply = api.call(method, _fill(path, world), _fill(body, world), token=world.caller(who))
    assert_error(reply, 403)
    assert snapshot(api, world) == before
    assert ids(api.get("/jobs/list?limit=100", token=world.admin.token)) == jobs_before


@pytest.mark.parametrize("path", ["/admin/outbox", "/admin/outbox?status=sent"])
def test_admin_routes_answer_admins_and_refuse_everyone_else(api, world, path):
    assert api.get(path, token=world.admin.token).status == 200
    for who in ("owner", "other_recruiter", "candidate"):
        assert_error(api.get(path, token=world.caller(who)), 403)
    assert_error(api.get(path), 401)


# --- mass assignment ----------------------------------------------------------------------------
FOREIGN_ID = "01HZZZZZZZZZZZZZZZZZZZZZZZ"


def refused_naming(reply, fields) -> None:
    """Mass assignment is refused, not ignored: 422 naming every field the route does not take."""
    assert_error(reply, 422, "validation_error")
    assert {detail["field"] for detail in reply.body["error"]["details"]} == set(fields), reply.body


def test_register_refuses_id_and_admin_fields_and_cannot_make_an_admin(api):
    from chalicelib.auth.passwords import hash_password

    reply = api.post("/auth/register", {"email": "eve@example.com", "password": PASSWORD, "role": "admin"})
    assert_error(reply, 422)
    assert_error(api.post("/auth/login", {"email": "eve@example.com", "password": PASSWORD}), 401)

    forged_hash = hash_password("another password entirely", "fast")
    protected = {
        "id": FOREIGN_ID,
        "version": 7,
        "created_at": "2000-01-01T00:00:00Z",
        "password_hash": forged_hash,
        "is_admin": True,
        "roles": ["admin"],
        "admin": True,
        "created_by": FOREIGN_ID,
        "owner_id": FOREIGN_ID,
    }
    body = {"email": "eve@example.com", "password": PASSWORD, "name": "Eve"}
    refused_naming(api.post("/auth/register", {**body, **protected}), protected)
    assert_error(api.post("/auth/login", {"email": "eve@example.com", "password": PASSWORD}), 401)  # nothing stored
    reply = api.post("/auth/register", body)
    assert reply.status == 201, reply.body
    user = reply.body["user"]
    assert user["id"] != FOREIGN_ID and user["role"] == "candidate"
    token = api.login("eve@example.com", PASSWORD)
    assert api.get("/auth/me", token=token).body["user"] == user
    assert_error(api.get("/admin/outbox", token=token), 403)


def test_login_refuses_a_role_sent_with_it(api):
    api.register("finn@example.com")
    refused_naming(
        api.post("/auth/login", {"email": "finn@example.com", "password": PASSWORD, "role": "admin", "scope": "admin"}),
        {"role", "scope"},
    )
    reply = api.post("/auth/login", {"email": "finn@example.com", "password": PASSWORD})
    assert reply.status == 200 and reply.body["user"]["role"] == "candidate"
    assert_error(api.get("/admin/outbox", token=reply.body["access_token"]), 403)


PROTECTED_JOB_FIELDS = {
    "id": FOREIGN_ID,
    "owner_id": FOREIGN_ID,
    "created_by": FOREIGN_ID,
    "version": 99,
    "created_at": "2000-01-01T00:00:00Z",
    "updated_at": "2000-01-01T00:00:00Z",
    "deleted_at": "2000-01-01T00:00:00Z",
    "role": "admin",
    "recruiter_id": FOREIGN_ID,
}


def test_create_job_refuses_id_owner_version_and_dates(api, world):
    before = snapshot(api, world)
    reply = api.post(
        "/jobs/create",
        {"title": "Honest", **PROTECTED_JOB_FIELDS, "owner_id": world.other_recruiter.id},
        token=world.owner.token,
    )
    refused_naming(reply, PROTECTED_JOB_FIELDS)
    assert snapshot(api, world) == before
    assert ids(api.get("/jobs/list?mine=true", token=world.other_recruiter.token)) == []


def test_update_job_refuses_fields_that_are_not_editable(api, world):
    before = snapshot(api, world)
    reply = api.put(
        f"/jobs/{world.job['id']}",
        {"title": "Renamed", **PROTECTED_JOB_FIELDS, "owner_id": world.other_recruiter.id},
        token=world.owner.token,
    )
    refused_naming(reply, PROTECTED_JOB_FIELDS)
    assert snapshot(api, world) == before
    # The other recruiter did not become its owner.
    assert_error(api.put(f"/jobs/{world.job['id']}", {"title": "Mine now"}, token=world.other_recruiter.token), 403)
    assert_error(api.get(f"/jobs/{world.job['id']}/applications", token=world.other_recruiter.token), 404)


def test_apply_refuses_status_candidate_recruiter_id_and_version(api, world):
    other_job = api.create_job(world.owner.token, title="Second Role")
    before = snapshot(api, world)
    protected = {
        "status": "hired",
        "to_state": "hired",
        "candidate_id": world.other_candidate.id,
        "recruiter_id": world.other_recruiter.id,
        "id": FOREIGN_ID,
        "version": 9,
        "created_at": "2000-01-01T00:00:00Z",
        "allowed_transitions": ["hired"],
    }
    reply = api.post(
        "/applications/create",
        {"job_id": other_job["id"], "cover_letter": "Hi", **protected},
        token=world.candidate.token,
    )
    refused_naming(reply, protected)
    assert snapshot(api, world) == before
    assert ids(api.get(f"/jobs/{other_job['id']}/applications", token=world.owner.token)) == []


def test_change_status_refuses_fields_that_are_not_inputs(api, world):
    before = snapshot(api, world)
    protected = {
        "candidate_id": world.other_candidate.id,
        "job_id": world.draft["id"],
        "recruiter_id": world.other_recruiter.id,
        "version": 42,
        "id": FOREIGN_ID,
        "actor_id": world.other_candidate.id,
        "from_status": "hired",
    }
    reply = api.post(
        "/applications/change-status",
        {"application_id": world.application["id"], "status": "screening", **protected},
        token=world.owner.token,
    )
    refused_naming(reply, protected)
    assert snapshot(api, world) == before


def test_transition_refuses_an_application_id_in_its_body(api, world):
    """The path names the application; a body naming another one is refused, and changes neither."""
    other_job = api.create_job(world.other_recruiter.token, title="Elsewhere")
    theirs = api.apply(world.other_candidate.token, other_job["id"])
    before = snapshot(api, world)
    reply = api.post(
        f"/applications/{world.application['id']}/transition",
        {"to_state": "screening", "application_id": theirs["id"]},
        token=world.owner.token,
    )
    refused_naming(reply, {"application_id"})
    assert snapshot(api, world) == before
    assert api.get(f"/applications/{theirs['id']}", token=world.other_candidate.token).body["application"] == theirs
