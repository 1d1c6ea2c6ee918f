"""GET /applications and GET /jobs/{id}/applications: who sees which, filters, cursor pages."""

import pytest

from .helpers import MISSING_ID, assert_error, ids, walk, with_query


@pytest.fixture
def applications(api, recruiter, other_recruiter, candidate, other_candidate):
    """Two recruiters' jobs, two candidates' applications; one moved to screening."""
    rita_job = api.create_job(recruiter.token, title="Rita's job")["id"]
    rita_other_job = api.create_job(recruiter.token, title="Rita's other job")["id"]
    olga_job = api.create_job(other_recruiter.token, title="Olga's job")["id"]
    made = {
        "carl_rita": api.apply(candidate.token, rita_job)["id"],
        "cleo_rita": api.apply(other_candidate.token, rita_job)["id"],
        "carl_olga": api.apply(candidate.token, olga_job)["id"],
        "carl_rita_other": api.apply(candidate.token, rita_other_job)["id"],
    }
    reply = api.post(
        "/applications/change-status",
        {"application_id": made["cleo_rita"], "status": "screening"},
        token=recruiter.token,
    )
    assert reply.status == 200
    return {**made, "rita_job": rita_job, "rita_other_job": rita_other_job, "olga_job": olga_job}


def newest_first(made, *names):
    return sorted((made[name] for name in names), reverse=True)


@pytest.mark.parametrize(
    "who,expected",
    [
        ("candidate", ("carl_rita", "carl_olga", "carl_rita_other")),
        ("other_candidate", ("cleo_rita",)),
        ("recruiter", ("carl_rita", "cleo_rita", "carl_rita_other")),
        ("other_recruiter", ("carl_olga",)),
        ("admin", ("carl_rita", "cleo_rita", "carl_olga", "carl_rita_other")),
    ],
)
def test_each_caller_lists_exactly_the_applications_theirs_to_see(api, request, applications, who, expected):
    token = request.getfixturevalue(who).token
    assert ids(api.get("/applications", token=token)) == newest_first(applications, *expected)


def test_listing_applications_without_a_token_is_401(api, applications):
    assert_error(api.get("/applications"), 401)
    assert_error(api.get(f"/jobs/{applications['rita_job']}/applications"), 401)


@pytest.mark.parametrize(
    "who,job,status,expected",
    [
        ("recruiter", "rita_job", None, ("carl_rita", "cleo_rita")),
        ("recruiter", "rita_job", "screening", ("cleo_rita",)),
        ("recruiter", "rita_job", "applied", ("carl_rita",)),
        ("recruiter", None, "applied", ("carl_rita", "carl_rita_other")),
        ("recruiter", None, "hired", ()),
        ("candidate", "rita_job", None, ("carl_rita",)),
        ("candidate", "olga_job", None, ("carl_olga",)),
        ("candidate", None, "screening", ()),
        ("other_candidate", None, "screening", ("cleo_rita",)),
        ("admin", "rita_job", "screening", ("cleo_rita",)),
    ],
)
def test_job_id_and_status_filters(api, request, applications, who, job, status, expected):
    token = request.getfixturevalue(who).token
    params = {"job_id": applications[job] if job else None, "status": status}
    assert ids(api.get(with_query("/applications", **params), token=token)) == newest_first(applications, *expected)


@pytest.mark.parametrize(
    "who,job,status",
    [
        ("recruiter", "rita_job", None),
        ("recruiter", "rita_job", "screening"),
        ("candidate", "olga_job", None),
        ("admin", "rita_job", None),
    ],
)
def test_the_job_applications_alias_equals_the_job_id_filter(api, request, applications, who, job, status):
    token = request.getfixturevalue(who).token
    by_filter = api.get(with_query("/applications", job_id=applications[job], status=status), token=token)
    by_alias = api.get(with_query(f"/jobs/{applications[job]}/applications", status=status), token=token)
    assert (by_alias.status, by_alias.body) == (200, by_filter.body)


@pytest.mark.parametrize("path", ["/applications?job_id={job}", "/jobs/{job}/applications"])
def test_a_recruiter_cannot_list_another_recruiters_job(api, other_recruiter, applications, path):
    reply = api.get(path.format(job=applications["rita_job"]), token=other_recruiter.token)
    assert_error(reply, 404, "not_found")


@pytest.mark.parametrize("path", ["/applications?job_id={job}", "/jobs/{job}/applications"])
def test_listing_an_absent_jobs_applications_is_404_for_a_recruiter(api, recruiter, path):
    assert_error(api.get(path.format(job=MISSING_ID), token=recruiter.token), 404)


@pytest.mark.parametrize(
    "params,field",
    [
        ({"status": "promoted"}, "status"),
        ({"job_id": "short"}, "job_id"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "x"}, "limit"),
    ],
)
def test_invalid_query_parameters_are_422(api, candidate, params, field):
    reply = api.get(with_query("/applications", **params), token=candidate.token)
    assert_error(reply, 422)
    assert field in {d["field"] for d in reply.body["error"]["details"]}


@pytest.mark.parametrize("path", ["/applications", "/jobs/{job}/applications"])
def test_a_forged_cursor_is_400(api, recruiter, applications, path):
    reply = api.get(with_query(path.format(job=applications["rita_job"]), cursor="forged"), token=recruiter.token)
    assert_error(reply, 400, "invalid_cursor")


def make_crowd(api, recruiter, size: int):
    """One job with `size` applications from as many candidates."""
    job = api.create_job(recruiter.token, title="Popular")["id"]
    made = [api.apply(api.signup(f"c{n}@example.com")[1], job)["id"] for n in range(size)]
    return job, made


@pytest.fixture
def crowd(api, recruiter):
    return make_crowd(api, recruiter, 9)


def test_default_page_is_20(api, recruiter):
    _, made = make_crowd(api, recruiter, 21)
    reply = api.get("/applications", token=recruiter.token)
    assert ids(reply) == sorted(made, reverse=True)[:20]
    assert reply.body["next_cursor"] is not None


@pytest.mark.parametrize(
    "path,limit",
    [
        ("/applications", 1),
        ("/applications", 4),
        ("/applications", 100),
        ("/applications?job_id={job}", 4),
        ("/jobs/{job}/applications", 9),
    ],
)
def test_cursor_walks_every_application_once_newest_first(api, recruiter, crowd, path, limit):
    job, made = crowd
    pages = walk(api, path.format(job=job), token=recruiter.token, limit=limit)
    assert [a for page in pages for a in page] == sorted(made, reverse=True)
    assert all(len(page) == limit for page in pages[:-1])


def test_a_candidates_list_by_status_reads_a_bounded_page_and_goes_on_by_its_cursor(
    api, recruiter, candidate, small_bound
):
    jobs = [api.create_job(recruiter.token, title=f"Job {n}")["id"] for n in range(2 * small_bound + 1)]
    made = [api.apply(candidate.token, job)["id"] for job in jobs]
    moved = api.post(
        "/applications/change-status", {"application_id": made[0], "status": "screening"}, token=recruiter.token
    )
    assert moved.status == 200

    pages = walk(api, "/applications", token=candidate.token, status="screening")

    assert pages == [[], [], [made[0]]]  # 5 newer read and left, 5 more, then the oldest
