"""The hiring team's permission table (API.md §2), checked cell by cell against a copy written out here."""

import pytest

from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.domain.ids import new_id
from chalicelib.domain.team import Action, TeamMember, TeamRole, check_team, may

# API.md §2's table, written out independently of the code: y, n, or "assigned".
TABLE = {
    # action:                 recruiter, coordinator, hiring_manager, interviewer, admin
    "edit_job": ("y", "n", "n", "n", "y"),
    "see_applications": ("y", "y", "y", "assigned", "y"),
    "move": ("y", "y", "y", "n", "y"),
    "notes": ("y", "y", "y", "y", "y"),
    "schedule_interviews": ("y", "y", "n", "n", "y"),
    "submit_scorecard": ("y", "y", "y", "assigned", "n"),
    "manage_offers": ("y", "n", "n", "n", "y"),
    "approve_offers": ("n", "n", "n", "n", "y"),  # a named approver is the offer's check, not the team's
}
ROLES = [TeamRole.RECRUITER, TeamRole.COORDINATOR, TeamRole.HIRING_MANAGER, TeamRole.INTERVIEWER]
CELLS = [(action, column) for action in TABLE for column in range(5)]


def test_the_table_names_every_action():
    assert set(TABLE) == {str(action) for action in Action}


@pytest.mark.parametrize("action,column", CELLS, ids=[f"{a}-{c}" for a, c in CELLS])
@pytest.mark.parametrize("assigned", [False, True], ids=["unassigned", "assigned"])
def test_each_cell(action, column, assigned):
    cell = TABLE[action][column]
    expected = cell == "y" or (cell == "assigned" and assigned)
    if column == 4:
        assert may(Action(action), role=None, admin=True, assigned=assigned) is expected
    else:
        assert may(Action(action), role=ROLES[column], assigned=assigned) is expected


@pytest.mark.parametrize("action", list(Action))
def test_nobody_off_the_team_may_do_anything(action):
    assert may(action, role=None) is False
    assert may(action, role=None, assigned=True) is False


def test_a_team_keeps_a_recruiter_and_names_each_member_once():
    rita, hank = new_id(), new_id()
    check_team([TeamMember(rita, TeamRole.RECRUITER), TeamMember(hank, TeamRole.HIRING_MANAGER)])
    with pytest.raises(Conflict) as raised:
        check_team([TeamMember(hank, TeamRole.HIRING_MANAGER)])
    assert raised.value.code == "last_recruiter"
    with pytest.raises(ValidationFailed) as twice:
        check_team([TeamMember(rita, TeamRole.RECRUITER), TeamMember(rita, TeamRole.INTERVIEWER)])
    assert twice.value.details[0]["field"] == "members.1.user_id"
