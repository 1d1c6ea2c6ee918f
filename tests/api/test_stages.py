"""A job's pipeline (API.md §2): its default stages, the rules of PUT /jobs/{id}/stages, stages
kept across edits, stage_in_use, pipeline templates, the original change-status routes on
stages, moves (stage_mismatch, and twenty at once), the visits and the funnel; on every backend,
one store per backend and module (pipeline_world.py), each test on a job of its own. The twenty
concurrent moves run on SQLite and DynamoDB Local only: moto's tables are not thread-safe (its
transact_write_items deep-copies a table another thread is changing)."""

import itertools
from functools import partial

import pytest

from chalicelib.domain.ids import is_id

from .helpers import MISSING_ID, Gateway, assert_error, error_fields, race
from .pipeline_world import World, backend, module_api  # noqa: F401  (module-scoped store)

DEFAULT_REASON = "000000000000000000000REJ01"
DEFAULT_PIPELINE = [
    ("Applied", "applied"),
    ("Screening", "screening"),
    ("Shortlisted", "shortlisted"),
    ("Selected", "selected"),
    ("Hired", "hired"),
]
CLIENTS = 20


@pytest.fixture(scope="module")
def world(module_api, backend):  # noqa: F811
    w = World(module_api, backend)
    w.person("rita")
    w.person("olga")
    w.admin()
    return w


@pytest.fixture
def rita(world):
    return world["rita"]


def put_stages(world, job_id, stages, token):
    return world.api.put(f"/jobs/{job_id}/stages", {"stages": stages}, token=token)


def kept(stages: list[dict]) -> list[dict]:
    """The stages as a PUT body that keeps them."""
    return [{"id": s["id"], "name": s["name"], "kind": s["kind"]} for s in stages]


def applied_once(world, job_id):
    applicant = world.candidate()
    return applicant, world.api.apply(applicant.token, job_id)


def funnel(world, job_id, token) -> dict:
    reply = world.api.get(f"/jobs/{job_id}/funnel", token=token)
    assert reply.status == 200, reply.body
    return reply.body["funnel"]


def by_stage(f: dict) -> dict[str, tuple[int, int]]:
    return {stage["name"]: (stage["current"], stage["entered"]) for stage in f["stages"]}


# --- Default stages --------------------------------------------------------------------------------


def test_a_new_job_has_one_stage_of_each_kind_named_after_it(world, rita):
    job = world.fresh_job(rita)

    reply = world.api.get(f"/jobs/{job['id']}/stages", token=rita.token)

    assert reply.status == 200, reply.body
    assert set(reply.body) == {"items", "next_cursor"} and reply.body["next_cursor"] is None
    stages = reply.body["items"]
    assert [(s["name"], s["kind"]) for s in stages] == DEFAULT_PIPELINE
    assert all(is_id(s["id"]) for s in stages) and len({s["id"] for s in stages}) == 5
    other = world.stages(world.fresh_job(rita)["id"], rita.token)
    assert not {s["id"] for s in stages} & {s["id"] for s in other}, "each job has stages of its own"


def test_a_new_application_is_in_the_first_stage(world, rita):
    job = world.fresh_job(rita)
    stages = world.stages(job["id"], rita.token)
    applicant, application = applied_once(world, job["id"])
    first = {"id": stages[0]["id"], "name": "Applied", "kind": "applied"}
    assert (application["status"], application["stage"]) == ("applied", first)
    assert world.application(application["id"], applicant.token)["stage"] == first


# --- PUT rules ---------------------------------------------------------------------------------------

