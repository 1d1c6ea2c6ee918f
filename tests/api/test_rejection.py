"""Rejection (API.md §2): the reasons (staff read them, admins keep them), rejecting with a
reason, a note and the candidate's email, unreject, and what stays internal: the `note`, the
`reason` and the `rejection_reason_id` never reach the candidate, in no answer, no history and no
email (the embedded default's .eml files), while the team sees them. On every backend, one store
per backend and module (pipeline_world.py)."""

import json

import pytest

from .helpers import MISSING_ID, assert_error, error_fields
from .pipeline_world import World, backend, mail_files, mails_to, module_api  # noqa: F401

REASON_KEYS = {"id", "name", "type", "version", "created_at", "updated_at"}
NOTE = "NOTE-internal-weak-on-sql"
REASON_NAME = "REASON-internal-salary-too-high"
CHANGE_REASON = "REASON-internal-culture"
MOVE_NOTE = "NOTE-internal-moved-after-debrief"
MESSAGE = "We enjoyed meeting you and hope to see you apply again."


@pytest.fixture(scope="module")
def world(module_api, backend):  # noqa: F811
    w = World(module_api, backend)
    w.person("rita")
    w.admin()
    w.person("carl", "candidate")
    return w


@pytest.fixture
def rita(world):
    return world["rita"]


def reasons(world, token) -> list[dict]:
    reply = world.api.get("/rejection-reasons?limit=100", token=token)
    assert reply.status == 200, reply.body
    return reply.body["items"]


def default_other(world) -> dict:
    return next(r for r in reasons(world, world["rita"].token) if r["type"] == "other")


def new_reason(world, name: str, type_: str = "we_rejected") -> dict:
    reply = world.api.post("/rejection-reasons", {"name": name, "type": type_}, token=world["admin"].token)
    assert reply.status == 201, reply.body
    return reply.body["rejection_reason"]


def applied(world, rita):
    job = world.fresh_job(rita, title="Site Reliability Engineer")
    applicant = world.candidate()
    return job, applicant, world.api.apply(applicant.token, job["id"])


def reject(world, application_id, token, **body):
    return world.api.post(f"/applications/{application_id}/reject", body, token=token)


# --- The reasons -----------------------------------------------------------------------------------


def test_staff_read_the_default_set_which_has_an_other_reason(world):
    for token in (world["rita"].token, world["admin"].token):
        items = reasons(world, token)
        assert all(set(item) == REASON_KEYS for item in items), items
        assert {item["type"] for item in items} >= {"we_rejected", "they_withdrew", "other"}
        assert len(items) >= 6
        assert [item["name"] for item in items if item["type"] == "other"][:1] == ["Other"]


def test_a_candidate_may_not_read_the_reasons(world):
    assert_error(world.api.get("/rejection-reasons", token=world["carl"].token), 403, "forbidden")
    some = default_other(world)["id"]
    assert_error(world.api.get(f"/rejection-reasons/{some}", token=world["carl"].token), 404)


def test_an_admin_adds_a_reason_and_staff_then_see_it(world):
    reply = world.api.post(
        "/rejection-reasons", {"name": "Relocation refused", "type": "they_withdrew"}, token=world["admin"].token
    )

    assert reply.status == 201, reply.body
    reason = reply.body["rejection_reason"]
    assert (reason["name"], reason["type"], reason["version"]) == ("Relocation refused", "they_withdrew", 1)
    assert reply.headers["etag"] == '"1"'
    assert reason["id"] in {item["id"] for item in reasons(world, world["rita"].token)}
    one = world.api.get(f"/rejection-reasons/{reason['id']}", token=world["rita"].token)
    assert (one.status, one.body["rejection_reason"], one.headers["etag"]) == (200, reason, '"1"')


@pytest.mark.parametrize("who", ["rita", "carl"])
def test_only_admins_add_or_change_reasons(world, who):
    reason = new_reason(world, f"Kept by admins {who}")
    token = world[who].token
    assert_error(world.api.post("/rejection-reasons", {"name": "Mine", "type": "other"}, token=token), 403, "forbidden")
    assert_error(world.api.patch(f"/rejection-reasons/{reason['id']}", {"name": "Mine"}, token=token), 403, "forbidden")
    assert (
        world.api.get(f"/rejection-reasons/{reason['id']}", token=world["admin"].token).body["rejection_reason"]
        == reason
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "type": "rude"}, "type"),
        ({"type": "other"}, "name"),
        ({"name": "X", "type": "other", "z": 1}, "z"),
    ],
)
def test_a_malformed_reason_is_422_naming_the_field(world, body, field):
    reply = world.api.post("/rejection-reasons", body, token=world["admin"].token)
    assert_error(reply, 422)
    assert field in error_fields(reply)


