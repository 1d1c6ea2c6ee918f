"""Who may do what to a job and its applications (API.md §2's table), through every route there is
now, and the rules of a hiring team, on every backend.

The matrix: each team role (recruiter, coordinator, hiring_manager, interviewer), an admin, a
staff account not on the team and the candidate, against each action. What the caller may not
see is 404 (an application to someone not allowed to see it, any part of a draft job to whoever
is off its team); what the caller sees but may not do is 403 (an open job is seen by everyone, so
changing it, or reading its team, stages or funnel, is 403 off the team). Each module shares one
store per backend (pipeline_world.py): a test that changes the shared job or application puts it
back, as an admin.
"""

import pytest

from .helpers import MISSING_ID, assert_error, error_fields, with_query
from .pipeline_world import World, backend, module_api  # noqa: F401  (module-scoped store)

DEFAULT_REASON = "000000000000000000000REJ01"  # "Not a fit for the role", of the default set

TEAM_ROLES = ["recruiter", "coordinator", "hiring_manager", "interviewer"]
CALLERS = [*TEAM_ROLES, "admin", "outsider", "candidate"]


@pytest.fixture(scope="module")
def world(module_api, backend):  # noqa: F811
    w = World(module_api, backend)
    rita = w.person("recruiter")  # job A's creator: its first recruiter
    for name in ("coordinator", "hiring_manager", "interviewer", "outsider", "spare", "olga", "gone"):
        w.person(name)
    admin = w.admin()
    carl = w.person("candidate", "candidate")
    cleo = w.person("cleo", "candidate")
    w.job_a = w.fresh_job(rita, title="Job A")
    w.team(
        w.job_a["id"],
        rita,
        [(w[role], role) for role in ("coordinator", "hiring_manager", "interviewer")] + [(w["spare"], "interviewer")],
    )
    w.job_b = w.fresh_job(w["olga"], title="Job B")
    w.draft = w.fresh_job(rita, title="Job D", status="draft")
    w.app_a = w.api.apply(carl.token, w.job_a["id"])
    w.app_b = w.api.apply(cleo.token, w.job_b["id"])
    w.stages_a = w.stages(w.job_a["id"], rita.token)
    w.stages_b = w.stages(w.job_b["id"], w["olga"].token)
    reply = w.api.patch(f"/users/{w['gone'].id}", {"active": False}, token=admin.token)
    assert reply.status == 200, reply.body
    return w


def current_stage(world, token=None) -> str:
    return world.application(world.app_a["id"], (token or world["admin"].token))["stage"]["id"]


def other_stage(world, stage_id: str) -> str:
    return next(stage["id"] for stage in world.stages_a if stage["id"] != stage_id and stage["kind"] != "hired")


def admin_reject(world) -> None:
    reply = world.api.post(
        f"/applications/{world.app_a['id']}/reject",
        {"rejection_reason_id": DEFAULT_REASON, "email": {"send": False}},
        token=world["admin"].token,
    )
    assert reply.status == 200, reply.body


def admin_unreject(world) -> None:
    reply = world.api.post(f"/applications/{world.app_a['id']}/unreject", {}, token=world["admin"].token)
    assert reply.status == 200, reply.body


def team_ids(world, job_id: str) -> dict[str, str]:
    reply = world.api.get(f"/jobs/{job_id}/team", token=world["admin"].token)
    assert reply.status == 200, reply.body
    return {member["user_id"]: member["role"] for member in reply.body["items"]}


# --- The actions: (call, put back once allowed) ---------------------------------------------------


def do_edit_job(world, actor):
    return world.api.put(f"/jobs/{world.job_a['id']}", {"description": "changed"}, token=actor.token)


def do_put_stages(world, actor):
    body = {"stages": [{"id": s["id"], "name": s["name"], "kind": s["kind"]} for s in world.stages_a]}
    return world.api.put(f"/jobs/{world.job_a['id']}/stages", body, token=actor.token)


def do_put_team(world, actor):
    members = [{"user_id": user_id, "role": role} for user_id, role in team_ids(world, world.job_a["id"]).items()]
    return world.api.put(f"/jobs/{world.job_a['id']}/team", {"members": members}, token=actor.token)


def do_post_team(world, actor):
    body = {"user_id": world["spare"].id, "role": "interviewer"}  # its role already: the team stays as it is
    return world.api.post(f"/jobs/{world.job_a['id']}/team", body, token=actor.token)