INVALID = {
    "first not applied": ([("Screen", "screening"), ("Hired", "hired")], "stages.0"),
    "kinds decreasing": ([("A", "applied"), ("S", "shortlisted"), ("P", "screening"), ("H", "hired")], "stages.2"),
    "no hired": ([("A", "applied"), ("P", "screening")], "stages"),
    "two hired": ([("A", "applied"), ("H1", "hired"), ("H2", "hired")], "stages.2"),
    "hired not last": ([("A", "applied"), ("H", "hired"), ("P", "screening")], "stages.2"),
    "duplicate names": ([("A", "applied"), ("Phone", "screening"), ("phone", "screening"), ("H", "hired")], "stages.2"),
    "unknown kind": ([("A", "applied"), ("X", "interview"), ("H", "hired")], "stages.1.kind"),
    "empty": ([], "stages"),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_put_refuses_a_pipeline_that_breaks_a_rule_naming_the_stage(world, rita, case):
    job = world.fresh_job(rita)
    before = world.stages(job["id"], rita.token)
    stages, field = INVALID[case]

    reply = put_stages(world, job["id"], [{"name": name, "kind": kind} for name, kind in stages], rita.token)

    assert_error(reply, 422, "validation_error")
    assert field in error_fields(reply), reply.body
    assert world.stages(job["id"], rita.token) == before


def test_put_refuses_an_id_that_is_no_stage_of_this_job(world, rita):
    job = world.fresh_job(rita)
    elsewhere = world.stages(world.fresh_job(rita)["id"], rita.token)
    before = world.stages(job["id"], rita.token)
    for unknown in (MISSING_ID, elsewhere[1]["id"]):
        body = [*kept(before[:1]), {"id": unknown, "name": "Borrowed", "kind": "screening"}, *kept(before[4:])]
        reply = put_stages(world, job["id"], body, rita.token)
        assert_error(reply, 422, "validation_error")
        assert error_fields(reply) == {"stages.1.id"}
    assert world.stages(job["id"], rita.token) == before


def test_put_refuses_the_same_id_twice(world, rita):
    job = world.fresh_job(rita)
    stages = world.stages(job["id"], rita.token)
    body = [*kept(stages[:2]), {**kept(stages[1:2])[0], "name": "Again"}, *kept(stages[4:])]
    reply = put_stages(world, job["id"], body, rita.token)
    assert_error(reply, 422, "validation_error")
    assert error_fields(reply) == {"stages.2"}


def test_ids_are_kept_across_edits_and_applications_stay_in_their_stages(world, rita):
    job = world.fresh_job(rita)
    stages = world.stages(job["id"], rita.token)
    applicant, application = applied_once(world, job["id"])
    assert world.move(application["id"], rita.token, stages[0]["id"], stages[1]["id"]).status == 200
    edited = [
        kept(stages)[0],
        {**kept(stages)[1], "name": "Phone screen"},
        {"name": "Tech interview", "kind": "screening"},
        *kept(stages)[2:],
    ]

    reply = put_stages(world, job["id"], edited, rita.token)

    assert reply.status == 200, reply.body
    new = reply.body["items"]
    assert [(s["name"], s["kind"]) for s in new] == [
        ("Applied", "applied"),
        ("Phone screen", "screening"),
        ("Tech interview", "screening"),
        ("Shortlisted", "shortlisted"),
        ("Selected", "selected"),
        ("Hired", "hired"),
    ]
    assert [s["id"] for s in new[:2] + new[3:]] == [s["id"] for s in stages]
    assert is_id(new[2]["id"]) and new[2]["id"] not in {s["id"] for s in stages}
    assert world.stages(job["id"], rita.token) == new
    seen = world.application(application["id"], applicant.token)
    assert (seen["status"], seen["stage"]) == (
        "screening",
        {"id": stages[1]["id"], "name": "Phone screen", "kind": "screening"},
    )
    f = funnel(world, job["id"], rita.token)
    assert by_stage(f)["Phone screen"] == (1, 1) and by_stage(f)["Tech interview"] == (0, 0)


def test_a_stage_holding_an_application_is_neither_removed_nor_rekinded_until_it_is_emptied(world, rita):
    job = world.fresh_job(rita)
    stages = world.stages(job["id"], rita.token)
    _, application = applied_once(world, job["id"])
    screening = stages[1]["id"]
    assert world.move(application["id"], rita.token, stages[0]["id"], screening).status == 200
    without = kept(stages[:1] + stages[2:])
    rekinded = [*kept(stages[:1]), {**kept(stages)[1], "kind": "shortlisted"}, *kept(stages[2:])]

    for body in (without, rekinded):
        reply = put_stages(world, job["id"], body, rita.token)
        error = assert_error(reply, 409, "stage_in_use")
        assert screening in {detail.get("stage_id") for detail in error["details"]}, error
    assert world.stages(job["id"], rita.token) == stages

    # Moved out, the stage may change kind (and then go).
    assert world.move(application["id"], rita.token, screening, stages[2]["id"]).status == 200
    assert put_stages(world, job["id"], rekinded, rita.token).status == 200
    reply = put_stages(world, job["id"], without, rita.token)
    assert reply.status == 200, reply.body
    assert [s["id"] for s in reply.body["items"]] == [s["id"] for s in stages[:1] + stages[2:]]


def test_a_stage_emptied_by_a_rejection_may_be_removed_and_unreject_then_finds_the_first_stage(world, rita):
    job = world.fresh_job(rita)
    stages = world.stages(job["id"], rita.token)
    _applicant, application = applied_once(world, job["id"])
    screening = stages[1]["id"]
    assert world.move(application["id"], rita.token, stages[0]["id"], screening).status == 200
    rejected = world.api.post(
        f"/applications/{application['id']}/reject",
        {"rejection_reason_id": DEFAULT_REASON, "email": {"send": False}},
        token=rita.token,
    )
    assert rejected.status == 200, rejected.body

    reply = put_stages(world, job["id"], kept(stages[:1] + stages[2:]), rita.token)

    assert reply.status == 200, reply.body
    back = world.api.post(f"/applications/{application['id']}/unreject", {}, token=rita.token)
    assert back.status == 200, back.body
    assert (back.body["application"]["status"], back.body["application"]["stage"]["id"]) == ("applied", stages[0]["id"])


def test_only_the_jobs_recruiters_and_admins_change_its_stages(world, rita):
    job = world.fresh_job(rita)
    stages = world.stages(job["id"], rita.token)
    renamed = [{**kept(stages)[0], "name": "New"}, *kept(stages)[1:]]
    assert_error(put_stages(world, job["id"], renamed, world["olga"].token), 403, "forbidden")
    reply = put_stages(world, job["id"], renamed, world["admin"].token)
    assert reply.status == 200, reply.body
    first = reply.body["items"][0]
    assert (first["id"], first["name"], first["kind"]) == (stages[0]["id"], "New", "applied")


# --- Templates --------------------------------------------------------------------------------------

TEMPLATE = [
    ("New", "applied"),
    ("Phone", "screening"),
    ("Onsite", "screening"),
    ("Offer", "selected"),
    ("Hired", "hired"),
]


def make_template(world, name="Engineering", stages=TEMPLATE):
    body = {"name": name, "stages": [{"name": n, "kind": k} for n, k in stages]}
    return world.api.post("/pipeline-templates", body, token=world["admin"].token)


def test_an_admin_creates_and_lists_pipeline_templates(world):
    reply = make_template(world, "Listed")

    assert reply.status == 201, reply.body
    template = reply.body["pipeline_template"]
    assert template["name"] == "Listed"
    assert [(s["name"], s["kind"]) for s in template["stages"]] == TEMPLATE
    listed = world.api.get("/pipeline-templates?limit=100", token=world["admin"].token)
    assert listed.status == 200, listed.body
    assert template["id"] in {item["id"] for item in listed.body["items"]}


@pytest.mark.parametrize("who", ["rita", "candidate"])
def test_only_admins_see_or_make_templates(world, who):
    actor = world["rita"] if who == "rita" else world.candidate()
    assert_error(world.api.get("/pipeline-templates", token=actor.token), 403, "forbidden")
    body = {"name": "Mine", "stages": [{"name": "A", "kind": "applied"}, {"name": "H", "kind": "hired"}]}
    assert_error(world.api.post("/pipeline-templates", body, token=actor.token), 403, "forbidden")


def test_a_template_that_breaks_a_rule_is_422(world):
    reply = make_template(world, "Broken", [("Screen", "screening"), ("Hired", "hired")])
    assert_error(reply, 422, "validation_error")
    assert "stages.0" in error_fields(reply)


def test_a_job_made_from_a_template_takes_its_stages_with_fresh_ids(world, rita):
    template = make_template(world).body["pipeline_template"]

    first = world.fresh_job(rita, template_id=template["id"])
    second = world.fresh_job(rita, template_id=template["id"])

    one, two = world.stages(first["id"], rita.token), world.stages(second["id"], rita.token)
    assert [(s["name"], s["kind"]) for s in one] == TEMPLATE == [(s["name"], s["kind"]) for s in two]
    ids = [{s["id"] for s in stages} for stages in (template["stages"], one, two)]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2]), "every job's stages are its own"
    _, application = applied_once(world, first["id"])
    assert application["stage"] == {"id": one[0]["id"], "name": "New", "kind": "applied"}