def test_patch_renames_a_reason_under_if_match(world):
    reason = new_reason(world, "Before")
    path = f"/rejection-reasons/{reason['id']}"
    admin = world["admin"].token

    stale = world.api.patch(path, {"name": "Stale"}, token=admin, headers={"if-match": '"7"'})
    assert_error(stale, 412, "precondition_failed")
    reply = world.api.patch(path, {"name": "After", "type": "other"}, token=admin, headers={"if-match": '"1"'})

    assert reply.status == 200, reply.body
    changed = reply.body["rejection_reason"]
    assert (changed["name"], changed["type"], changed["version"], reply.headers["etag"]) == ("After", "other", 2, '"2"')
    assert_error(world.api.patch(path, {"name": "Again"}, token=admin, headers={"if-match": '"1"'}), 412)
    assert world.api.get(path, token=admin).body["rejection_reason"]["name"] == "After"
    assert_error(world.api.patch(f"/rejection-reasons/{MISSING_ID}", {"name": "X"}, token=admin), 404)


def test_an_admin_may_rename_a_default_reason(world):
    other = default_other(world)
    path = f"/rejection-reasons/{other['id']}"
    reply = world.api.patch(path, {"name": "Something else"}, token=world["admin"].token)
    assert reply.status == 200, reply.body
    assert reply.body["rejection_reason"]["id"] == other["id"]
    back = world.api.patch(path, {"name": "Other"}, token=world["admin"].token)
    assert back.status == 200, back.body
    assert default_other(world)["name"] == "Other"


# --- Reject ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason_id", [None, MISSING_ID])
def test_reject_needs_a_known_reason(world, rita, reason_id):
    _, _, application = applied(world, rita)
    body = {} if reason_id is None else {"rejection_reason_id": reason_id}

    reply = reject(world, application["id"], rita.token, **body)

    assert_error(reply, 422, "validation_error")
    assert error_fields(reply) == {"rejection_reason_id"}
    assert world.application(application["id"], rita.token)["status"] == "applied"


def test_a_rejection_keeps_its_reason_and_note_for_the_team(world, rita):
    _, _, application = applied(world, rita)
    reason = new_reason(world, "Team only")

    reply = reject(world, application["id"], rita.token, rejection_reason_id=reason["id"], note=NOTE)

    assert reply.status == 200, reply.body
    seen = reply.body["application"]
    assert (seen["status"], seen["rejection_reason_id"]) == ("rejected", reason["id"])
    assert seen["stage"]["kind"] == "applied"  # the stage it was rejected in, kept beside the outcome
    history = world.api.get(f"/applications/{application['id']}/history", token=rita.token).body["items"]
    assert (history[-1]["to_status"], history[-1]["note"], history[-1]["rejection_reason_id"]) == (
        "rejected",
        NOTE,
        reason["id"],
    )


def test_what_the_team_writes_never_reaches_the_candidate(world, rita):
    job, applicant, application = applied(world, rita)
    stages = world.stages(job["id"], rita.token)
    reason = new_reason(world, REASON_NAME)
    before = mail_files(world.settings)
    moved = world.move(application["id"], rita.token, stages[0]["id"], stages[1]["id"], note=MOVE_NOTE)
    assert moved.status == 200, moved.body

    reply = reject(
        world,
        application["id"],
        rita.token,
        rejection_reason_id=reason["id"],
        note=NOTE,
        email={"send": True, "message": MESSAGE},
    )

    assert reply.status == 200, reply.body
    secrets = (NOTE, MOVE_NOTE, REASON_NAME, reason["id"])
    # The candidate's answers: the application, its list, its history.
    own = world.application(application["id"], applicant.token)
    assert (own["status"], own["rejection_reason_id"]) == ("rejected", None)
    listed = world.api.get("/applications", token=applicant.token).body["items"]
    history = world.api.get(f"/applications/{application['id']}/history", token=applicant.token).body["items"]
    assert [entry["to_status"] for entry in history] == ["applied", "screening", "rejected"]
    assert all((e["note"], e["reason"], e["rejection_reason_id"]) == (None, None, None) for e in history), history
    for answer in (own, listed, history):
        text = json.dumps(answer)
        assert not [secret for secret in secrets if secret in text], text
    # The candidate's emails: the stage email, and the rejection with the team's message.
    emails = mails_to(world.settings, applicant.id, before)
    templates = [message["X-ATS-Template"] for _, message, _ in emails]
    assert templates == ["status_screening", "rejection"], templates
    for raw, _, text in emails:
        assert not [secret for secret in secrets if secret in text or secret.encode() in raw], text
    assert MESSAGE in emails[-1][2]
    # The team sees what it wrote.
    team_history = world.api.get(f"/applications/{application['id']}/history", token=rita.token).body["items"]
    assert [(e["note"], e["rejection_reason_id"]) for e in team_history[1:]] == [
        (MOVE_NOTE, None),
        (NOTE, reason["id"]),
    ]
    assert world.application(application["id"], rita.token)["rejection_reason_id"] == reason["id"]