def do_delete_team(world, actor):
    return world.api.delete(f"/jobs/{world.job_a['id']}/team/{world['spare'].id}", token=actor.token)


def undo_delete_team(world):
    reply = do_post_team(world, world["admin"])
    assert reply.status == 201, reply.body


def do_get_team(world, actor):
    return world.api.get(f"/jobs/{world.job_a['id']}/team", token=actor.token)


def do_get_stages(world, actor):
    return world.api.get(f"/jobs/{world.job_a['id']}/stages", token=actor.token)


def do_funnel(world, actor):
    return world.api.get(f"/jobs/{world.job_a['id']}/funnel", token=actor.token)


def do_read_application(world, actor):
    return world.api.get(f"/applications/{world.app_a['id']}", token=actor.token)


def do_read_history(world, actor):
    return world.api.get(f"/applications/{world.app_a['id']}/history", token=actor.token)


def do_read_visits(world, actor):
    return world.api.get(f"/applications/{world.app_a['id']}/stages", token=actor.token)


def do_list_job_applications(world, actor):
    return world.api.get(with_query(f"/jobs/{world.job_a['id']}/applications", limit=100), token=actor.token)


def do_move(world, actor):
    here = current_stage(world)
    world.moved_from = here
    return world.move(world.app_a["id"], actor.token, here, other_stage(world, here))


def undo_move(world):
    here = current_stage(world)
    reply = world.move(world.app_a["id"], world["admin"].token, here, world.moved_from)
    assert reply.status == 200, reply.body


def do_reject(world, actor):
    body = {"rejection_reason_id": DEFAULT_REASON, "email": {"send": False}}
    return world.api.post(f"/applications/{world.app_a['id']}/reject", body, token=actor.token)


def do_unreject(world, actor):
    admin_reject(world)
    return world.api.post(f"/applications/{world.app_a['id']}/unreject", {}, token=actor.token)


ACTIONS = {
    "edit_job": (do_edit_job, None),
    "put_stages": (do_put_stages, None),
    "put_team": (do_put_team, None),
    "post_team": (do_post_team, None),
    "delete_team": (do_delete_team, undo_delete_team),
    "get_team": (do_get_team, None),
    "get_stages": (do_get_stages, None),
    "funnel": (do_funnel, None),
    "read_application": (do_read_application, None),
    "read_history": (do_read_history, None),
    "read_visits": (do_read_visits, None),
    "list_job_applications": (do_list_job_applications, None),
    "move": (do_move, undo_move),
    "reject": (do_reject, admin_unreject),
    "unreject": (do_unreject, None),
}
OK = {"post_team": 201, "delete_team": 204}  # else 200

# API.md §2's table as statuses: None is allowed (2xx). An open job is seen by all: 403 off the
# team for what touches the job; its applications are unseen (404) by whoever may not see them,
# the interviewer included (assigned by interviews, which do not exist yet); the candidate sees
# their own application, so moving it is 403.
EDIT = {"recruiter": None, "admin": None}
TEAM_READ = {"recruiter": None, "coordinator": None, "hiring_manager": None, "interviewer": None, "admin": None}
SEE = {"recruiter": None, "coordinator": None, "hiring_manager": None, "admin": None}
DENIED_ON_APPLICATIONS = {"interviewer": 404, "outsider": 404}
EXPECTED: dict[str, dict[str, int | None]] = {
    **{action: {**dict.fromkeys(CALLERS, 403), **EDIT} for action in ("edit_job", "put_stages")},
    **{action: {**dict.fromkeys(CALLERS, 403), **EDIT} for action in ("put_team", "post_team", "delete_team")},
    **{action: {**dict.fromkeys(CALLERS, 403), **TEAM_READ} for action in ("get_team", "get_stages")},
    "funnel": {**dict.fromkeys(CALLERS, 403), **SEE},
    **{
        action: {**SEE, "candidate": None, **DENIED_ON_APPLICATIONS}
        for action in ("read_application", "read_history", "read_visits", "list_job_applications")
    },
    **{action: {**SEE, "candidate": 403, **DENIED_ON_APPLICATIONS} for action in ("move", "reject", "unreject")},
}
MATRIX = [(action, caller) for action in ACTIONS for caller in CALLERS]