def test_an_unknown_template_is_422_naming_template_id(world, rita):
    reply = world.api.post("/jobs", {"title": "Nope", "template_id": MISSING_ID}, token=rita.token)
    assert_error(reply, 422, "validation_error")
    assert error_fields(reply) == {"template_id"}


# --- The original change-status routes, on stages ------------------------------------------------


def change_status(world, application_id, status, token):
    return world.api.post(
        "/applications/change-status", {"application_id": application_id, "status": status}, token=token
    )


def test_change_status_moves_to_the_first_stage_of_the_kind_one_kind_forward(world, rita):
    template = make_template(world, "No shortlist").body["pipeline_template"]
    job = world.fresh_job(rita, template_id=template["id"])
    stages = world.stages(job["id"], rita.token)
    applicant, application = applied_once(world, job["id"])
    assert world.application(application["id"], rita.token)["allowed_transitions"] == ["screening", "rejected"]

    reply = change_status(world, application["id"], "screening", rita.token)

    assert reply.status == 200, reply.body
    moved = reply.body["application"]
    assert (moved["status"], moved["stage"]) == (
        "screening",
        {"id": stages[1]["id"], "name": "Phone", "kind": "screening"},
    )
    # The pipeline has no shortlisted stage: one kind forward is selected.
    assert moved["allowed_transitions"] == ["selected", "rejected"]
    error = assert_error(change_status(world, application["id"], "shortlisted", rita.token), 409, "invalid_transition")
    assert error["details"][0]["allowed"] == ["selected", "rejected"]
    assert world.move(application["id"], rita.token, stages[1]["id"], stages[2]["id"]).status == 200
    reply = change_status(world, application["id"], "selected", rita.token)
    assert reply.status == 200, reply.body
    assert reply.body["application"]["stage"] == {"id": stages[3]["id"], "name": "Offer", "kind": "selected"}
    assert world.application(application["id"], applicant.token)["stage"]["name"] == "Offer"


