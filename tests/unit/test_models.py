"""Entities: who may change an application, who sees a job, what a new application records."""

import pytest

from chalicelib.domain.errors import NotFound, PermissionDenied
from chalicelib.domain.ids import new_id
from chalicelib.domain.models import Application, Job, JobStatus, Principal, Role, User, email_key
from chalicelib.domain.pipeline import ApplicationStatus as S

OWNER = Principal(new_id(), Role.RECRUITER)
OTHER_RECRUITER = Principal(new_id(), Role.RECRUITER)
ADMIN = Principal(new_id(), Role.ADMIN)
CANDIDATE = Principal(new_id(), Role.CANDIDATE)
OTHER_CANDIDATE = Principal(new_id(), Role.CANDIDATE)


def new_job(status=JobStatus.OPEN, owner=OWNER) -> Job:
    return Job.publish(owner=owner, title="Engineer", status=status)


JOB = new_job()


def new_application() -> Application:
    application = Application.submit(job=JOB, candidate=CANDIDATE, cover_letter="hi")
    application.events.clear()
    application.new_history.clear()
    return application


# --- Application.submit ---------------------------------------------------------------------


def test_submit_starts_applied_with_a_creation_history_entry_and_event():
    job = new_job()
    application = Application.submit(job=job, candidate=CANDIDATE, cover_letter="hi")

    assert (application.status, application.version, application.recruiter_id) == ("applied", 1, OWNER.user_id)
    [entry] = application.new_history
    assert (entry.from_status, entry.to_status, entry.actor_id) == (None, "applied", CANDIDATE.user_id)
    [event] = application.events
    assert (event.type, event.job_id, event.candidate_id) == ("ApplicationSubmitted", job.id, CANDIDATE.user_id)


@pytest.mark.parametrize("who", [OWNER, ADMIN])
def test_submit_refuses_non_candidates(who):
    with pytest.raises(PermissionDenied):
        Application.submit(job=new_job(), candidate=who, cover_letter=None)


@pytest.mark.parametrize("status", [JobStatus.DRAFT, JobStatus.CLOSED])
def test_submit_to_a_job_that_is_not_open_is_not_found(status):
    with pytest.raises(NotFound):
        Application.submit(job=new_job(status), candidate=CANDIDATE, cover_letter=None)


def test_submit_to_a_deleted_job_is_not_found():
    job = new_job()
    job.delete()
    with pytest.raises(NotFound):
        Application.submit(job=job, candidate=CANDIDATE, cover_letter=None)


# --- Application.change_status permissions -------------------------------------------------


@pytest.mark.parametrize("actor", [OWNER, ADMIN], ids=["owner", "admin"])
@pytest.mark.parametrize("target", [S.SCREENING, S.REJECTED])
def test_recruiter_owner_or_admin_moves_the_application(actor, target):
    application = new_application()
    application.change_status(to=target, actor=actor, reason=None, job=JOB)
    assert application.status == target


@pytest.mark.parametrize("target", [S.SCREENING, S.REJECTED])
def test_candidate_cannot_move_own_application_except_withdraw(target):
    application = new_application()
    with pytest.raises(PermissionDenied):
        application.change_status(to=target, actor=CANDIDATE, reason=None, job=JOB)
    assert application.status == "applied"


def test_only_the_candidate_withdraws():
    application = new_application()
    application.change_status(to=S.WITHDRAWN, actor=CANDIDATE, reason="found another job", job=JOB)
    assert application.status == "withdrawn"


@pytest.mark.parametrize("actor", [OWNER, ADMIN], ids=["owner", "admin"])
def test_recruiter_and_admin_cannot_withdraw_for_the_candidate(actor):
    application = new_application()
    with pytest.raises(PermissionDenied):
        application.change_status(to=S.WITHDRAWN, actor=actor, reason=None, job=JOB)
    assert application.status == "applied"


@pytest.mark.parametrize("stranger", [OTHER_RECRUITER, OTHER_CANDIDATE], ids=["recruiter", "candidate"])
@pytest.mark.parametrize("target", [S.SCREENING, S.WITHDRAWN])
def test_a_foreign_user_gets_not_found(stranger, target):
    application = new_application()
    with pytest.raises(NotFound):
        application.change_status(to=target, actor=stranger, reason=None, job=JOB)
    assert application.status == "applied"


@pytest.mark.parametrize(
    "who,visible", [(CANDIDATE, True), (OWNER, True), (ADMIN, True), (OTHER_CANDIDATE, False), (OTHER_RECRUITER, False)]
)
def test_application_visibility(who, visible):
    assert new_application().is_visible_to(who, JOB) is visible


# --- Job visibility and management ---------------------------------------------------------


@pytest.mark.parametrize("status", list(JobStatus))
@pytest.mark.parametrize(
    "who,sees_unpublished",
    [(None, False), (CANDIDATE, False), (OTHER_RECRUITER, False), (OWNER, True), (ADMIN, True)],
    ids=["anonymous", "candidate", "other-recruiter", "owner", "admin"],
)
def test_job_visibility(status, who, sees_unpublished):
    assert new_job(status).is_visible_to(who) is (status == JobStatus.OPEN or sees_unpublished)


@pytest.mark.parametrize("who", [None, CANDIDATE, OWNER, ADMIN])
def test_a_deleted_job_is_visible_to_nobody(who):
    job = new_job()
    job.delete()
    assert job.is_visible_to(who) is False


def test_check_managed_by_hides_a_draft_from_others_and_forbids_open_jobs():
    with pytest.raises(NotFound):
        new_job(JobStatus.DRAFT).check_managed_by(OTHER_RECRUITER)
    with pytest.raises(PermissionDenied):
        new_job(JobStatus.OPEN).check_managed_by(OTHER_RECRUITER)
    new_job(JobStatus.DRAFT).check_managed_by(ADMIN)  # no error


@pytest.mark.parametrize("who", [CANDIDATE, Principal(new_id(), Role.CANDIDATE)])
def test_only_recruiters_and_admins_publish_jobs(who):
    with pytest.raises(PermissionDenied):
        Job.publish(owner=who, title="Engineer")


def test_job_update_bumps_version_and_refuses_unknown_fields():
    job = new_job()
    job.update({"title": "Senior Engineer", "status": "closed"})
    assert (job.title, job.status, job.version) == ("Senior Engineer", JobStatus.CLOSED, 2)
    with pytest.raises(ValueError):
        job.update({"owner_id": OTHER_RECRUITER.user_id})


# --- Users ----------------------------------------------------------------------------------


def test_email_key_ignores_case_and_surrounding_space():
    assert email_key("  Rita@Example.COM ") == email_key("rita@example.com")


def test_register_records_user_registered():
    user = User.register(email=" rita@example.com ", name="Rita", role=Role.RECRUITER, password_hash="x")
    [event] = user.events
    assert (user.email, event.type, event.user_id, event.role) == (
        "rita@example.com",
        "UserRegistered",
        user.id,
        "recruiter",
    )