def fingerprint(world) -> tuple:
    """What a refused call must leave as it was: the job's version, the team, the application."""
    job = world.api.get(f"/jobs/{world.job_a['id']}", token=world["admin"].token).body["job"]
    application = world.application(world.app_a["id"], world["admin"].token)
    return job["version"], team_ids(world, world.job_a["id"]), application["version"], application["stage"]["id"]


@pytest.mark.parametrize(("action", "caller"), MATRIX)
def test_the_permission_table(world, action, caller):
    act, undo = ACTIONS[action]
    expected = EXPECTED[action][caller]
    before = fingerprint(world)
    reply = act(world, world[caller])
    if expected is None:
        assert reply.status == OK.get(action, 200), (action, caller, reply.status, reply.body)
        if undo is not None:
            undo(world)
        return
    if action == "unreject":
        admin_unreject(world)  # what the test's setup rejected
        assert_error(reply, expected)
        assert fingerprint(world)[:2] == before[:2]
        return
    assert_error(reply, expected, "not_found" if expected == 404 else "forbidden")
    assert fingerprint(world) == before, "a refused request changed something"


def test_what_a_candidate_lists_of_a_job_is_their_own_application_only(world):
    reply = do_list_job_applications(world, world["candidate"])
    assert [item["id"] for item in reply.body["items"]] == [world.app_a["id"]]


@pytest.mark.parametrize("caller", ["recruiter", "coordinator", "hiring_manager", "admin"])
def test_whoever_sees_a_jobs_applications_lists_them(world, caller):
    reply = do_list_job_applications(world, world[caller])
    assert reply.status == 200, reply.body
    assert [item["id"] for item in reply.body["items"]] == [world.app_a["id"]]


# --- GET /applications: a staff member's list covers the jobs on whose team they see applications --

LISTED = {  # caller: (job A's application listed, job B's application listed)
    "recruiter": (True, False),
    "coordinator": (True, False),
    "hiring_manager": (True, False),
    "interviewer": (False, False),
    "admin": (True, True),
    "outsider": (False, False),
    "candidate": (True, False),
}


@pytest.mark.parametrize("caller", CALLERS)
def test_get_applications_lists_what_the_caller_may_see(world, caller):
    reply = world.api.get(with_query("/applications", limit=100), token=world[caller].token)
    assert reply.status == 200, reply.body
    listed = {item["id"] for item in reply.body["items"]}
    assert (world.app_a["id"] in listed, world.app_b["id"] in listed) == LISTED[caller]
    if caller in ("coordinator", "hiring_manager", "candidate"):
        assert listed == {world.app_a["id"]}


def test_a_recruiters_list_covers_every_job_on_whose_team_they_are_and_only_those(world):
    mira = world.person("mira")
    own = world.fresh_job(mira, title="Mira's own")
    joined = world.fresh_job(world["olga"], title="Mira manages hiring")
    world.team(joined["id"], world["olga"], [(mira, "hiring_manager")])
    watching = world.fresh_job(world["olga"], title="Mira only interviews")
    world.team(watching["id"], world["olga"], [(mira, "interviewer")])
    elsewhere = world.fresh_job(world["olga"], title="Not Mira's")
    applied = {}
    for job in (own, joined, watching, elsewhere):
        applicant = world.candidate()
        applied[job["id"]] = world.api.apply(applicant.token, job["id"])["id"]

    reply = world.api.get(with_query("/applications", limit=100), token=mira.token)

    assert reply.status == 200, reply.body
    assert {item["id"] for item in reply.body["items"]} == {applied[own["id"]], applied[joined["id"]]}


# --- BOLA: a member of job A reaches none of job B's applications --------------------------------


def b_routes(world):
    app_b, stages = world.app_b["id"], world.stages_b
    return {
        "get": ("GET", f"/applications/{app_b}", None),
        "history": ("GET", f"/applications/{app_b}/history", None),
        "visits": ("GET", f"/applications/{app_b}/stages", None),
        "move": (
            "POST",
            f"/applications/{app_b}/move",
            {"from_stage_id": stages[0]["id"], "to_stage_id": stages[1]["id"]},
        ),
        "reject": ("POST", f"/applications/{app_b}/reject", {"rejection_reason_id": DEFAULT_REASON}),
        "unreject": ("POST", f"/applications/{app_b}/unreject", {}),
        "change-status": ("POST", "/applications/change-status", {"application_id": app_b, "status": "screening"}),
        "transition": ("POST", f"/applications/{app_b}/transition", {"status": "screening"}),
    }


