"""Conditional requests (RFC 9110 §13): If-None-Match on reads (304), If-Match on writes (412 for any
version this API never issued, however it is written)."""

import pytest

from .helpers import assert_error

READS = ["job", "application"]


@pytest.fixture
def resource(api, recruiter, candidate, job, application):
    """(path of one resource, a token that may read it, its envelope key, a change that bumps its version)."""

    def read(kind):
        if kind == "job":
            return (
                f"/jobs/{job['id']}",
                recruiter.token,
                "job",
                lambda: api.put(f"/jobs/{job['id']}", {"title": "Renamed"}, token=recruiter.token),
            )
        return (
            f"/applications/{application['id']}",
            candidate.token,
            "application",
            lambda: api.post(
                f"/applications/{application['id']}/transition", {"to_state": "screening"}, token=recruiter.token
            ),
        )

    return read


@pytest.mark.parametrize("kind", READS)
@pytest.mark.parametrize("if_none_match", ['"1"', 'W/"1"', '"7", "1"', 'W/"3", W/"1"', "*", ' "1" '])
def test_if_none_match_naming_the_current_etag_is_304_without_a_body(api, resource, kind, if_none_match):
    path, token, _, _ = resource(kind)
    reply = api.get(path, token=token, headers={"if-none-match": if_none_match})
    assert (reply.status, reply.body, reply.headers["etag"]) == (304, None, '"1"')
    assert "content-type" not in reply.headers


@pytest.mark.parametrize("kind", READS)
@pytest.mark.parametrize("if_none_match", ['"2"', 'W/"7", "3"', "1", '"01"', "", "garbage"])
def test_if_none_match_naming_another_version_is_the_full_answer(api, resource, kind, if_none_match):
    path, token, key, _ = resource(kind)
    reply = api.get(path, token=token, headers={"if-none-match": if_none_match})
    assert (reply.status, reply.headers["etag"], reply.body[key]["version"]) == (200, '"1"', 1)


@pytest.mark.parametrize("kind", READS)
def test_a_copy_made_stale_by_a_change_is_sent_again(api, resource, kind):
    path, token, key, change = resource(kind)
    assert change().status == 200
    reply = api.get(path, token=token, headers={"if-none-match": '"1"'})
    assert (reply.status, reply.headers["etag"], reply.body[key]["version"]) == (200, '"2"', 2)
    assert api.get(path, token=token, headers={"if-none-match": '"2"'}).status == 304


def test_if_none_match_does_not_reveal_what_the_caller_may_not_see(api, draft_job, other_recruiter):
    for token in (None, other_recruiter.token):
        reply = api.get(f"/jobs/{draft_job['id']}", token=token, headers={"if-none-match": "*"})
        assert_error(reply, 404, "not_found")


def test_if_none_match_is_ignored_on_a_write(api, recruiter, job):
    reply = api.put(f"/jobs/{job['id']}", {"title": "Renamed"}, token=recruiter.token, headers={"if-none-match": '"1"'})
    assert (reply.status, reply.body["job"]["title"]) == (200, "Renamed")


# --- If-Match ------------------------------------------------------------------------------------

NEVER_ISSUED = [
    "5" * 5000,
    f'"{"9" * 5000}"',
    "1" * 19,
    '"0"',
    '"01"',
    'W/"1"',
    '"1", "2"',
    '"-1"',
    '"1.0"',
    '""',
    '"',
    "\x00",
]


@pytest.fixture
def writes(api, recruiter, job, application):
    """Every write that takes If-Match, as a function of the If-Match header sent."""
    return {
        "PUT /jobs/{id}": lambda tag: api.put(
            f"/jobs/{job['id']}", {"title": "Changed"}, token=recruiter.token, headers={"if-match": tag}
        ),
        "DELETE /jobs/{id}": lambda tag: api.delete(
            f"/jobs/{job['id']}", token=recruiter.token, headers={"if-match": tag}
        ),
        "transition": lambda tag: api.post(
            f"/applications/{application['id']}/transition",
            {"to_state": "screening"},
            token=recruiter.token,
            headers={"if-match": tag},
        ),
        "change-status": lambda tag: api.post(
            "/applications/change-status",
            {"application_id": application["id"], "status": "screening"},
            token=recruiter.token,
            headers={"if-match": tag},
        ),
    }


@pytest.mark.parametrize("write", ["PUT /jobs/{id}", "DELETE /jobs/{id}", "transition", "change-status"])
def test_an_if_match_this_api_never_issued_is_412_and_changes_nothing(api, writes, recruiter, job, application, write):
    for tag in NEVER_ISSUED:
        assert_error(writes[write](tag), 412, "precondition_failed")
    assert api.get(f"/jobs/{job['id']}").body["job"] == job
    assert api.get(f"/applications/{application['id']}", token=recruiter.token).body["application"]["version"] == 1


@pytest.mark.parametrize("write", ["PUT /jobs/{id}", "transition"])
@pytest.mark.parametrize("tag", ['"1"', "1", ' "1" ', "*"])
def test_the_current_version_quoted_or_bare_or_star_is_accepted(writes, write, tag):
    assert writes[write](tag).status == 200
