"""Stages, moves, rejection and the funnel's counters: the domain's rules, without I/O."""

import pytest

from chalicelib.domain.errors import (
    Conflict,
    InvalidTransition,
    JobDeleted,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from chalicelib.domain.funnel import HIRE, STAY, Tally, bucket, median_seconds
from chalicelib.domain.ids import new_id
from chalicelib.domain.models import Application, Job, Principal, RejectionEmail, Role
from chalicelib.domain.pipeline import Stage, StageKind, check_stages, legacy_stage_id, legacy_stages
from chalicelib.domain.team import TeamMember, TeamRole

K = StageKind
OWNER = Principal(new_id(), Role.RECRUITER)
HIRING_MANAGER = Principal(new_id(), Role.RECRUITER)
INTERVIEWER = Principal(new_id(), Role.RECRUITER)
STRANGER = Principal(new_id(), Role.RECRUITER)
ADMIN = Principal(new_id(), Role.ADMIN)
CANDIDATE = Principal(new_id(), Role.CANDIDATE)


def stages(*kinds: StageKind) -> list[Stage]:
    return [Stage(new_id(), f"{kind} {index}", kind) for index, kind in enumerate(kinds)]


def new_job(pipeline: list[Stage] | None = None) -> Job:
    job = Job.publish(owner=OWNER, title="Engineer", stages=pipeline)
    job.team = [
        TeamMember(OWNER.user_id, TeamRole.RECRUITER),
        TeamMember(HIRING_MANAGER.user_id, TeamRole.HIRING_MANAGER),
        TeamMember(INTERVIEWER.user_id, TeamRole.INTERVIEWER),
    ]
    return job


def applied(job: Job) -> Application:
    application = Application.submit(job=job, candidate=CANDIDATE, cover_letter=None)
    application.committed()
    return application


# --- The rules of a pipeline ----------------------------------------------------------------------


def test_a_new_job_has_one_stage_of_each_kind_named_after_it():
    job = Job.publish(owner=OWNER, title="Engineer")
    assert [(s.name, s.kind) for s in job.stages] == [
        ("Applied", K.APPLIED),
        ("Screening", K.SCREENING),
        ("Shortlisted", K.SHORTLISTED),
        ("Selected", K.SELECTED),
        ("Hired", K.HIRED),
    ]
    assert len({s.id for s in job.stages}) == 5


@pytest.mark.parametrize(
    "kinds,field",
    [
        ((K.SCREENING, K.HIRED), "stages.0"),  # the first is applied
        ((K.APPLIED, K.SHORTLISTED, K.SCREENING, K.HIRED), "stages.2"),  # kinds never go back
        ((K.APPLIED, K.SCREENING), "stages"),  # a hired stage
        ((K.APPLIED, K.HIRED, K.HIRED), "stages.2"),  # only one, last
        ((), "stages"),
    ],
)
def test_pipelines_breaking_a_rule_are_refused_naming_the_stage(kinds, field):
    with pytest.raises(ValidationFailed) as raised:
        check_stages(stages(*kinds))
    assert raised.value.details[0]["field"].startswith(field)


def test_a_pipeline_may_repeat_and_skip_kinds():
    check_stages(stages(K.APPLIED, K.SCREENING, K.SCREENING, K.HIRED))


def test_stage_names_and_ids_are_unique():
    first = Stage(new_id(), "Phone", K.SCREENING)
    with pytest.raises(ValidationFailed):
        check_stages([Stage(new_id(), "Applied", K.APPLIED), first, first, Stage(new_id(), "Hired", K.HIRED)])
    with pytest.raises(ValidationFailed):
        check_stages(
            [
                Stage(new_id(), "Applied", K.APPLIED),
                first,
                Stage(new_id(), "PHONE", K.SCREENING),
                Stage(new_id(), "Hired", K.HIRED),
            ]
        )


def test_a_job_stored_before_pipelines_reads_with_stable_legacy_stages():
    job = Job(id=new_id(), owner_id=OWNER.user_id, title="Old", created_at="t", updated_at="t")
    assert [s.id for s in job.stages] == [s.id for s in legacy_stages(job.id)]
    assert job.team == [TeamMember(OWNER.user_id, TeamRole.RECRUITER)]
    check_stages(job.stages)  # valid ids (ULIDs), the default rules


def test_an_application_stored_before_pipelines_is_in_the_stage_of_its_status():
    job_id = new_id()
    old = Application(new_id(), job_id, CANDIDATE.user_id, OWNER.user_id, "shortlisted", None, 3, "t", "t")
    assert old.stage_id == legacy_stage_id(job_id, "shortlisted")
    rejected = Application(new_id(), job_id, CANDIDATE.user_id, OWNER.user_id, "rejected", None, 3, "t", "t")
    assert rejected.stage_id == legacy_stage_id(job_id, "applied")


# --- Moves ----------------------------------------------------------------------------------------


def test_a_move_goes_forward_or_back_and_records_visits_and_counters():
    job = new_job()
    application = applied(job)
    first, screening, shortlisted = job.stages[0], job.stages[1], job.stages[2]
    application.move(job, actor=HIRING_MANAGER, from_stage_id=first.id, to_stage_id=shortlisted.id, note="strong")
    assert (application.stage_id, application.status, application.version) == (shortlisted.id, "shortlisted", 2)
    assert application.tally.current == {first.id: -1, shortlisted.id: 1}
    assert application.tally.entered == {shortlisted.id}
    assert [v.stage_id for v in application.new_visits] == [shortlisted.id]
    [entry] = application.new_history
    assert (entry.from_stage_id, entry.to_stage_id, entry.note) == (first.id, shortlisted.id, "strong")
    [event] = application.events
    assert (event.to_stage_id, event.email_template) == (shortlisted.id, "status_shortlisted")
    assert "strong" not in str(event.payload())  # the note is internal: no email can carry it
    application.committed()
    application.move(job, actor=OWNER, from_stage_id=shortlisted.id, to_stage_id=screening.id, note=None)
    assert application.status == "screening"


def test_a_stale_move_is_refused_with_stage_mismatch():
    job = new_job()
    application = applied(job)
    with pytest.raises(Conflict) as raised:
        application.move(job, actor=OWNER, from_stage_id=job.stages[2].id, to_stage_id=job.stages[1].id, note=None)
    assert raised.value.code == "stage_mismatch"
    assert application.events == [] and application.version == 1


def test_a_move_to_a_stage_of_another_job_is_a_field_error():
    job = new_job()
    application = applied(job)
    with pytest.raises(ValidationFailed) as raised:
        application.move(job, actor=OWNER, from_stage_id=job.stages[0].id, to_stage_id=new_id(), note=None)
    assert raised.value.details[0]["field"] == "to_stage_id"


@pytest.mark.parametrize("who,error", [(INTERVIEWER, NotFound), (STRANGER, NotFound), (CANDIDATE, PermissionDenied)])
def test_who_may_not_move_is_refused(who, error):
    job = new_job()
    application = applied(job)
    with pytest.raises(error):
        application.move(job, actor=who, from_stage_id=job.stages[0].id, to_stage_id=job.stages[1].id, note=None)


def test_nothing_moves_an_application_out_of_a_final_outcome():
    job = new_job()
    application = applied(job)
    application.move(job, actor=OWNER, from_stage_id=job.stages[0].id, to_stage_id=job.stages[-1].id, note=None)
    assert application.status == "hired" and application.tally.outcomes == {"hired": 1}
    application.committed()
    with pytest.raises(InvalidTransition):
        application.move(job, actor=OWNER, from_stage_id=job.stages[-1].id, to_stage_id=job.stages[0].id, note=None)
    with pytest.raises(InvalidTransition):
        application.reject(job, actor=OWNER, rejection_reason_id=new_id())


def test_a_deleted_jobs_applications_do_not_move():
    job = new_job()
    application = applied(job)
    job.delete()
    with pytest.raises(JobDeleted):
        application.move(job, actor=OWNER, from_stage_id=job.stages[0].id, to_stage_id=job.stages[1].id, note=None)


# --- Reject and unreject --------------------------------------------------------------------------


def test_reject_keeps_the_stage_and_unreject_returns_to_it():
    job = new_job()
    application = applied(job)
    screening = job.stages[1]
    application.move(job, actor=OWNER, from_stage_id=job.stages[0].id, to_stage_id=screening.id, note=None)
    application.committed()
    reason = new_id()
    email = RejectionEmail(send=True, send_at="2999-01-01T00:00:00.000Z", message="Thank you")
    application.reject(job, actor=HIRING_MANAGER, rejection_reason_id=reason, note="internal", email=email)
    assert (application.status, application.stage_id, application.rejection_reason_id) == (
        "rejected",
        screening.id,
        reason,
    )
    assert application.tally.current == {screening.id: -1} and application.tally.outcomes == {"rejected": 1}
    [event] = application.events
    assert (event.email_template, event.message, event.deliver_after) == ("rejection", "Thank you", email.send_at)
    assert "internal" not in str(event.payload())
    assert application.rejection_email_id == event.id
    application.committed()
    waiting = application.unreject(job, actor=OWNER, note=None)
    assert waiting == event.id  # for the caller to cancel while it waits
    assert (application.status, application.stage_id, application.rejection_reason_id) == (
        "screening",
        screening.id,
        None,
    )
    assert application.tally.current == {screening.id: 1} and application.tally.outcomes == {"rejected": -1}
    assert application.tally.entered == set()  # it had entered screening before: counted once
    [back] = application.events
    assert back.email_template is None


def test_a_rejection_without_email_and_one_sent_now():
    job = new_job()
    quiet = applied(job)
    quiet.reject(job, actor=OWNER, rejection_reason_id=new_id(), email=RejectionEmail(send=False))
    assert quiet.events[0].email_template is None and quiet.rejection_email_id is None
    now = applied(job)
    now.reject(job, actor=OWNER, rejection_reason_id=new_id(), email=RejectionEmail(send_at="2000-01-01T00:00:00.000Z"))
    assert now.events[0].deliver_after is None  # a time in the past: at once


def test_unreject_refuses_what_is_not_rejected():
    job = new_job()
    application = applied(job)
    with pytest.raises(InvalidTransition):
        application.unreject(job, actor=OWNER, note=None)


def test_the_original_routes_map_onto_stages():
    pipeline = stages(K.APPLIED, K.SCREENING, K.SCREENING, K.HIRED)  # no shortlisted, no selected
    job = new_job(pipeline)
    application = applied(job)
    application.change_status(to="screening", actor=OWNER, reason=None, job=job)
    assert application.stage_id == pipeline[1].id  # the first stage of the kind
    assert application.allowed_transitions_for(OWNER, job) == ["hired", "rejected"]  # the next kind it has
    with pytest.raises(InvalidTransition):
        application.change_status(to="shortlisted", actor=OWNER, reason=None, job=job)
    application.change_status(to="hired", actor=OWNER, reason=None, job=job)
    assert application.stage_id == pipeline[3].id


def test_a_stage_with_an_email_of_its_own_sends_it_on_entry_even_within_a_kind():
    pipeline = stages(K.APPLIED, K.SCREENING, K.SCREENING, K.HIRED)
    pipeline[2] = Stage(pipeline[2].id, "Take-home", K.SCREENING, "stage_update")
    job = new_job(pipeline)
    application = applied(job)
    application.move(job, actor=OWNER, from_stage_id=pipeline[0].id, to_stage_id=pipeline[1].id, note=None)
    application.committed()
    application.move(job, actor=OWNER, from_stage_id=pipeline[1].id, to_stage_id=pipeline[2].id, note=None)
    assert application.events[0].email_template == "stage_update"


def test_within_a_kind_a_stage_without_an_email_sends_none():
    pipeline = stages(K.APPLIED, K.SCREENING, K.SCREENING, K.HIRED)
    job = new_job(pipeline)
    application = applied(job)
    application.move(job, actor=OWNER, from_stage_id=pipeline[0].id, to_stage_id=pipeline[1].id, note=None)
    application.committed()
    application.move(job, actor=OWNER, from_stage_id=pipeline[1].id, to_stage_id=pipeline[2].id, note=None)
    assert application.events[0].email_template is None


# --- The funnel's arithmetic ----------------------------------------------------------------------


def test_buckets_are_a_quarter_octave_wide_and_the_median_is_within_nine_percent():
    assert bucket(0) == 0 and bucket(0.5) == 0 and bucket(1) == 1
    for exact in [1, 7, 60, 3600, 86_400 * 3, 86_400 * 400]:
        counters = {f"{STAY}{bucket(exact)}": 3}
        assert abs(median_seconds(counters, STAY) - exact) <= 0.09 * exact + 1


def test_the_median_is_the_middle_of_the_histogram():
    durations = [10, 20, 30, 4000, 5000]
    counters: dict[str, int] = {}
    for seconds in durations:
        counters[f"{HIRE}{bucket(seconds)}"] = counters.get(f"{HIRE}{bucket(seconds)}", 0) + 1
    assert abs(median_seconds(counters, HIRE) - 30) <= 3
    assert median_seconds({}, HIRE) is None


def test_a_tally_adds_per_stage_and_per_job():
    tally = Tally(
        current={"a": -1, "b": 1}, entered={"b"}, stays={"a": [100.0]}, outcomes={"hired": 1}, to_hire=[100.0]
    )
    assert tally.stage_counters() == {
        "a": {"current": -1, f"{STAY}{bucket(100)}": 1},
        "b": {"current": 1, "entered": 1},
    }
    assert tally.job_counters() == {"hired": 1, f"{HIRE}{bucket(100)}": 1}
    assert not Tally()