B_ROUTES = ["get", "history", "visits", "move", "reject", "unreject", "change-status", "transition"]


@pytest.mark.parametrize("route", B_ROUTES)
@pytest.mark.parametrize("caller", [*TEAM_ROLES, "candidate"])
def test_a_member_of_one_job_reaches_no_application_of_another(world, caller, route):
    method, path, body = b_routes(world)[route]
    before = world.application(world.app_b["id"], world["olga"].token)

    reply = world.api.call(method, path, body, token=world[caller].token)

    assert_error(reply, 404, "not_found")
    assert world.application(world.app_b["id"], world["olga"].token) == before


# --- A draft job: whoever is off its team cannot see it, so every part of it is 404 ---------------


def draft_calls(world):
    job_id, owner = world.draft["id"], world["recruiter"].id
    return {
        "get_job": ("GET", f"/jobs/{job_id}", None),
        "edit_job": ("PUT", f"/jobs/{job_id}", {"title": "Mine now"}),
        "get_team": ("GET", f"/jobs/{job_id}/team", None),
        "put_team": ("PUT", f"/jobs/{job_id}/team", {"members": [{"user_id": owner, "role": "recruiter"}]}),
        "post_team": ("POST", f"/jobs/{job_id}/team", {"user_id": owner, "role": "recruiter"}),
        "delete_team": ("DELETE", f"/jobs/{job_id}/team/{owner}", None),
        "get_stages": ("GET", f"/jobs/{job_id}/stages", None),
        "put_stages": ("PUT", f"/jobs/{job_id}/stages", {"stages": [{"name": "A", "kind": "applied"}]}),
        "funnel": ("GET", f"/jobs/{job_id}/funnel", None),
        "applications": ("GET", f"/jobs/{job_id}/applications", None),
    }


DRAFT_CALLS = [
    "get_job",
    "edit_job",
    "get_team",
    "put_team",
    "post_team",
    "delete_team",
    "get_stages",
    "put_stages",
    "funnel",
    "applications",
]


# A candidate's list of a job's applications is their own, whatever the job: 200 for any id.
DRAFT_MATRIX = [(caller, call) for caller in ("outsider", "candidate") for call in DRAFT_CALLS]
DRAFT_MATRIX.remove(("candidate", "applications"))


@pytest.mark.parametrize(("caller", "call"), DRAFT_MATRIX)
def test_every_part_of_a_draft_job_is_404_off_its_team(world, caller, call):
    method, path, body = draft_calls(world)[call]
    assert_error(world.api.call(method, path, body, token=world[caller].token), 404, "not_found")


def test_a_candidate_listing_a_drafts_applications_learns_no_more_than_of_a_missing_job(world):
    token = world["candidate"].token
    draft = world.api.get(f"/jobs/{world.draft['id']}/applications", token=token)
    missing = world.api.get(f"/jobs/{MISSING_ID}/applications", token=token)
    assert (draft.status, draft.body) == (missing.status, missing.body)


@pytest.mark.parametrize("caller", ["coordinator", "hiring_manager", "interviewer"])
def test_a_team_member_without_the_right_sees_a_draft_but_may_not_change_it(world, caller):
    world.team(
        world.draft["id"],
        world["recruiter"],
        [(world[role], role) for role in ("coordinator", "hiring_manager", "interviewer")],
    )
    assert world.api.get(f"/jobs/{world.draft['id']}", token=world[caller].token).status == 200
    assert world.api.get(f"/jobs/{world.draft['id']}/stages", token=world[caller].token).status == 200
    reply = world.api.put(f"/jobs/{world.draft['id']}", {"title": "Renamed"}, token=world[caller].token)
    assert_error(reply, 403, "forbidden")


# --- The team's rules ----------------------------------------------------------------------------


def test_the_jobs_creator_is_its_first_recruiter(world):
    owner = world.person("owner")
    job = world.fresh_job(owner)

    reply = world.api.get(f"/jobs/{job['id']}/team", token=owner.token)

    assert reply.status == 200, reply.body
    assert reply.body == {
        "items": [{"user_id": owner.id, "role": "recruiter", "name": owner.user["name"], "email": owner.user["email"]}],
        "next_cursor": None,
    }


