"""What an application shows its readers: its candidate, its job, the history's actors, the moves the
caller may make, and the history paged like every list."""

import pytest

from .helpers import assert_error, walk, with_query


def test_staff_see_the_candidate_and_the_candidate_sees_the_job(api, recruiter, admin, candidate, job, application):
    for who in (recruiter, admin, candidate):
        seen = api.get(f"/applications/{application['id']}", token=who.token).body["application"]
        assert seen["candidate"] == {"id": candidate.id, "name": "carl", "email": "carl@example.com"}
        assert seen["job"] == {"id": job["id"], "title": "Platform Engineer", "status": "open", "deleted_at": None}


@pytest.mark.parametrize("change", ["close", "delete"])
def test_the_candidate_keeps_seeing_the_job_after_it_closed_or_was_deleted(
    api, recruiter, candidate, job, application, change
):
    if change == "close":
        assert api.put(f"/jobs/{job['id']}", {"status": "closed"}, token=recruiter.token).status == 200
    else:
        assert api.delete(f"/jobs/{job['id']}", token=recruiter.token).status == 204
    seen = api.get(f"/applications/{application['id']}", token=candidate.token).body["application"]
    assert (seen["job"]["id"], seen["job"]["title"]) == (job["id"], "Platform Engineer")
    assert seen["job"]["status"] == ("closed" if change == "close" else "open")
    assert (seen["job"]["deleted_at"] is None) == (change == "close")
    [listed] = api.get("/applications", token=candidate.token).body["items"]
    assert listed["job"] == seen["job"]
    if change == "close":  # the job itself stays readable to whoever applied to it
        assert api.get(f"/jobs/{job['id']}", token=candidate.token).body["job"]["status"] == "closed"


def test_a_closed_job_stays_hidden_from_candidates_who_did_not_apply(api, recruiter, other_candidate, job, application):
    assert api.put(f"/jobs/{job['id']}", {"status": "closed"}, token=recruiter.token).status == 200
    assert_error(api.get(f"/jobs/{job['id']}", token=other_candidate.token), 404)
    assert_error(api.get(f"/jobs/{job['id']}"), 404)


def test_list_pages_show_each_application_with_its_candidate_and_job(api, recruiter, job):
    people = [api.signup(f"cand{n}@example.com") for n in range(3)]
    for _, token in people:
        api.apply(token, job["id"])
    items = api.get("/applications", token=recruiter.token).body["items"]
    assert sorted(item["candidate"]["email"] for item in items) == [f"cand{n}@example.com" for n in range(3)]
    assert {item["job"]["title"] for item in items} == {"Platform Engineer"}
    assert all(item["allowed_transitions"] == ["screening", "rejected"] for item in items)


def test_history_shows_who_made_each_change(api, recruiter, candidate, application):
    api.post(
        "/applications/change-status",
        {"application_id": application["id"], "status": "screening"},
        token=recruiter.token,
    )
    items = api.get(f"/applications/{application['id']}/history", token=candidate.token).body["items"]
    assert [item["actor"] for item in items] == [
        {"id": candidate.id, "name": "carl", "role": "candidate"},
        {"id": recruiter.id, "name": "rita", "role": "recruiter"},
    ]


@pytest.mark.parametrize("backend", ["moto", "dynamodb-local"], indirect=True)  # SQLite has no round trips
def test_a_list_page_reads_its_people_and_jobs_in_batches(api, recruiter, no_dynamodb_scan):
    """No round trip per item: a page of 12 applications to 3 jobs costs the same calls as a page of 3."""
    jobs = [api.create_job(recruiter.token, title=f"Job {n}") for n in range(3)]

    def calls_for_page(size: int) -> dict:
        no_dynamodb_scan.clear()
        reply = api.get(with_query("/applications", limit=size), token=recruiter.token)
        assert len(reply.body["items"]) == size
        return {name: no_dynamodb_scan.count(name) for name in set(no_dynamodb_scan)}

    for n in range(12):
        api.apply(api.signup(f"many{n}@example.com")[1], jobs[n % 3]["id"])
    small, large = calls_for_page(3), calls_for_page(12)
    # The caller's own account is read at most once, when its few seconds of trust have run out.
    assert small.pop("GetItem", 0) <= 1 and large.pop("GetItem", 0) <= 1
    assert large == small


# --- the history, paged ------------------------------------------------------------------------


def test_history_pages_oldest_first(api, recruiter, candidate, application):
    for status in ("screening", "shortlisted", "selected", "hired"):
        api.post(
            "/applications/change-status",
            {"application_id": application["id"], "status": status},
            token=recruiter.token,
        )
    pages = walk(api, f"/applications/{application['id']}/history", token=candidate.token, limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    every = [entry_id for page in pages for entry_id in page]
    assert every == sorted(every)
    whole = api.get(f"/applications/{application['id']}/history", token=candidate.token).body
    assert [item["id"] for item in whole["items"]] == every and whole["next_cursor"] is None


@pytest.mark.parametrize(
    "query,status,field",
    [
        ({"limit": 0}, 422, "limit"),
        ({"limit": 101}, 422, "limit"),
        ({"limit": "many"}, 422, "limit"),
        ({"cursor": "zzz"}, 400, "cursor"),
    ],
)
def test_history_refuses_a_bad_limit_or_cursor(api, candidate, application, query, status, field):
    reply = api.get(with_query(f"/applications/{application['id']}/history", **query), token=candidate.token)
    error = assert_error(reply, status)
    assert field in {detail["field"] for detail in error["details"]}


def test_the_openapi_document_describes_the_history_query(api):
    operation = api.get("/openapi.json").body["paths"]["/applications/{application_id}/history"]["get"]
    assert {"limit", "cursor"} <= {parameter["name"] for parameter in operation["parameters"]}