def test_change_status_keeps_the_forward_by_one_rule_on_the_default_pipeline(world, rita):
    job = world.fresh_job(rita)
    _, application = applied_once(world, job["id"])
    assert_error(change_status(world, application["id"], "shortlisted", rita.token), 409, "invalid_transition")
    assert_error(change_status(world, application["id"], "hired", rita.token), 409, "invalid_transition")
    for status in ("screening", "shortlisted", "selected", "hired"):
        reply = change_status(world, application["id"], status, rita.token)
        assert (reply.status, reply.body["application"]["stage"]["kind"]) == (200, status), reply.body


# --- Moves ----------------------------------------------------------------------------------------


def test_a_move_goes_forward_and_back_to_any_stage_of_the_job(world, rita):
    job = world.fresh_job(rita)
    stages = world.stages(job["id"], rita.token)
    _applicant, application = applied_once(world, job["id"])

    forward = world.move(application["id"], rita.token, stages[0]["id"], stages[3]["id"], note="Strong")
    back = world.move(application["id"], rita.token, stages[3]["id"], stages[1]["id"])

    assert forward.status == 200, forward.body
    assert (forward.body["application"]["status"], forward.body["application"]["stage"]["id"]) == (
        "selected",
        stages[3]["id"],
    )
    assert back.status == 200, back.body
    assert (back.body["application"]["status"], back.body["application"]["stage"]["id"]) == (
        "screening",
        stages[1]["id"],
    )
    assert back.body["application"]["version"] == 3
    history = world.api.get(f"/applications/{application['id']}/history", token=rita.token).body["items"]
    assert [(e["from_stage_id"], e["to_stage_id"]) for e in history] == [
        (None, stages[0]["id"]),
        (stages[0]["id"], stages[3]["id"]),
        (stages[3]["id"], stages[1]["id"]),
    ]
    assert history[1]["note"] == "Strong"


def test_a_stale_from_stage_is_409_stage_mismatch_and_changes_nothing(world, rita):
    job = world.fresh_job(rita)
    stages = world.stages(job["id"], rita.token)
    _, application = applied_once(world, job["id"])
    assert world.move(application["id"], rita.token, stages[0]["id"], stages[1]["id"]).status == 200

    reply = world.move(application["id"], rita.token, stages[0]["id"], stages[2]["id"])

    error = assert_error(reply, 409, "stage_mismatch")
    assert error["details"][0]["field"] == "from_stage_id"
    seen = world.application(application["id"], rita.token)
    assert (seen["stage"]["id"], seen["version"]) == (stages[1]["id"], 2)