def test_put_replaces_the_whole_team_and_answers_it(world):
    owner = world.person("owner")
    job = world.fresh_job(owner)
    members = [
        {"user_id": owner.id, "role": "recruiter"},
        {"user_id": world["coordinator"].id, "role": "hiring_manager"},
        {"user_id": world["admin"].id, "role": "interviewer"},  # an admin account may be a member
    ]

    reply = world.api.put(f"/jobs/{job['id']}/team", {"members": members}, token=owner.token)

    assert reply.status == 200, reply.body
    assert [(m["user_id"], m["role"]) for m in reply.body["items"]] == [(m["user_id"], m["role"]) for m in members]
    assert world.api.get(f"/jobs/{job['id']}/team", token=owner.token).body == reply.body


def test_post_adds_a_member_and_then_changes_its_role(world):
    owner = world.person("owner")
    job = world.fresh_job(owner)
    path = f"/jobs/{job['id']}/team"
    member = world["coordinator"]

    added = world.api.post(path, {"user_id": member.id, "role": "interviewer"}, token=owner.token)
    changed = world.api.post(path, {"user_id": member.id, "role": "coordinator"}, token=owner.token)

    assert added.status == 201, added.body
    assert added.body == {
        "member": {
            "user_id": member.id,
            "role": "interviewer",
            "name": member.user["name"],
            "email": member.user["email"],
        }
    }
    assert changed.status in (200, 201), changed.body
    assert changed.body["member"]["role"] == "coordinator"
    assert team_ids(world, job["id"]) == {owner.id: "recruiter", member.id: "coordinator"}


def test_a_team_without_a_recruiter_is_409_last_recruiter(world):
    owner = world.person("owner")
    job = world.fresh_job(owner)
    body = {"members": [{"user_id": owner.id, "role": "coordinator"}]}

    assert_error(world.api.put(f"/jobs/{job['id']}/team", body, token=owner.token), 409, "last_recruiter")
    assert team_ids(world, job["id"]) == {owner.id: "recruiter"}


def test_the_last_recruiter_cannot_be_removed(world):
    owner = world.person("owner")
    job = world.fresh_job(owner)
    world.team(job["id"], owner, [(world["coordinator"], "coordinator")])

    reply = world.api.delete(f"/jobs/{job['id']}/team/{owner.id}", token=owner.token)

    assert_error(reply, 409, "last_recruiter")
    assert team_ids(world, job["id"]) == {owner.id: "recruiter", world["coordinator"].id: "coordinator"}


def test_the_last_recruiter_cannot_be_demoted(world):
    owner = world.person("owner")
    job = world.fresh_job(owner)

    reply = world.api.post(f"/jobs/{job['id']}/team", {"user_id": owner.id, "role": "coordinator"}, token=owner.token)

    assert_error(reply, 409, "last_recruiter")
    assert team_ids(world, job["id"]) == {owner.id: "recruiter"}


def test_one_of_two_recruiters_may_leave(world):
    owner = world.person("owner")
    job = world.fresh_job(owner)
    world.team(job["id"], owner, [(world["olga"], "recruiter")])

    reply = world.api.delete(f"/jobs/{job['id']}/team/{owner.id}", token=world["olga"].token)

    assert (reply.status, reply.body) == (204, None)
    assert team_ids(world, job["id"]) == {world["olga"].id: "recruiter"}


def test_removing_someone_not_on_the_team_is_404(world):
    owner = world.person("owner")
    job = world.fresh_job(owner)
    assert_error(world.api.delete(f"/jobs/{job['id']}/team/{world['olga'].id}", token=owner.token), 404)
    assert_error(world.api.delete(f"/jobs/{job['id']}/team/{MISSING_ID}", token=owner.token), 404)


NOT_STAFF = ["candidate", "gone", "missing"]  # a candidate account, a deactivated recruiter, nobody


def _user_id(world, who: str) -> str:
    return MISSING_ID if who == "missing" else world[who].id