def test_the_original_routes_reason_never_reaches_the_candidate(world, rita):
    _, applicant, application = applied(world, rita)
    before = mail_files(world.settings)

    reply = world.api.post(
        "/applications/change-status",
        {"application_id": application["id"], "status": "rejected", "reason": CHANGE_REASON},
        token=rita.token,
    )

    assert reply.status == 200, reply.body
    assert world.application(application["id"], applicant.token)["rejection_reason_id"] is None
    history = world.api.get(f"/applications/{application['id']}/history", token=applicant.token).body["items"]
    assert CHANGE_REASON not in json.dumps(history) and history[-1]["reason"] is None
    emails = mails_to(world.settings, applicant.id, before)
    assert [message["X-ATS-Template"] for _, message, _ in emails] == ["rejection"]
    assert all(CHANGE_REASON not in text and CHANGE_REASON.encode() not in raw for raw, _, text in emails)
    team = world.api.get(f"/applications/{application['id']}/history", token=rita.token).body["items"]
    assert team[-1]["reason"] == CHANGE_REASON


def test_the_original_routes_reject_with_the_default_reason_of_type_other(world, rita):
    _, _, application = applied(world, rita)
    other = default_other(world)

    reply = world.api.post(f"/applications/{application['id']}/transition", {"status": "rejected"}, token=rita.token)

    assert reply.status == 200, reply.body
    assert (reply.body["application"]["status"], reply.body["application"]["rejection_reason_id"]) == (
        "rejected",
        other["id"],
    )


def test_no_email_when_send_is_false(world, rita):
    _, applicant, application = applied(world, rita)
    before = mail_files(world.settings)

    reply = reject(
        world, application["id"], rita.token, rejection_reason_id=default_other(world)["id"], email={"send": False}
    )

    assert reply.status == 200, reply.body
    assert mails_to(world.settings, applicant.id, before) == []
    assert mail_files(world.settings) == before


def test_a_rejection_without_a_message_still_tells_the_candidate(world, rita):
    _, applicant, application = applied(world, rita)
    before = mail_files(world.settings)
    assert reject(world, application["id"], rita.token, rejection_reason_id=default_other(world)["id"]).status == 200
    [(_, message, text)] = mails_to(world.settings, applicant.id, before)
    assert message["X-ATS-Template"] == "rejection" and "Site Reliability Engineer" in message["Subject"]
    assert "not to move forward" in text and "A message from the team" not in text


# --- Unreject --------------------------------------------------------------------------------------


@pytest.mark.parametrize("send", [False, True])
def test_unreject_returns_to_the_stage_it_was_rejected_in(world, rita, send):
    job, applicant, application = applied(world, rita)
    stages = world.stages(job["id"], rita.token)
    assert world.move(application["id"], rita.token, stages[0]["id"], stages[2]["id"]).status == 200
    rejected = reject(
        world, application["id"], rita.token, rejection_reason_id=default_other(world)["id"], email={"send": send}
    )
    assert rejected.status == 200, rejected.body
    assert rejected.body["application"]["stage"]["id"] == stages[2]["id"]

    reply = world.api.post(f"/applications/{application['id']}/unreject", {"note": NOTE}, token=rita.token)

    assert reply.status == 200, reply.body
    back = reply.body["application"]
    assert (back["status"], back["stage"]["id"], back["rejection_reason_id"]) == ("shortlisted", stages[2]["id"], None)
    history = world.api.get(f"/applications/{application['id']}/history", token=applicant.token).body["items"]
    assert [e["to_status"] for e in history][-2:] == ["rejected", "shortlisted"]
    assert NOTE not in json.dumps(history)
    funnel = world.api.get(f"/jobs/{job['id']}/funnel", token=rita.token).body["funnel"]
    assert funnel["rejected"] == 0
    assert [s["current"] for s in funnel["stages"]] == [0, 0, 1, 0, 0]


def test_only_a_rejected_application_is_unrejected(world, rita):
    _, _, application = applied(world, rita)
    assert_error(world.api.post(f"/applications/{application['id']}/unreject", {}, token=rita.token), 409)


def test_a_rejected_application_is_not_rejected_again(world, rita):
    _, _, application = applied(world, rita)
    reason = default_other(world)["id"]
    assert reject(world, application["id"], rita.token, rejection_reason_id=reason, email={"send": False}).status == 200
    assert_error(reject(world, application["id"], rita.token, rejection_reason_id=reason), 409)