def test_a_move_to_a_stage_of_another_job_or_to_its_own_stage_is_refused(world, rita):
    job = world.fresh_job(rita)
    stages = world.stages(job["id"], rita.token)
    elsewhere = world.stages(world.fresh_job(rita)["id"], rita.token)
    _, application = applied_once(world, job["id"])

    reply = world.move(application["id"], rita.token, stages[0]["id"], elsewhere[1]["id"])
    assert_error(reply, 422, "validation_error")
    assert error_fields(reply) == {"to_stage_id"}
    assert_error(world.move(application["id"], rita.token, stages[0]["id"], stages[0]["id"]), 409)
    assert world.application(application["id"], rita.token)["version"] == 1


@pytest.mark.parametrize("outcome", ["rejected", "withdrawn", "hired"])
def test_a_rejected_withdrawn_or_hired_application_does_not_move(world, rita, outcome):
    job = world.fresh_job(rita)
    stages = world.stages(job["id"], rita.token)
    applicant, application = applied_once(world, job["id"])
    at = stages[0]["id"]
    if outcome == "rejected":
        reply = world.api.post(
            f"/applications/{application['id']}/reject", {"rejection_reason_id": DEFAULT_REASON}, token=rita.token
        )
    elif outcome == "withdrawn":
        reply = change_status(world, application["id"], "withdrawn", applicant.token)
    else:
        reply = world.move(application["id"], rita.token, at, stages[4]["id"])
        at = stages[4]["id"]
    assert reply.status == 200, reply.body
    version = reply.body["application"]["version"]

    for target in (stages[1]["id"], stages[3]["id"]):
        assert_error(world.move(application["id"], rita.token, at, target), 409)
    seen = world.application(application["id"], rita.token)
    assert (seen["status"], seen["stage"]["id"], seen["version"]) == (outcome, at, version)


@pytest.mark.parametrize("backend", ["sqlite", "dynamodb-local"], indirect=True)  # moto: not thread-safe
def test_twenty_moves_from_one_stage_at_once_one_lands_the_rest_are_stage_mismatch(world, rita):
    job = world.fresh_job(rita)
    stages = world.stages(job["id"], rita.token)
    _, application = applied_once(world, job["id"])
    gateway = Gateway()
    targets = [stages[1 + i % 3]["id"] for i in range(CLIENTS)]  # screening, shortlisted, selected
    path = f"/applications/{application['id']}/move"

    outcomes = race(
        *(
            partial(gateway.call, "POST", path, {"from_stage_id": stages[0]["id"], "to_stage_id": t}, token=rita.token)
            for t in targets
        )
    )

    assert sorted(status for status, _ in outcomes) == [200] + [409] * (CLIENTS - 1), outcomes
    assert {body["error"]["code"] for status, body in outcomes if status == 409} == {"stage_mismatch"}
    [(winner, landed)] = [(t, body) for t, (status, body) in zip(targets, outcomes, strict=True) if status == 200]
    assert landed["application"]["stage"]["id"] == winner and landed["application"]["version"] == 2
    visits = world.api.get(f"/applications/{application['id']}/stages", token=rita.token).body["items"]
    assert [v["stage_id"] for v in visits] == [stages[0]["id"], winner]
    history = world.api.get(f"/applications/{application['id']}/history", token=rita.token).body["items"]
    assert len(history) == 2
    f = funnel(world, job["id"], rita.token)
    expected = {s["id"]: (0, 0) for s in stages} | {stages[0]["id"]: (0, 1), winner: (1, 1)}
    assert {stage["stage_id"]: (stage["current"], stage["entered"]) for stage in f["stages"]} == expected


# --- Visits ------------------------------------------------------------------------------------------


def test_the_visits_record_each_stage_with_its_times_and_who_moved_it(world, rita):
    job = world.fresh_job(rita)
    stages = world.stages(job["id"], rita.token)
    applicant, application = applied_once(world, job["id"])
    assert world.move(application["id"], rita.token, stages[0]["id"], stages[1]["id"]).status == 200
    assert world.move(application["id"], world["admin"].token, stages[1]["id"], stages[2]["id"]).status == 200

    reply = world.api.get(f"/applications/{application['id']}/stages", token=applicant.token)

    assert reply.status == 200, reply.body
    assert reply.body["next_cursor"] is None
    visits = reply.body["items"]
    assert [(v["stage_id"], v["name"], v["kind"], v["moved_by"]) for v in visits] == [
        (stages[0]["id"], "Applied", "applied", applicant.id),
        (stages[1]["id"], "Screening", "screening", rita.id),
        (stages[2]["id"], "Shortlisted", "shortlisted", world["admin"].id),
    ]
    for visit, following in itertools.pairwise(visits):
        assert visit["exited_at"] == following["entered_at"]
        assert visit["entered_at"] <= visit["exited_at"]
    assert all(v["entered_at"].endswith("Z") for v in visits)
    assert visits[-1]["exited_at"] is None
    assert all(isinstance(v["seconds"], int) and v["seconds"] >= 0 for v in visits)


