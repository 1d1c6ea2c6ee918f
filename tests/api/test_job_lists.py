"""GET /jobs/list (and GET /jobs): visibility, filters, cursor pages."""

import pytest

from .helpers import assert_error, ids, walk, with_query

LIST_PATHS = ["/jobs/list", "/jobs"]


@pytest.fixture
def board(api, recruiter, other_recruiter):
    """Jobs of two recruiters in every status, made in this order (so newest first is the reverse)."""
    made = {}
    for name, owner, fields in [
        ("rita_open_berlin", recruiter, dict(title="Python Engineer", location="Berlin", department="Platform")),
        ("rita_draft", recruiter, dict(title="Python Lead", status="draft", location="Berlin")),
        ("olga_open_paris", other_recruiter, dict(title="Data Scientist", location="Paris", department="Data")),
        ("olga_draft", other_recruiter, dict(title="Python Intern", status="draft")),
        ("rita_closed", recruiter, dict(title="Designer", status="closed")),
        ("olga_closed", other_recruiter, dict(title="Writer", status="closed")),
        ("olga_open_berlin", other_recruiter, dict(title="PYTHON Architect", location="Berlin", department="Data")),
    ]:
        made[name] = api.create_job(owner.token, **fields)["id"]
    return made


def newest_first(board, *names):
    return sorted((board[name] for name in names), reverse=True)


OPEN = ("rita_open_berlin", "olga_open_paris", "olga_open_berlin")


@pytest.mark.parametrize("path", LIST_PATHS)
@pytest.mark.parametrize("who", [None, "candidate"])
def test_anonymous_and_candidates_see_open_jobs_newest_first(api, request, board, path, who):
    token = request.getfixturevalue(who).token if who else None
    assert ids(api.get(path, token=token)) == newest_first(board, *OPEN)


@pytest.mark.parametrize("path", LIST_PATHS)
def test_a_recruiter_also_sees_own_drafts_and_closed_but_not_others(api, recruiter, board, path):
    assert ids(api.get(path, token=recruiter.token)) == newest_first(board, *OPEN, "rita_draft", "rita_closed")


def test_an_admin_sees_every_job(api, admin, board):
    assert ids(api.get("/jobs/list", token=admin.token)) == newest_first(board, *board)


@pytest.mark.parametrize(
    "status,who,expected",
    [
        ("open", None, OPEN),
        ("draft", None, ()),
        ("closed", None, ()),
        ("draft", "candidate", ()),
        ("open", "recruiter", OPEN),
        ("draft", "recruiter", ("rita_draft",)),
        ("closed", "recruiter", ("rita_closed",)),
        ("draft", "other_recruiter", ("olga_draft",)),
        ("draft", "admin", ("rita_draft", "olga_draft")),
    ],
)
def test_status_filter(api, request, board, status, who, expected):
    token = request.getfixturevalue(who).token if who else None
    assert ids(api.get(with_query("/jobs/list", status=status), token=token)) == newest_first(board, *expected)


@pytest.mark.parametrize(
    "params,who,expected",
    [
        ({"q": "python"}, None, ("rita_open_berlin", "olga_open_berlin")),
        ({"q": "PyThOn"}, "recruiter", ("rita_open_berlin", "rita_draft", "olga_open_berlin")),
        ({"q": "nothing like it"}, None, ()),
        ({"location": "Berlin"}, None, ("rita_open_berlin", "olga_open_berlin")),
        ({"location": "Berlin"}, "recruiter", ("rita_open_berlin", "rita_draft", "olga_open_berlin")),
        ({"department": "Data"}, None, ("olga_open_paris", "olga_open_berlin")),
        ({"department": "Data", "location": "Paris"}, None, ("olga_open_paris",)),
        ({"q": "python", "location": "Berlin", "department": "Platform"}, None, ("rita_open_berlin",)),
        # Every text filter ignores case alike: location and department match the whole value, q a part of the title.
        ({"location": "berlin"}, None, ("rita_open_berlin", "olga_open_berlin")),
        ({"location": "BERLIN"}, "recruiter", ("rita_open_berlin", "rita_draft", "olga_open_berlin")),
        ({"department": "dAtA"}, None, ("olga_open_paris", "olga_open_berlin")),
        ({"location": "berl"}, None, ()),
    ],
)
def test_q_location_and_department_filters(api, request, board, params, who, expected):
    token = request.getfixturevalue(who).token if who else None
    assert ids(api.get(with_query("/jobs/list", **params), token=token)) == newest_first(board, *expected)


