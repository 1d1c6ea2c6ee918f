"""A validly signed token whose account does not exist (never did here, was deleted, or the
database was reset) speaks for nobody: 401 `invalid_token` on every signed-in route, reads too,
and no write stores an actor without an account. The role a caller acts with is its account's."""

import pytest

from chalicelib.auth.tokens import issue_token
from chalicelib.domain.ids import new_id
from chalicelib.domain.models import Principal
from chalicelib.domain.rejection import DEFAULT_REASON_ID
from chalicelib.services import users
from chalicelib.storage import ApplicationQuery, JobQuery
from chalicelib.storage.entities import user_key
from chalicelib.storage.items import Delete

from .helpers import assert_error

REASON = DEFAULT_REASON_ID

# A valid body for every signed-in route that takes one: the 401 must not depend on it.
BODIES = {
    ("POST", "/jobs/create"): {"title": "Ghost job"},
    ("POST", "/jobs"): {"title": "Ghost job"},
    ("PUT", "/jobs/{job_id}"): {"title": "Ghost edit"},
    ("POST", "/applications/create"): {"job_id": "{job_id}"},
    ("POST", "/applications"): {"job_id": "{job_id}"},
    ("POST", "/applications/change-status"): {"application_id": "{application_id}", "status": "screening"},
    ("POST", "/applications/{application_id}/transition"): {"to_state": "screening"},
    ("PATCH", "/auth/me"): {"name": "Ghost"},
    ("POST", "/auth/logout"): {"refresh_token": "r" * 43},
    ("POST", "/auth/password/change"): {
        "current_password": "correct horse battery",
        "new_password": "ghostly new phrase",
    },
    ("PATCH", "/users/{user_id}"): {"role": "recruiter"},
    ("PUT", "/jobs/{job_id}/team"): {"members": [{"user_id": "{user_id}", "role": "recruiter"}]},
    ("POST", "/jobs/{job_id}/team"): {"user_id": "{user_id}", "role": "coordinator"},
    ("PUT", "/jobs/{job_id}/stages"): {
        "stages": [{"name": "Applied", "kind": "applied"}, {"name": "Hired", "kind": "hired"}]
    },
    ("POST", "/applications/{application_id}/move"): {"from_stage_id": "{job_id}", "to_stage_id": "{job_id}"},
    ("POST", "/applications/{application_id}/reject"): {"rejection_reason_id": "{reason_id}"},
    ("POST", "/applications/{application_id}/unreject"): {},
    ("POST", "/pipeline-templates"): {"name": "Ghost", "stages": [{"name": "Applied", "kind": "applied"}]},
    ("POST", "/rejection-reasons"): {"name": "Ghost", "type": "other"},
    ("PATCH", "/rejection-reasons/{reason_id}"): {"name": "Ghost"},
}


def _filled(value, ids: dict):
    """The body with the ids put in, however deep its strings are."""
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_filled(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: _filled(item, ids) for key, item in value.items()}
    return value


def signed_in_routes() -> list[tuple[str, str, bool]]:
    """(method, path, takes a body) of every route that reads a token: required or optional."""
    from ats_functions import resource_routes

    return sorted(
        (method, path, handler.contract.body is not None)
        for routes in resource_routes().values()
        for (method, path), handler in routes.handlers.items()
        if handler.contract.auth != "public"
    )


def token_for(settings, user_id: str, role: str) -> str:
    return issue_token(
        Principal(user_id, role, "01HZZZZZZZZZZZZZZZZZZZZZZS", 0),
        secret=settings.jwt_secret,
        ttl_seconds=600,
        issuer=settings.jwt_issuer,
    )


def call_every_signed_in_route(api, token: str, ids: dict) -> dict:
    replies = {}
    for method, path, has_body in signed_in_routes():
        body = _filled(BODIES[(method, path)], ids) if has_body else None
        replies[(method, path)] = api.call(method, path.format(**ids), body, token=token)
    return replies


def delete_account(uow_factory, user_id: str) -> None:
    """What deleting an account would do, straight in storage (the API has no such route yet)."""
    uow_factory().storage.items.write(Delete(user_key(user_id)))


def stored_state(uow_factory, job, application) -> tuple:
    with uow_factory() as uow:
        stored_job, stored_application = uow.jobs.get(job["id"]), uow.applications.get(application["id"])
        return (
            [j.id for j in uow.jobs.page(JobQuery(), limit=10)],
            stored_job.version,
            stored_job.title,
            stored_job.deleted_at,
            stored_application.status,
            stored_application.version,
            len(uow.applications.history(application["id"])),
            [a.id for a in uow.applications.page(ApplicationQuery(job_id=job["id"]), limit=10)],
            sum(len(uow.outbox.list(status=s, limit=1000)) for s in ("pending", "published", "sent", "failed")),
        )


