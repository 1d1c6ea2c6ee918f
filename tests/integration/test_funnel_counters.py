"""A job's funnel counters under concurrent moves: twenty clients released together, each moving
another application of the same job, lose no update to the counters, on SQLite and on DynamoDB
Local (moto is left out: it runs transactions one at a time, so it proves nothing about races).

Each client calls the app the way `chalice local` serves it (tests/api/helpers.py: Gateway, race).
"""

from functools import partial

import pytest

from tests.api.helpers import Gateway, race

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "dynamodb-local"], indirect=True)
CLIENTS = 20


def funnel(api, job_id: str, token: str) -> dict[str, tuple[int, int]]:
    """Stage name -> (current, entered)."""
    reply = api.get(f"/jobs/{job_id}/funnel", token=token)
    assert reply.status == 200, reply.body
    return {stage["name"]: (stage["current"], stage["entered"]) for stage in reply.body["funnel"]["stages"]}


def test_concurrent_moves_of_one_jobs_applications_lose_no_counter_update(api):
    _, token = api.signup("rita@example.com", "recruiter")
    job = api.create_job(token, title="Platform Engineer")
    stages = {stage["name"]: stage["id"] for stage in api.get(f"/jobs/{job['id']}/stages", token=token).body["items"]}
    applications = [api.apply(api.signup(f"c{i}@example.com")[1], job["id"])["id"] for i in range(CLIENTS)]
    gateway = Gateway()

    def move(application_id: str, source: str, target: str):
        body = {"from_stage_id": stages[source], "to_stage_id": stages[target]}
        return gateway.call("POST", f"/applications/{application_id}/move", body, token=token)

    # Every application forward at once, then half of them forward again and half back, at once.
    first = race(*(partial(move, a, "Applied", "Screening") for a in applications))
    assert [status for status, _ in first] == [200] * CLIENTS, first
    half = CLIENTS // 2
    second = race(
        *(partial(move, a, "Screening", "Shortlisted") for a in applications[:half]),
        *(partial(move, a, "Screening", "Applied") for a in applications[half:]),
    )
    assert [status for status, _ in second] == [200] * CLIENTS, second

    assert funnel(api, job["id"], token) == {
        "Applied": (CLIENTS - half, CLIENTS),
        "Screening": (0, CLIENTS),
        "Shortlisted": (half, half),
        "Selected": (0, 0),
        "Hired": (0, 0),
    }