@pytest.mark.parametrize("who", NOT_STAFF)
def test_put_refuses_a_member_who_is_not_an_active_staff_account(world, who):
    owner = world.person("owner")
    job = world.fresh_job(owner)
    members = [
        {"user_id": owner.id, "role": "recruiter"},
        {"user_id": world["coordinator"].id, "role": "coordinator"},
        {"user_id": _user_id(world, who), "role": "interviewer"},
    ]

    reply = world.api.put(f"/jobs/{job['id']}/team", {"members": members}, token=owner.token)

    assert_error(reply, 422, "validation_error")
    assert error_fields(reply) == {"members.2.user_id"}
    assert team_ids(world, job["id"]) == {owner.id: "recruiter"}


@pytest.mark.parametrize("who", NOT_STAFF)
def test_post_refuses_a_member_who_is_not_an_active_staff_account(world, who):
    owner = world.person("owner")
    job = world.fresh_job(owner)

    reply = world.api.post(
        f"/jobs/{job['id']}/team", {"user_id": _user_id(world, who), "role": "interviewer"}, token=owner.token
    )

    assert_error(reply, 422, "validation_error")
    assert error_fields(reply) == {"user_id"}  # the field of this body
    assert team_ids(world, job["id"]) == {owner.id: "recruiter"}


def test_a_member_named_twice_is_422(world):
    owner = world.person("owner")
    job = world.fresh_job(owner)
    members = [
        {"user_id": owner.id, "role": "recruiter"},
        {"user_id": world["coordinator"].id, "role": "coordinator"},
        {"user_id": world["coordinator"].id, "role": "interviewer"},
    ]

    reply = world.api.put(f"/jobs/{job['id']}/team", {"members": members}, token=owner.token)

    assert_error(reply, 422, "validation_error")
    assert error_fields(reply) == {"members.2.user_id"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"members": []}, "members"),
        ({"members": [{"user_id": MISSING_ID, "role": "boss"}]}, "members.0.role"),
        ({"members": [{"user_id": MISSING_ID, "role": "recruiter", "extra": 1}]}, "members.0.extra"),
        ({"user_id": MISSING_ID}, "members"),
    ],
)
def test_a_malformed_team_is_422_naming_the_field(world, body, field):
    reply = world.api.put(f"/jobs/{world.job_a['id']}/team", body, token=world["recruiter"].token)
    assert_error(reply, 422)
    assert field in error_fields(reply)


def test_a_removed_member_loses_access_at_once(world):
    owner = world.person("owner")
    job = world.fresh_job(owner)
    applicant = world.candidate()
    application = world.api.apply(applicant.token, job["id"])
    member = world.person("temp")
    added = world.api.post(f"/jobs/{job['id']}/team", {"user_id": member.id, "role": "coordinator"}, token=owner.token)
    assert added.status == 201, added.body
    assert world.api.get(f"/applications/{application['id']}", token=member.token).status == 200
    listed = world.api.get("/applications", token=member.token).body["items"]
    assert [item["id"] for item in listed] == [application["id"]]

    removed = world.api.delete(f"/jobs/{job['id']}/team/{member.id}", token=owner.token)

    assert removed.status == 204, removed.body
    assert_error(world.api.get(f"/applications/{application['id']}", token=member.token), 404)
    assert_error(world.api.get(f"/jobs/{job['id']}/applications", token=member.token), 404)
    stages = world.stages(job["id"], owner.token)
    assert_error(world.move(application["id"], member.token, stages[0]["id"], stages[1]["id"]), 404)
    assert_error(world.api.get(f"/jobs/{job['id']}/funnel", token=member.token), 403)
    assert world.api.get("/applications", token=member.token).body["items"] == []


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_a_team_change_under_a_stale_if_match_is_412(world, method):
    owner = world.person("owner")
    job = world.fresh_job(owner)
    world.team(job["id"], owner, [(world["spare"], "interviewer")])  # the job is at version 2 now
    path, body = {
        "PUT": (f"/jobs/{job['id']}/team", {"members": [{"user_id": owner.id, "role": "recruiter"}]}),
        "POST": (f"/jobs/{job['id']}/team", {"user_id": world["olga"].id, "role": "coordinator"}),
        "DELETE": (f"/jobs/{job['id']}/team/{world['spare'].id}", None),
    }[method]

    reply = world.api.call(method, path, body, token=owner.token, headers={"if-match": '"1"'})

    assert_error(reply, 412, "precondition_failed")
    assert team_ids(world, job["id"]) == {owner.id: "recruiter", world["spare"].id: "interviewer"}