@pytest.mark.parametrize("role", ["candidate", "recruiter", "admin"])
def test_every_signed_in_route_refuses_a_token_whose_account_does_not_exist(
    api, settings, uow_factory, job, application, role
):
    before = stored_state(uow_factory, job, application)
    replies = call_every_signed_in_route(
        api,
        token_for(settings, new_id(), role),
        {"job_id": job["id"], "application_id": application["id"], "user_id": job["owner_id"], "reason_id": REASON},
    )
    assert {method for method, _ in replies} == {"GET", "POST", "PUT", "PATCH", "DELETE"}  # reads and writes
    for route, reply in replies.items():
        error = assert_error(reply, 401, "invalid_token")
        assert error["message"] == "The account of this token does not exist.", route
    assert stored_state(uow_factory, job, application) == before


def test_tokens_outlive_a_reset_database_but_speak_for_nobody_in_the_new_one(
    api, backend, settings, monkeypatch, tmp_path, recruiter, candidate, job
):
    assert api.get("/auth/me", token=recruiter.token).status == 200  # known to this process now
    if backend == "sqlite":
        monkeypatch.setenv("ATS_SQLITE_PATH", str(tmp_path / "reset.db"))
    else:
        monkeypatch.setenv("ATS_TABLE_NAME", f"{settings.table_name}-reset")
    try:
        assert_error(api.get("/auth/me", token=recruiter.token), 401, "invalid_token")
        assert_error(
            api.post("/jobs/create", {"title": "Owned by nobody"}, token=recruiter.token), 401, "invalid_token"
        )
        assert_error(api.get("/applications", token=candidate.token), 401, "invalid_token")
        assert api.get("/jobs").body["items"] == []  # the reset database has no job, and stored none
    finally:
        if backend != "sqlite":
            from tests.conftest import drop_dynamodb_table

            drop_dynamodb_table()


def test_an_account_deleted_while_its_token_is_known_can_write_nothing(
    api, uow_factory, monkeypatch, job, application, other_recruiter, other_candidate, admin
):
    before = stored_state(uow_factory, job, application)
    for actor in (admin, other_recruiter, other_candidate):
        assert api.get("/auth/me", token=actor.token).status == 200  # trusted for a few seconds from now
        delete_account(uow_factory, actor.id)

    # Each write checks its actor's account in its own transaction, whatever the process remembers.
    moved = api.post(
        "/applications/change-status", {"application_id": application["id"], "status": "screening"}, token=admin.token
    )
    assert_error(moved, 401, "invalid_token")
    assert_error(api.post("/jobs/create", {"title": "Orphan"}, token=other_recruiter.token), 401, "invalid_token")
    assert_error(
        api.post("/applications/create", {"job_id": job["id"]}, token=other_candidate.token), 401, "invalid_token"
    )
    assert stored_state(uow_factory, job, application) == before

    monkeypatch.setattr(users, "KNOWN_FOR_SECONDS", 0.0)  # the few seconds have passed
    for actor in (admin, other_recruiter, other_candidate):
        assert_error(api.get("/auth/me", token=actor.token), 401, "invalid_token")
        assert_error(api.get("/applications", token=actor.token), 401, "invalid_token")
        assert_error(api.get("/jobs", token=actor.token), 401, "invalid_token")


def test_the_role_a_caller_acts_with_is_its_accounts_not_its_tokens(api, settings, recruiter, candidate, job):
    candidate_as_admin = token_for(settings, candidate.id, "admin")
    assert_error(api.get("/admin/outbox", token=candidate_as_admin), 403)
    assert_error(api.post("/jobs/create", {"title": "Not mine to post"}, token=candidate_as_admin), 403)
    assert api.post("/applications/create", {"job_id": job["id"]}, token=candidate_as_admin).status == 201

    recruiter_as_candidate = token_for(settings, recruiter.id, "candidate")
    assert_error(api.post("/applications/create", {"job_id": job["id"]}, token=recruiter_as_candidate), 403)
    posted = api.post("/jobs/create", {"title": "Posted"}, token=recruiter_as_candidate)
    assert (posted.status, posted.body["job"]["owner_id"]) == (201, recruiter.id)
