"""The use cases against the in-memory fakes: behaviour without storage or HTTP."""

import pytest

from chalicelib.auth.tokens import verify_token
from chalicelib.domain.errors import (
    AuthenticationFailed,
    BadRequest,
    ConcurrencyError,
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from chalicelib.domain.models import JobStatus, Principal, Role
from chalicelib.services import applications, jobs, sessions, users
from chalicelib.services.context import context_for
from tests.conftest import settle_email

from .fakes import fake_settings

PASSWORD = "correct horse battery"


def signup(uow, settings, email, role=Role.CANDIDATE) -> Principal:
    user = users.register(context_for(uow(), settings), email=email, password=PASSWORD, name=email, role=role)
    return Principal(user.id, user.role)


@pytest.fixture
def recruiter(uow, settings):
    return signup(uow, settings, "rita@example.com", Role.RECRUITER)


@pytest.fixture
def candidate(uow, settings):
    return signup(uow, settings, "carl@example.com")


@pytest.fixture
def job(uow, settings, recruiter):
    return jobs.create_job(context_for(uow(), settings, recruiter), title="Engineer")


@pytest.fixture
def application(uow, settings, candidate, job):
    return applications.apply(context_for(uow(), settings, candidate), job_id=job.id, cover_letter="hi")


def outbox_types(store) -> list[str]:
    return [record.type for record in sorted(store.outbox.values(), key=lambda r: r.id)]


# --- register / login -------------------------------------------------------------------------


def test_register_stores_the_user_with_a_hash_and_an_event(uow, settings, store):
    user = users.register(context_for(uow(), settings), email="Carl@Example.com", password=PASSWORD)
    stored = store.users[user.id]
    assert (stored.email, stored.name, stored.role) == ("Carl@Example.com", "Carl", Role.CANDIDATE)
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    assert outbox_types(store) == ["UserRegistered"]


def test_register_refuses_a_taken_email_whatever_its_case(uow, settings, store, candidate):
    with pytest.raises(Conflict) as raised:
        users.register(context_for(uow(), settings), email="CARL@example.COM", password=PASSWORD)
    assert raised.value.code == "email_taken"
    assert len(store.users) == 1 and outbox_types(store) == ["UserRegistered"]


def test_register_refuses_admin(uow, settings, store):
    with pytest.raises(PermissionDenied):
        users.register(context_for(uow(), settings), email="a@example.com", password=PASSWORD, role=Role.ADMIN)
    assert store.users == {}


def test_recruiter_signup_can_be_switched_off(uow, store):
    with pytest.raises(PermissionDenied) as raised:
        users.register(
            context_for(uow(), fake_settings(allow_recruiter_signup=False)),
            email="r@example.com",
            password=PASSWORD,
            role=Role.RECRUITER,
        )
    assert raised.value.code == "signup_closed" and store.users == {}


def test_create_admin_makes_an_admin(uow, settings):
    assert (
        users.create_admin(context_for(uow(), settings), email="a@example.com", password=PASSWORD, name="A").role
        == Role.ADMIN
    )


def test_login_issues_a_token_for_the_user(uow, settings, candidate):
    result = sessions.login(context_for(uow(), settings), email="CARL@example.com", password=PASSWORD)
    assert (result.token_type, result.expires_in, result.user.id) == ("Bearer", 3600, candidate.user_id)
    principal = verify_token(result.access_token, secret=settings.jwt_secret, issuer=settings.jwt_issuer)
    assert (principal.user_id, principal.role, principal.generation) == (candidate.user_id, candidate.role, 0)
    assert principal.session_id is not None


@pytest.mark.parametrize(
    "email,password",
    [("carl@example.com", "wrong password"), ("nobody@example.com", PASSWORD)],
    ids=["wrong-password", "unknown"],
)
def test_login_failures_are_indistinguishable(uow, settings, candidate, email, password):
    with pytest.raises(AuthenticationFailed) as raised:
        sessions.login(context_for(uow(), settings), email=email, password=password)
    assert (raised.value.code, raised.value.message) == ("invalid_credentials", "Invalid email or password.")


def test_get_me_for_a_vanished_account_is_authentication_failed(uow, settings):
    with pytest.raises(AuthenticationFailed):
        users.get_me(context_for(uow(), settings, Principal("01HZZZZZZZZZZZZZZZZZZZZZZ9", Role.CANDIDATE)))


# --- jobs -------------------------------------------------------------------------------------


def test_create_job_stores_an_open_job_owned_by_the_recruiter(store, recruiter, job):
    stored = store.jobs[job.id]
    assert (stored.owner_id, stored.status, stored.version) == (recruiter.user_id, JobStatus.OPEN, 1)


def test_candidate_cannot_create_a_job(uow, settings, candidate, store):
    with pytest.raises(PermissionDenied):
        jobs.create_job(context_for(uow(), settings, candidate), title="Engineer")
    assert store.jobs == {}


def test_update_job_applies_changes_and_checks_if_match(uow, settings, recruiter, job, store):
    updated = jobs.update_job(context_for(uow(), settings, recruiter), job.id, {"title": "Lead"}, if_match=1)
    assert (store.jobs[job.id].title, updated.version) == ("Lead", 2)
    with pytest.raises(PreconditionFailed):
        jobs.update_job(context_for(uow(), settings, recruiter), job.id, {"title": "Again"}, if_match=1)
    assert store.jobs[job.id].title == "Lead"


def test_another_recruiter_cannot_update_or_delete(uow, settings, job, store):
    other = signup(uow, settings, "olga@example.com", Role.RECRUITER)
    with pytest.raises(PermissionDenied):
        jobs.update_job(context_for(uow(), settings, other), job.id, {"title": "Mine now"})
    with pytest.raises(PermissionDenied):
        jobs.delete_job(context_for(uow(), settings, other), job.id)
    assert store.jobs[job.id].title == "Engineer" and store.jobs[job.id].deleted_at is None


def test_a_job_is_read_eventually_consistent_by_the_public_only(
    uow, settings, store, recruiter, candidate, job, monkeypatch
):
    asked = []
    real = store.items.get

    def get(key, *, consistent=True):
        asked.append((key[1], consistent))
        return real(key, consistent=consistent)

    monkeypatch.setattr(store.items, "get", get)
    for who in (None, candidate, recruiter):
        assert jobs.get_job(context_for(uow(), settings, who), job.id).id == job.id
    assert [consistent for kind, consistent in asked if kind == "JOB"] == [False, False, True]


def test_deleted_job_is_gone_from_get_and_list(uow, settings, recruiter, job):
    jobs.delete_job(context_for(uow(), settings, recruiter), job.id)
    with pytest.raises(NotFound):
        jobs.get_job(context_for(uow(), settings, recruiter), job.id)
    assert jobs.list_jobs(context_for(uow(), settings, recruiter), limit=20).items == []


def test_list_jobs_shows_open_jobs_and_own_drafts_only(uow, settings, recruiter, job):
    other = signup(uow, settings, "olga@example.com", Role.RECRUITER)
    draft = jobs.create_job(context_for(uow(), settings, recruiter), title="Draft", status="draft")
    foreign_draft = jobs.create_job(context_for(uow(), settings, other), title="Foreign draft", status="draft")

    def listed(who, **filters):
        return [j.id for j in jobs.list_jobs(context_for(uow(), settings, who), limit=20, **filters).items]

    assert listed(None) == [job.id]
    assert listed(recruiter) == [draft.id, job.id]
    assert listed(other) == [foreign_draft.id, job.id]
    assert listed(recruiter, status="draft") == [draft.id]
    assert listed(None, status="draft") == []


def test_list_jobs_walks_pages_without_gaps(uow, settings, recruiter):
    created = [jobs.create_job(context_for(uow(), settings, recruiter), title=f"Job {i}").id for i in range(5)]
    seen, cursor = [], None
    while True:
        page = jobs.list_jobs(context_for(uow(), settings, None), limit=2, cursor=cursor)
        seen += [j.id for j in page.items]
        if not (cursor := page.next_cursor):
            break
    assert seen == created[::-1]


def test_list_jobs_refuses_a_forged_cursor(uow, settings):
    with pytest.raises(BadRequest):
        jobs.list_jobs(context_for(uow(), settings, None), limit=2, cursor="forged")


# --- applications ------------------------------------------------------------------------------


def test_apply_stores_application_history_and_event(store, candidate, job, application):
    assert store.applications[application.id].status == "applied"
    [entry] = [e for e in store.history.values() if e.application_id == application.id]
    assert (entry.from_status, entry.to_status, entry.actor_id) == (None, "applied", candidate.user_id)
    assert outbox_types(store)[-1] == "ApplicationSubmitted"


def test_apply_twice_is_a_conflict(uow, settings, store, candidate, job, application):
    with pytest.raises(Conflict) as raised:
        applications.apply(context_for(uow(), settings, candidate), job_id=job.id)
    assert raised.value.code == "already_applied" and len(store.applications) == 1


def test_recruiter_cannot_apply(uow, settings, recruiter, job):
    with pytest.raises(PermissionDenied):
        applications.apply(context_for(uow(), settings, recruiter), job_id=job.id)


@pytest.mark.parametrize("status", ["draft", "closed"])
def test_apply_to_a_job_that_is_not_open_is_not_found(uow, settings, recruiter, candidate, status):
    job = jobs.create_job(context_for(uow(), settings, recruiter), title="Hidden", status=status)
    with pytest.raises(NotFound):
        applications.apply(context_for(uow(), settings, candidate), job_id=job.id)


def test_apply_to_a_missing_job_is_not_found(uow, settings, candidate):
    with pytest.raises(NotFound):
        applications.apply(context_for(uow(), settings, candidate), job_id="01HZZZZZZZZZZZZZZZZZZZZZZ9")


def test_change_status_moves_saves_and_records(uow, settings, store, recruiter, application):
    moved = applications.change_status(
        context_for(uow(), settings, recruiter), application_id=application.id, status="screening", reason="looks good"
    )
    assert (moved.status, store.applications[application.id].status, moved.version) == ("screening", "screening", 2)
    history = applications.get_history(context_for(uow(), settings, recruiter), application.id, limit=10).items
    assert [(e.from_status, e.to_status, e.reason) for e in history] == [
        (None, "applied", None),
        ("applied", "screening", "looks good"),
    ]
    assert outbox_types(store)[-1] == "ApplicationStatusChanged"


def test_change_status_refuses_an_invalid_transition_and_stores_nothing(uow, settings, store, recruiter, application):
    before = len(store.outbox)
    with pytest.raises(InvalidTransition):
        applications.change_status(
            context_for(uow(), settings, recruiter), application_id=application.id, status="hired"
        )
    assert store.applications[application.id].status == "applied" and len(store.outbox) == before


def test_change_status_with_a_stale_expected_version_is_a_concurrency_error(uow, settings, recruiter, application):
    with pytest.raises(ConcurrencyError):
        applications.change_status(
            context_for(uow(), settings, recruiter),
            application_id=application.id,
            status="screening",
            expected_version=7,
        )


def test_change_status_with_a_stale_if_match_is_precondition_failed(uow, settings, recruiter, application):
    with pytest.raises(PreconditionFailed):
        applications.change_status(
            context_for(uow(), settings, recruiter), application_id=application.id, status="screening", if_match=9
        )


def test_change_status_by_a_foreign_recruiter_is_not_found(uow, settings, store, application):
    other = signup(uow, settings, "olga@example.com", Role.RECRUITER)
    with pytest.raises(NotFound):
        applications.change_status(
            context_for(uow(), settings, other), application_id=application.id, status="screening"
        )
    assert store.applications[application.id].status == "applied"


def test_candidate_withdraws_own_application(uow, settings, candidate, application):
    moved = applications.change_status(
        context_for(uow(), settings, candidate), application_id=application.id, status="withdrawn"
    )
    assert moved.status == "withdrawn"


def test_concurrent_change_loses_with_a_concurrency_error(uow, settings, store, recruiter, application):
    # Two units of work read version 1; the second write is stale.
    first, second = uow(), uow()
    with first:
        a = first.applications.get(application.id)
        with second:
            b = second.applications.get(application.id)
            a.change_status(to="screening", actor=recruiter, reason=None, job=first.jobs.get(a.job_id))
            first.applications.save(a)
            first.commit()
            b.change_status(to="rejected", actor=recruiter, reason=None, job=second.jobs.get(b.job_id))
            second.applications.save(b)  # staged: every conflict is found at commit, on every driver
            with pytest.raises(ConcurrencyError):
                second.commit()
    assert store.applications[application.id].status == "screening"


def test_list_applications_scopes_by_role(uow, settings, recruiter, candidate, job, application):
    other_candidate = signup(uow, settings, "cleo@example.com")
    other_recruiter = signup(uow, settings, "olga@example.com", Role.RECRUITER)
    theirs = applications.apply(context_for(uow(), settings, other_candidate), job_id=job.id)

    def listed(who, **filters):
        return [
            a.id for a in applications.list_applications(context_for(uow(), settings, who), limit=20, **filters).items
        ]

    assert listed(candidate) == [application.id]
    assert listed(recruiter) == [theirs.id, application.id]
    assert listed(other_recruiter) == []
    assert listed(recruiter, status="applied", job_id=job.id) == [theirs.id, application.id]
    assert listed(recruiter, status="screening") == []
    with pytest.raises(NotFound):
        listed(other_recruiter, job_id=job.id)


def test_list_applications_needs_a_caller(uow, settings):
    with pytest.raises(AuthenticationFailed):
        applications.list_applications(context_for(uow(), settings, None), limit=20)


def test_a_failed_use_case_leaves_the_store_unchanged(uow, settings, store, candidate, job, application):
    settle_email()  # the emails of the set-up are sent: what changes now would be the failed apply's
    snapshot = {name: dict(getattr(store, name)) for name in ("users", "jobs", "applications", "history", "outbox")}
    with pytest.raises(Conflict):
        applications.apply(context_for(uow(), settings, candidate), job_id=job.id)
    assert snapshot == {name: dict(getattr(store, name)) for name in snapshot}