@pytest.mark.parametrize(
    "params,expected",
    [
        ({}, ("rita_open_berlin", "rita_draft", "rita_closed")),
        ({"status": "draft"}, ("rita_draft",)),
        ({"q": "python"}, ("rita_open_berlin", "rita_draft")),
    ],
)
def test_mine_lists_the_callers_own_jobs_in_every_status(api, recruiter, board, params, expected):
    reply = api.get(with_query("/jobs/list", mine="true", **params), token=recruiter.token)
    assert ids(reply) == newest_first(board, *expected)


def test_mine_for_a_candidate_is_empty(api, candidate, board):
    assert ids(api.get("/jobs/list?mine=true", token=candidate.token)) == []


def test_mine_without_a_token_is_401(api, board):
    assert_error(api.get("/jobs/list?mine=true"), 401)


def test_deleted_jobs_are_gone_from_every_list(api, recruiter, admin, board):
    api.delete(f"/jobs/{board['rita_open_berlin']}", token=recruiter.token)
    api.delete(f"/jobs/{board['rita_draft']}", token=recruiter.token)
    for token, params in [
        (None, {}),
        (recruiter.token, {}),
        (recruiter.token, {"mine": "true"}),
        (admin.token, {}),
        (None, {"location": "Berlin"}),
    ]:
        listed = ids(api.get(with_query("/jobs/list", **params), token=token))
        assert board["rita_open_berlin"] not in listed and board["rita_draft"] not in listed


# --- pages --------------------------------------------------------------------------------------


@pytest.fixture
def many_jobs(api, recruiter):
    return [api.create_job(recruiter.token, title=f"Job {n}")["id"] for n in range(23)]


def test_default_page_is_20_with_a_cursor(api, many_jobs):
    reply = api.get("/jobs/list")
    assert ids(reply) == sorted(many_jobs, reverse=True)[:20]
    assert isinstance(reply.body["next_cursor"], str)


