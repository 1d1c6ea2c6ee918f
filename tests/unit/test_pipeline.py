"""The pipeline of DESIGN.md §4, over every (from, to) pair of the seven statuses."""

import itertools

import pytest

from chalicelib.domain import pipeline
from chalicelib.domain.errors import InvalidTransition
from chalicelib.domain.models import Application, Job, Principal, Role
from chalicelib.domain.pipeline import ApplicationStatus as S

# The table of DESIGN.md §4, written out independently of the code under test.
ALLOWED = {
    ("applied", "screening"),
    ("applied", "rejected"),
    ("applied", "withdrawn"),
    ("screening", "shortlisted"),
    ("screening", "rejected"),
    ("screening", "withdrawn"),
    ("shortlisted", "selected"),
    ("shortlisted", "rejected"),
    ("shortlisted", "withdrawn"),
    ("selected", "hired"),
    ("selected", "rejected"),
    ("selected", "withdrawn"),
}
STATUSES = ["applied", "screening", "shortlisted", "selected", "hired", "rejected", "withdrawn"]
PAIRS = list(itertools.product(STATUSES, STATUSES))
ALLOWED_PAIRS = [pair for pair in PAIRS if pair in ALLOWED]
REFUSED_PAIRS = [pair for pair in PAIRS if pair not in ALLOWED]

RECRUITER = Principal("01HZZZZZZZZZZZZZZZZZZZZZZ1", Role.RECRUITER)
CANDIDATE = Principal("01HZZZZZZZZZZZZZZZZZZZZZZ2", Role.CANDIDATE)


JOB = Job.publish(owner=RECRUITER, title="Engineer")  # the default pipeline: a stage of each kind


def application_in(status: str) -> Application:
    application = Application.submit(job=JOB, candidate=CANDIDATE, cover_letter=None)
    application.status = S(status)
    application.new_history.clear()
    application.events.clear()
    return application


def actor_for(target: str) -> Principal:
    return CANDIDATE if target == "withdrawn" else RECRUITER


def test_the_table_covers_all_49_pairs():
    assert len(PAIRS) == 49 and len(ALLOWED_PAIRS) == 12 and len(REFUSED_PAIRS) == 37
    assert set(STATUSES) == {str(s) for s in S}


@pytest.mark.parametrize("current,target", PAIRS)
def test_can_move_matches_the_design_table(current, target):
    both_sides = [
        *pipeline.status_targets(S(current), JOB.stages, candidate=False),
        *pipeline.status_targets(S(current), JOB.stages, candidate=True),
    ]
    assert (S(target) in both_sides) == ((current, target) in ALLOWED)


@pytest.mark.parametrize("current", STATUSES)
def test_terminal_statuses_are_hired_rejected_withdrawn(current):
    # Rejected is final for the original routes; only unreject (POST /applications/{id}/unreject) takes it back.
    final = not pipeline.status_targets(S(current), JOB.stages, candidate=False) and not pipeline.status_targets(
        S(current), JOB.stages, candidate=True
    )
    assert final == (current in ("hired", "rejected", "withdrawn"))


@pytest.mark.parametrize("current,target", ALLOWED_PAIRS)
def test_allowed_move_changes_status_and_records_it(current, target):
    application = application_in(current)
    actor = actor_for(target)
    application.change_status(to=S(target), actor=actor, reason="because", job=JOB)

    assert application.status == target
    assert application.version == 2
    [entry] = application.new_history
    assert (entry.from_status, entry.to_status, entry.actor_id, entry.reason) == (
        current,
        target,
        actor.user_id,
        "because",
    )
    [event] = application.events
    assert (event.type, event.from_status, event.to_status) == ("ApplicationStatusChanged", current, target)


@pytest.mark.parametrize("current,target", REFUSED_PAIRS)
def test_refused_move_raises_invalid_transition_naming_allowed_targets(current, target):
    application = application_in(current)
    actor = actor_for(target)
    expected = sorted(to for (frm, to) in ALLOWED if frm == current and (to == "withdrawn") == (actor == CANDIDATE))

    with pytest.raises(InvalidTransition) as raised:
        application.change_status(to=S(target), actor=actor_for(target), reason=None, job=JOB)

    assert raised.value.code == "invalid_transition"
    assert sorted(raised.value.details[0]["allowed"]) == expected
    for name in expected:
        assert name in raised.value.message
    assert application.status == current and application.version == 1
    assert application.new_history == [] and application.events == []


OUTSIDER = Principal("01HZZZZZZZZZZZZZZZZZZZZZZ3", Role.RECRUITER)
ADMIN = Principal("01HZZZZZZZZZZZZZZZZZZZZZZ4", Role.ADMIN)


@pytest.mark.parametrize("current", STATUSES)
def test_allowed_transitions_are_what_each_caller_may_do(current):
    application = application_in(current)
    hiring_side = sorted(to for (frm, to) in ALLOWED if frm == current and to != "withdrawn")
    assert sorted(application.allowed_transitions_for(RECRUITER, JOB)) == hiring_side
    assert sorted(application.allowed_transitions_for(ADMIN, JOB)) == hiring_side
    assert application.allowed_transitions_for(CANDIDATE, JOB) == (
        ["withdrawn"] if (current, "withdrawn") in ALLOWED else []
    )
    assert application.allowed_transitions_for(OUTSIDER, JOB) == []