def test_a_rejection_ends_the_visit_and_unreject_opens_a_new_one(world, rita):
    job = world.fresh_job(rita)
    stages = world.stages(job["id"], rita.token)
    _, application = applied_once(world, job["id"])
    path = f"/applications/{application['id']}"
    assert world.api.post(f"{path}/reject", {"rejection_reason_id": DEFAULT_REASON}, token=rita.token).status == 200
    visits = world.api.get(f"{path}/stages", token=rita.token).body["items"]
    assert len(visits) == 1 and visits[0]["exited_at"] is not None
    assert world.api.post(f"{path}/unreject", {}, token=rita.token).status == 200
    visits = world.api.get(f"{path}/stages", token=rita.token).body["items"]
    assert [(v["stage_id"], v["exited_at"] is None) for v in visits] == [
        (stages[0]["id"], False),
        (stages[0]["id"], True),
    ]


# --- Funnel ------------------------------------------------------------------------------------------


def test_the_funnel_counts_current_and_entered_per_stage_and_the_outcomes(world, rita):
    job = world.fresh_job(rita)
    stages = world.stages(job["id"], rita.token)
    empty = funnel(world, job["id"], rita.token)
    assert empty == {
        "stages": [
            {
                "stage_id": s["id"],
                "name": s["name"],
                "kind": s["kind"],
                "current": 0,
                "entered": 0,
                "median_seconds": None,
            }
            for s in stages
        ],
        "rejected": 0,
        "withdrawn": 0,
        "hired": 0,
        "median_seconds_to_hire": None,
    }
    people = [applied_once(world, job["id"]) for _ in range(4)]
    (_, hired), (_, rejected), (quitter, withdrawn), (_, _waiting) = people
    for target in (1, 2, 3, 4):
        assert world.move(hired["id"], rita.token, stages[target - 1]["id"], stages[target]["id"]).status == 200
    assert world.move(rejected["id"], rita.token, stages[0]["id"], stages[1]["id"]).status == 200
    assert (
        world.api.post(
            f"/applications/{rejected['id']}/reject", {"rejection_reason_id": DEFAULT_REASON}, token=rita.token
        ).status
        == 200
    )
    assert change_status(world, withdrawn["id"], "withdrawn", quitter.token).status == 200

    f = funnel(world, job["id"], rita.token)

    assert by_stage(f) == {
        "Applied": (1, 4),  # the waiting one now; all four entered it
        "Screening": (0, 2),
        "Shortlisted": (0, 1),
        "Selected": (0, 1),
        "Hired": (1, 1),
    }
    assert (f["rejected"], f["withdrawn"], f["hired"]) == (1, 1, 1)
    medians = {stage["name"]: stage["median_seconds"] for stage in f["stages"]}
    # A stage's median is of its ended visits: the applied, screening, shortlisted and selected
    # visits ended; nobody left hired.
    assert all(isinstance(medians[name], int) for name in ("Applied", "Screening", "Shortlisted", "Selected")), medians
    assert medians["Hired"] is None
    assert isinstance(f["median_seconds_to_hire"], int)


@pytest.mark.parametrize("who", ["olga", "candidate"])
def test_the_funnel_is_the_teams(world, rita, who):
    job = world.fresh_job(rita)
    actor = world["olga"] if who == "olga" else world.candidate()
    assert_error(world.api.get(f"/jobs/{job['id']}/funnel", token=actor.token), 403, "forbidden")
    assert_error(world.api.get(f"/jobs/{MISSING_ID}/funnel", token=actor.token), 404, "not_found")


def test_a_stage_change_under_a_stale_if_match_is_412(world, rita):
    job = world.fresh_job(rita)
    stages = world.stages(job["id"], rita.token)
    renamed = [{**kept(stages)[0], "name": "First"}, *kept(stages)[1:]]
    assert put_stages(world, job["id"], renamed, rita.token).status == 200  # version 2 now
    reply = world.api.put(
        f"/jobs/{job['id']}/stages", {"stages": kept(stages)}, token=rita.token, headers={"if-match": '"1"'}
    )
    assert_error(reply, 412, "precondition_failed")
    assert world.stages(job["id"], rita.token)[0]["name"] == "First"