@pytest.mark.parametrize(
    "path,limit", [("/jobs/list", 1), ("/jobs/list", 5), ("/jobs", 22), ("/jobs/list", 23), ("/jobs", 100)]
)
def test_cursor_walks_every_job_once_newest_first(api, many_jobs, path, limit):
    pages = walk(api, path, limit=limit)
    assert [job for page in pages for job in page] == sorted(many_jobs, reverse=True)
    assert all(len(page) == limit for page in pages[:-1])
    assert len(pages) == -(-len(many_jobs) // limit)


def test_cursor_walks_a_recruiters_merged_view(api, recruiter, other_recruiter, many_jobs):
    theirs = [api.create_job(other_recruiter.token, title=f"Other {n}")["id"] for n in range(3)]
    drafts = [api.create_job(recruiter.token, title=f"Draft {n}", status="draft")["id"] for n in range(4)]
    pages = walk(api, "/jobs/list", token=recruiter.token, limit=4)
    assert [job for page in pages for job in page] == sorted(many_jobs + theirs + drafts, reverse=True)


def test_cursor_keeps_filters_across_pages(api, recruiter, many_jobs):
    wanted = [api.create_job(recruiter.token, title=f"Rust {n}", location="Oslo")["id"] for n in range(5)]
    pages = walk(api, "/jobs/list", q="rust", location="Oslo", limit=2)
    assert [job for page in pages for job in page] == sorted(wanted, reverse=True)


def test_a_job_created_while_paging_does_not_shift_the_pages(api, recruiter, many_jobs):
    first = api.get("/jobs/list?limit=10")
    api.create_job(recruiter.token, title="Newcomer")
    second = api.get(with_query("/jobs/list", limit=10, cursor=first.body["next_cursor"]))
    assert ids(second) == sorted(many_jobs, reverse=True)[10:20]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", ""])
def test_limit_outside_1_to_100_is_422(api, limit):
    reply = api.get(f"/jobs/list?limit={limit}")
    assert_error(reply, 422)
    assert reply.body["error"]["details"][0]["field"] == "limit"


@pytest.mark.parametrize("cursor", ["forged", "AAAA", "MDFIWlpaWlpaWlpaWlpaWlpaWlpaWlpaWi5hYmM"])
def test_a_forged_cursor_is_400(api, many_jobs, cursor):
    assert_error(api.get(with_query("/jobs/list", cursor=cursor)), 400, "invalid_cursor")


def test_a_tampered_cursor_is_400(api, many_jobs):
    cursor = api.get("/jobs/list?limit=3").body["next_cursor"]
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    assert_error(api.get(with_query("/jobs/list", cursor=tampered)), 400)


@pytest.mark.parametrize(
    "params,field",
    [
        ({"status": "archived"}, "status"),
        ({"q": "x" * 201}, "q"),
        ({"location": "x" * 201}, "location"),
        ({"department": "x" * 201}, "department"),
        ({"mine": "perhaps"}, "mine"),
        ({"cursor": "c" * 201}, "cursor"),
    ],
)
def test_invalid_query_parameters_are_422(api, params, field):
    reply = api.get(with_query("/jobs/list", **params))
    assert_error(reply, 422)
    assert field in {d["field"] for d in reply.body["error"]["details"]}


def test_location_and_department_ignore_case_beyond_ascii(api, recruiter):
    job = api.create_job(recruiter.token, title="Ingenieur", location="Düsseldorf", department="ÉQUIPE")
    assert ids(api.get(with_query("/jobs/list", location="DÜSSELDORF", department="équipe"))) == [job["id"]]


def full_width(text: str) -> str:
    """The text in full-width letters (what an East Asian keyboard may send)."""
    return "".join(chr(ord(letter) + 0xFEE0) for letter in text)


# --- searches: q by title words, location and department by index, a bounded read a page -------


@pytest.mark.parametrize(
    "q,expected",
    [
        ("pyth", ("rita_open_berlin", "olga_open_berlin")),  # a word's beginning
        ("pyth eng", ("rita_open_berlin",)),  # every word of q begins a word of the title
        ("ENGINEER python", ("rita_open_berlin",)),  # in any order and case
        ("ytho", ()),  # not a part of a word: the start of one
        ("python engineering", ()),
        ("sci", ("olga_open_paris",)),
        ("da", ("olga_open_paris",)),  # shorter than an index prefix: still found
        ("scientist, data!", ("olga_open_paris",)),  # punctuation is no word
    ],
)
def test_q_matches_the_beginnings_of_title_words(api, board, q, expected):
    assert ids(api.get(with_query("/jobs/list", q=q))) == newest_first(board, *expected)


def test_q_finds_words_normalised_and_with_location_or_department(api, recruiter):
    made = api.create_job(
        recruiter.token, title=full_width("Senior") + " Straße-Planner", location="Köln", department="Ops"
    )["id"]
    api.create_job(recruiter.token, title="Senior Planner", location="Bonn", department="Ops")
    assert ids(api.get(with_query("/jobs/list", q="senior STRASSE", location="KÖLN"))) == [made]
    assert ids(api.get(with_query("/jobs/list", q="planner", department="ops", location="köln"))) == [made]
    assert ids(api.get(with_query("/jobs/list", q="planner", location="Paris"))) == []


@pytest.mark.parametrize(
    "stored,asked",
    [
        ("Berlin", "  berlin "),
        (full_width("Berlin"), "Berlin"),  # NFKC
        ("Straße", "STRASSE"),  # casefolded
        ("ﷺ" * 200, "ﷺ" * 200),  # NFKC makes it 3600 UTF-8 bytes: a hash in the key
    ],
)
def test_location_and_department_match_the_normalised_whole_value(api, recruiter, stored, asked):
    made = api.create_job(recruiter.token, title="Anything", location=stored, department=stored)["id"]
    api.create_job(recruiter.token, title="Other", location=stored[:-1] + "x", department="x")
    assert ids(api.get(with_query("/jobs/list", location=asked))) == [made]
    assert ids(api.get(with_query("/jobs/list", department=asked))) == [made]
    assert ids(api.get(with_query("/jobs/list", location=asked, department=asked))) == [made]


def test_the_search_indexes_follow_a_job_changed_closed_and_deleted(api, recruiter, admin):
    job = api.create_job(recruiter.token, title="Zeppelin Pilot", location="Friedrichshafen", department="Air")
    job_id = job["id"]

    def found(token=None, **params):
        return ids(api.get(with_query("/jobs/list", **params), token=token)) == [job_id]

    assert found(q="zeppelin") and found(location="friedrichshafen") and found(department="air")
    api.put(f"/jobs/{job_id}", {"title": "Balloon Pilot", "location": "Augsburg"}, token=recruiter.token)
    assert not found(q="zeppelin") and found(q="balloon pilot") and found(q="pilot", department="air")
    assert not found(location="friedrichshafen") and found(location="augsburg")
    api.put(f"/jobs/{job_id}", {"status": "closed"}, token=recruiter.token)
    assert not found(q="balloon") and not found(location="augsburg")
    assert found(admin.token, q="balloon", status="closed") and found(admin.token, location="augsburg")
    api.put(f"/jobs/{job_id}", {"status": "open"}, token=recruiter.token)
    assert found(q="balloon")
    api.delete(f"/jobs/{job_id}", token=recruiter.token)
    assert not found(admin.token, q="balloon") and not found(admin.token, location="augsburg")


@pytest.mark.parametrize(
    "params",
    [
        {"location": "Berlin", "department": "Wanted"},  # the location's index, filtered
        {"q": "wanted"},  # the partition of "wan", filtered on the whole word
        {"q": "job wanted"},  # the same, and the other word
        {"department": "Wanted", "q": "job"},  # the partition of "job", filtered on the department
    ],
)
def test_a_filtered_page_reads_a_bounded_number_and_goes_on_by_its_cursor(api, recruiter, small_bound, params):
    wanted = [
        api.create_job(recruiter.token, title=f"Wanted Job {n}", location="Berlin", department="Wanted")["id"]
        for n in range(3)
    ]
    for n in range(12):  # newer, and not what is asked for
        api.create_job(recruiter.token, title=f"Wanting Job {n}", location="Berlin", department="Other")
    pages = walk(api, "/jobs/list", limit=2, **params)
    assert [job for page in pages for job in page] == sorted(wanted, reverse=True)
    assert pages[0] == pages[1] == [] and len(pages) == 12 // small_bound + 2  # cut short, empty, with a cursor


def test_an_empty_search_reads_one_bounded_page(api, recruiter, small_bound):
    for n in range(12):
        api.create_job(recruiter.token, title=f"Job {n}", location="Berlin", department="Other")
    for params in ({"q": "zeppelin"}, {"department": "Nowhere"}, {"q": "zeppelin job"}):
        pages = walk(api, "/jobs/list", **params)
        assert pages == [[]], params  # an empty index partition: one page, no cursor
    for params in ({"location": "Berlin", "department": "Nowhere"}, {"q": "jo zz"}):  # words under 3: no index
        pages = walk(api, "/jobs/list", **params)
        assert pages == [[]] * (12 // small_bound + 1), params  # bounded pages, each with a cursor
