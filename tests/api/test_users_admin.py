"""The admins' users: GET /users (filters, pages), GET /users/{id} (whole for admins, staff for
staff) and PATCH /users/{id} (role, active; never the last active admin), on every backend."""

import base64
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest

from chalicelib.services.context import context_for
from tests.conftest import settle_email

from .conftest import PASSWORD
from .helpers import MISSING_ID, Actor, Gateway, assert_error, error_fields, ids, race, walk, with_query

USER_KEYS = {"id", "email", "name", "role", "phone", "timezone", "active", "email_verified", "created_at"}
STAFF_KEYS = {"id", "name", "email", "role"}


def make_admin(api, uow_factory, settings, email: str, name: str = "Admin") -> Actor:
    """An admin as `cli create-admin` makes one, signed in once its welcome email is delivered:
    moto's tables are not thread-safe, and the delivery thread writes the outbox as a login commits."""
    from chalicelib.services.users import create_admin

    user = create_admin(context_for(uow_factory(), settings), email=email, password=PASSWORD, name=name)
    settle_email()
    return Actor({"id": user.id, "email": user.email, "role": "admin"}, api.login(email, PASSWORD))


def listed(api, admin, **params) -> list[str]:
    return ids(api.get(with_query("/users", limit=100, **params), token=admin.token))


def user_as_admin_sees(api, admin, user_id: str) -> dict:
    reply = api.get(f"/users/{user_id}", token=admin.token)
    assert reply.status == 200, reply.body
    return reply.body["user"]


def patch(api, token: str, user_id: str, body: dict):
    return api.patch(f"/users/{user_id}", body, token=token)


def login(api, email: str):
    return api.post("/auth/login", {"email": email, "password": PASSWORD})


def works_as_admin(api, actor) -> bool:
    return api.get("/users", token=actor.token).status == 200


# --- GET /users ------------------------------------------------------------------------------------


def test_an_admin_lists_every_user_newest_first(api, admin):
    rita = api.register("rita@example.com", "recruiter")
    carl = api.register("carl@example.com")

    reply = api.get("/users", token=admin.token)

    assert ids(reply) == [carl["id"], rita["id"], admin.id]
    assert reply.body["next_cursor"] is None


def test_each_listed_user_carries_the_account_fields(api, admin, candidate):
    items = {item["id"]: item for item in api.get("/users", token=admin.token).body["items"]}

    assert all(set(item) == USER_KEYS for item in items.values()), items
    carl = items[candidate.id]
    assert (carl["email"], carl["name"], carl["role"]) == ("carl@example.com", "carl", "candidate")
    assert (carl["active"], carl["email_verified"], carl["phone"], carl["timezone"]) == (True, False, None, None)
    assert carl == api.get("/auth/me", token=candidate.token).body["user"]


@pytest.mark.parametrize("who", ["recruiter", "candidate"])
def test_only_admins_list_users(api, request, who):
    actor = request.getfixturevalue(who)
    assert_error(api.get("/users", token=actor.token), 403, "forbidden")


def test_listing_users_needs_a_sign_in(api, admin):
    assert_error(api.get("/users"), 401, "not_authenticated")


@pytest.mark.parametrize("role", ["candidate", "recruiter", "admin"])
def test_the_role_filter_lists_that_role_alone(api, admin, role):
    made = {
        "candidate": [api.register(f"c{i}@example.com")["id"] for i in range(2)],
        "recruiter": [api.register(f"r{i}@example.com", "recruiter")["id"] for i in range(2)],
        "admin": [admin.id],
    }
    assert listed(api, admin, role=role) == sorted(made[role], reverse=True)


def test_the_active_filter_splits_active_from_deactivated(api, admin, recruiter, candidate, other_candidate):
    assert patch(api, admin.token, candidate.id, {"active": False}).status == 200

    assert listed(api, admin, active="false") == [candidate.id]
    assert listed(api, admin, active="true") == [other_candidate.id, recruiter.id, admin.id]


def test_role_and_active_filters_combine(api, admin, recruiter, candidate, other_candidate):
    patch(api, admin.token, candidate.id, {"active": False})

    assert listed(api, admin, role="candidate", active="true") == [other_candidate.id]
    assert listed(api, admin, role="recruiter", active="false") == []


@pytest.mark.parametrize(
    "q, expected",
    [
        ("zoe", {"zoe", "bob"}),  # Zoe's name, Bob's email
        ("ZOE", {"zoe", "bob"}),  # any case
        ("Zoe Q", {"zoe"}),  # a prefix of the whole name
        ("zq@", {"zoe"}),  # a prefix of the email
        ("bob", {"bob"}),
        ("quinn", set()),  # the middle of a name is no prefix
        ("oe", set()),  # nor is the middle of a word
        ("example.com", set()),  # nor the domain of an email
        ("zoey", set()),  # longer than what is there
        ("%", set()),  # no wildcard: a literal prefix
        ("z_e", set()),
        ("éLO", {"élodie"}),  # any case beyond ASCII
    ],
)
def test_q_matches_a_prefix_of_the_name_or_the_email_in_any_case(api, admin, q, expected):
    made = {
        "zoe": api.register("zq@example.com", name="Zoe Quinn")["id"],
        "bob": api.register("zoe.b@example.com", "recruiter", name="Bob Builder")["id"],
        "ann": api.register("ann@example.com", name="Ann Zoellner")["id"],
        "élodie": api.register("ed@example.com", name="Élodie Durand")["id"],
    }
    found = set(listed(api, admin, q=q))
    assert found == {made[name] for name in expected}


def test_q_finds_a_user_by_the_name_they_changed_to_and_not_by_the_old_one(api, admin):
    zoe = api.register("zq@example.com", name="Zoe Quinn")
    api.patch("/auth/me", {"name": "Xavier Young"}, token=api.login("zq@example.com"))

    assert listed(api, admin, q="xav") == [zoe["id"]]
    assert listed(api, admin, q="zoe") == []
    assert listed(api, admin, q="zq") == [zoe["id"]]  # the email stays


def test_q_combines_with_the_role_filter(api, admin):
    api.register("zq@example.com", name="Zoe Quinn")
    bob = api.register("zoe.b@example.com", "recruiter", name="Bob Builder")

    assert listed(api, admin, q="zoe", role="recruiter") == [bob["id"]]


@pytest.mark.parametrize(
    "limit, filters, count",
    [
        (1, {}, 10),
        (2, {}, 10),
        (3, {}, 10),
        (1, {"role": "candidate"}, 5),
        (2, {"q": "p"}, 5),
        (2, {"active": "true", "q": "P"}, 4),
        (1, {"active": "false"}, 1),
    ],
)
def test_walking_the_pages_serves_every_user_once(api, admin, limit, filters, count):
    for i in range(4):
        api.register(f"pat{i}@example.com")  # q=p matches these
        api.register(f"rob{i}@example.com", "recruiter")
    gone = api.register("pia@example.com")
    patch(api, admin.token, gone["id"], {"active": False})
    whole = listed(api, admin, **filters)
    assert len(whole) == count

    pages = walk(api, "/users", token=admin.token, limit=limit, **filters)

    served = [user_id for page in pages for user_id in page]
    assert served == whole and len(set(served)) == len(served)  # nothing twice, nothing missed, in order
    assert all(1 <= len(page) <= limit for page in pages), pages


def test_a_search_reads_a_bounded_page_and_goes_on_by_its_cursor(api, admin, small_bound):
    pat = api.register("pat@example.com", name="Pat Oldest")["id"]
    for i in range(2 * small_bound):  # newer, and not what is asked for
        api.register(f"rob{i}@example.com", name=f"Rob {i}")

    pages = walk(api, "/users", token=admin.token, q="pat", role="candidate", active="true")

    assert pages[0] == [] and pages[-1] == [pat] and len(pages) == 3  # 5 read, 5 read, then Pat
    assert [user for page in pages for user in page] == [pat]


@pytest.mark.parametrize(
    "query, field",
    [
        ("role=boss", "role"),
        ("role=Admin", "role"),
        ("active=maybe", "active"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("q=", "q"),
        ("rol=admin", "rol"),  # an unknown parameter
        ("email=ada@example.com", "email"),
    ],
)
def test_a_bad_query_parameter_is_422_naming_it(api, admin, query, field):
    reply = api.get(f"/users?{query}", token=admin.token)

    assert_error(reply, 422, "validation_error")
    assert field in error_fields(reply)


def forged(last_id: str, signature: str = "AAAAAAAAAAAAAAAA") -> str:
    """A cursor as the API makes one (base64 of `<last id>.<signature>`), not signed by it."""
    return base64.urlsafe_b64encode(f"{last_id}.{signature}".encode()).decode().rstrip("=")


def signed_elsewhere(last_id: str) -> str:
    from chalicelib.services.pagination import encode_cursor

    return encode_cursor("not this deployment's secret", last_id)


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "a" * 200, forged(MISSING_ID), forged("not-an-id"), signed_elsewhere(MISSING_ID)],
    ids=["garbage", "long", "unsigned", "no-id", "other-secret"],
)
def test_a_cursor_this_api_did_not_issue_is_400(api, admin, cursor):
    reply = api.get(with_query("/users", cursor=cursor), token=admin.token)

    assert_error(reply, 400, "invalid_cursor")
    assert error_fields(reply) == {"cursor"}


def test_a_cursor_changed_in_one_character_is_400(api, admin, recruiter, candidate):
    cursor = api.get("/users?limit=1", token=admin.token).body["next_cursor"]
    middle = len(cursor) // 2
    tampered = cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]

    assert_error(api.get(with_query("/users", cursor=tampered), token=admin.token), 400, "invalid_cursor")


# --- GET /users/{id} -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["candidate", "recruiter", "admin"])
def test_an_admin_sees_the_whole_user(api, request, admin, who):
    target = request.getfixturevalue(who)

    user = user_as_admin_sees(api, admin, target.id)

    assert set(user) == USER_KEYS
    assert user == api.get("/auth/me", token=target.token).body["user"]


@pytest.mark.parametrize("who", ["other_recruiter", "admin"])
def test_a_recruiter_sees_only_the_name_email_and_role_of_staff(api, request, recruiter, who):
    target = request.getfixturevalue(who)

    reply = api.get(f"/users/{target.id}", token=recruiter.token)

    assert reply.status == 200, reply.body
    name, role = {"other_recruiter": ("olga", "recruiter"), "admin": ("Ada", "admin")}[who]
    assert reply.body == {"user": {"id": target.id, "name": name, "email": target.user["email"], "role": role}}


def test_a_recruiter_sees_themself_as_staff_sees_staff(api, recruiter):
    reply = api.get(f"/users/{recruiter.id}", token=recruiter.token)
    assert reply.status == 200 and set(reply.body["user"]) == STAFF_KEYS


def test_a_recruiter_gets_404_for_a_candidate(api, recruiter, candidate):
    assert_error(api.get(f"/users/{candidate.id}", token=recruiter.token), 404, "not_found")


def test_a_recruiter_gets_404_for_deactivated_staff_whom_an_admin_still_sees(api, admin, recruiter, other_recruiter):
    patch(api, admin.token, other_recruiter.id, {"active": False})

    assert_error(api.get(f"/users/{other_recruiter.id}", token=recruiter.token), 404, "not_found")
    assert user_as_admin_sees(api, admin, other_recruiter.id)["active"] is False


@pytest.mark.parametrize("who", ["candidate", "other_candidate", "recruiter", "admin"])
def test_a_candidate_gets_404_for_anyone_even_themself(api, request, candidate, who):
    target = request.getfixturevalue(who)
    assert_error(api.get(f"/users/{target.id}", token=candidate.token), 404, "not_found")


def test_an_unknown_user_is_404(api, admin):
    assert_error(api.get(f"/users/{MISSING_ID}", token=admin.token), 404, "not_found")


@pytest.mark.parametrize("user_id", ["not-an-id", "01hzzzzzzzzzzzzzzzzzzzzzzz", "8" + MISSING_ID[1:], MISSING_ID + "Z"])
def test_a_malformed_user_id_is_404_in_the_error_shape(api, admin, user_id):
    assert_error(api.get(f"/users/{user_id}", token=admin.token), 404, "not_found")
    assert_error(api.patch(f"/users/{user_id}", {"active": False}, token=admin.token), 404, "not_found")


def test_seeing_a_user_needs_a_sign_in(api, admin):
    assert_error(api.get(f"/users/{admin.id}"), 401, "not_authenticated")


# --- PATCH /users/{id}: the role -----------------------------------------------------------------


def test_an_admin_changes_a_role_and_gets_the_whole_user(api, admin, candidate):
    reply = patch(api, admin.token, candidate.id, {"role": "recruiter"})

    assert reply.status == 200, reply.body
    assert set(reply.body["user"]) == USER_KEYS
    assert (reply.body["user"]["id"], reply.body["user"]["role"]) == (candidate.id, "recruiter")
    assert user_as_admin_sees(api, admin, candidate.id) == reply.body["user"]


def test_a_promoted_candidate_acts_as_a_recruiter_on_their_next_request(api, admin, candidate):
    assert_error(api.post("/jobs/create", {"title": "Not Yet"}, token=candidate.token), 403, "forbidden")

    patch(api, admin.token, candidate.id, {"role": "recruiter"})

    created = api.post("/jobs/create", {"title": "Now Then"}, token=candidate.token)  # the same token
    assert created.status == 201, created.body
    assert api.get("/auth/me", token=candidate.token).body["user"]["role"] == "recruiter"


def test_a_demoted_recruiter_loses_the_recruiters_rights_at_once(api, admin, recruiter):
    patch(api, admin.token, recruiter.id, {"role": "candidate"})
    assert_error(api.post("/jobs/create", {"title": "Too Late"}, token=recruiter.token), 403, "forbidden")


def test_a_promoted_user_is_listed_under_the_new_role_alone(api, admin, candidate, other_candidate):
    patch(api, admin.token, candidate.id, {"role": "recruiter"})

    assert listed(api, admin, role="recruiter") == [candidate.id]
    assert listed(api, admin, role="candidate") == [other_candidate.id]


def test_a_candidate_promoted_to_admin_lists_users(api, admin, candidate):
    patch(api, admin.token, candidate.id, {"role": "admin"})
    assert works_as_admin(api, candidate)


@pytest.mark.parametrize("who", ["recruiter", "candidate"])
@pytest.mark.parametrize("body", [{"role": "admin"}, {"active": False}])
def test_only_admins_change_users_even_themselves(api, request, admin, who, body):
    actor = request.getfixturevalue(who)
    before = user_as_admin_sees(api, admin, actor.id)

    assert_error(patch(api, actor.token, actor.id, body), 403, "forbidden")
    assert_error(patch(api, actor.token, admin.id, body), 403, "forbidden")
    assert user_as_admin_sees(api, admin, actor.id) == before
    assert works_as_admin(api, admin)


def test_changing_a_user_needs_a_sign_in(api, admin, candidate):
    assert_error(api.patch(f"/users/{candidate.id}", {"role": "recruiter"}), 401, "not_authenticated")


def test_changing_an_unknown_user_is_404(api, admin):
    assert_error(patch(api, admin.token, MISSING_ID, {"role": "recruiter"}), 404, "not_found")


def test_an_empty_change_changes_nothing(api, admin, candidate):
    before = user_as_admin_sees(api, admin, candidate.id)
    reply = patch(api, admin.token, candidate.id, {})
    assert reply.status == 200 and reply.body["user"] == before == user_as_admin_sees(api, admin, candidate.id)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"email": "new@example.com"}, "email"),
        ({"name": "New Name"}, "name"),
        ({"password_hash": "x"}, "password_hash"),
        ({"role": None}, "role"),
        ({"active": None}, "active"),
        ({"role": "boss"}, "role"),
        ({"role": "ADMIN"}, "role"),
        ({"role": 1}, "role"),
        ({"active": "false"}, "active"),  # a body is strict: a string is no boolean
        ({"active": 0}, "active"),
        ({"role": "recruiter", "active": "no"}, "active"),  # a valid field beside it is not written either
    ],
)
def test_a_bad_change_is_422_naming_the_field_and_changes_nothing(api, admin, candidate, body, field):
    before = user_as_admin_sees(api, admin, candidate.id)

    reply = patch(api, admin.token, candidate.id, body)

    assert_error(reply, 422, "validation_error")
    assert field in error_fields(reply)
    assert user_as_admin_sees(api, admin, candidate.id) == before
    assert api.get("/auth/me", token=candidate.token).status == 200


# --- PATCH /users/{id}: deactivating and reactivating ----------------------------------------------


def test_deactivating_answers_the_user_inactive(api, admin, candidate):
    reply = patch(api, admin.token, candidate.id, {"active": False})
    assert reply.status == 200, reply.body
    assert (reply.body["user"]["id"], reply.body["user"]["active"]) == (candidate.id, False)


@pytest.mark.parametrize(
    "method, path, body",
    [("GET", "/auth/me", None), ("GET", "/applications", None), ("POST", "/jobs/create", {"title": "Gone"})],
)
def test_deactivating_refuses_the_users_access_token_at_once_on_every_route(api, admin, recruiter, method, path, body):
    assert api.call(method, path, body, token=recruiter.token).status in (200, 201)  # good until now

    patch(api, admin.token, recruiter.id, {"active": False})

    assert_error(api.call(method, path, body, token=recruiter.token), 401, "invalid_token")


def test_deactivating_refuses_the_users_refresh_token(api, admin, candidate):
    refresh_token = login(api, candidate.user["email"]).body["refresh_token"]

    patch(api, admin.token, candidate.id, {"active": False})

    assert_error(api.post("/auth/refresh", {"refresh_token": refresh_token}), 401, "invalid_token")


def test_a_deactivated_user_cannot_log_in_with_the_right_password(api, admin, candidate):
    patch(api, admin.token, candidate.id, {"active": False})
    assert_error(login(api, candidate.user["email"]), 401, "invalid_credentials")


def test_a_deactivated_user_is_listed_inactive(api, admin, candidate):
    patch(api, admin.token, candidate.id, {"active": False})

    assert user_as_admin_sees(api, admin, candidate.id)["active"] is False
    items = {item["id"]: item for item in api.get("/users", token=admin.token).body["items"]}
    assert items[candidate.id]["active"] is False
    assert candidate.id in listed(api, admin, active="false")
    assert candidate.id not in listed(api, admin, active="true")


def test_deactivating_twice_is_no_error(api, admin, candidate):
    patch(api, admin.token, candidate.id, {"active": False})
    reply = patch(api, admin.token, candidate.id, {"active": False})
    assert reply.status == 200 and reply.body["user"]["active"] is False


def test_reactivating_lets_the_user_log_in_again(api, admin, candidate):
    patch(api, admin.token, candidate.id, {"active": False})

    reply = patch(api, admin.token, candidate.id, {"active": True})

    assert reply.status == 200 and reply.body["user"]["active"] is True
    fresh = login(api, candidate.user["email"])
    assert fresh.status == 200, fresh.body
    assert api.get("/auth/me", token=fresh.body["access_token"]).status == 200
    assert listed(api, admin, active="true", role="candidate") == [candidate.id]


def test_reactivating_does_not_bring_the_old_tokens_back(api, admin, candidate):
    refresh_token = login(api, candidate.user["email"]).body["refresh_token"]
    patch(api, admin.token, candidate.id, {"active": False})

    patch(api, admin.token, candidate.id, {"active": True})

    assert_error(api.get("/auth/me", token=candidate.token), 401, "invalid_token")
    assert_error(api.post("/auth/refresh", {"refresh_token": refresh_token}), 401, "invalid_token")


def test_deactivating_one_user_leaves_the_others_signed_in(api, admin, candidate, other_candidate):
    patch(api, admin.token, candidate.id, {"active": False})
    assert api.get("/auth/me", token=other_candidate.token).status == 200


# --- The last active admin -------------------------------------------------------------------------


@pytest.mark.parametrize("body", [{"active": False}, {"role": "recruiter"}, {"role": "candidate"}])
def test_the_last_active_admin_is_neither_deactivated_nor_demoted(api, admin, recruiter, body):
    before = user_as_admin_sees(api, admin, admin.id)

    assert_error(patch(api, admin.token, admin.id, body), 409, "last_admin")

    assert user_as_admin_sees(api, admin, admin.id) == before
    assert works_as_admin(api, admin)
    assert login(api, admin.user["email"]).status == 200


def test_the_last_admin_may_send_what_keeps_them_admin(api, admin):
    reply = patch(api, admin.token, admin.id, {"role": "admin", "active": True})
    assert reply.status == 200 and (reply.body["user"]["role"], reply.body["user"]["active"]) == ("admin", True)


@pytest.mark.parametrize("body", [{"role": "recruiter"}, {"active": False}])
def test_of_two_admins_one_may_demote_the_other_but_not_then_themself(api, uow_factory, settings, admin, body):
    other = make_admin(api, uow_factory, settings, "grace@example.com", "Grace")

    assert patch(api, admin.token, other.id, body).status == 200
    assert not works_as_admin(api, other)

    assert_error(patch(api, admin.token, admin.id, {"role": "recruiter"}), 409, "last_admin")
    assert_error(patch(api, admin.token, admin.id, {"active": False}), 409, "last_admin")
    assert listed(api, admin, role="admin", active="true") == [admin.id]


def test_of_two_admins_one_may_demote_themself(api, uow_factory, settings, admin):
    other = make_admin(api, uow_factory, settings, "grace@example.com", "Grace")

    assert patch(api, admin.token, admin.id, {"role": "recruiter"}).status == 200

    assert_error(api.get("/users", token=admin.token), 403, "forbidden")
    assert_error(patch(api, other.token, other.id, {"active": False}), 409, "last_admin")


def test_a_deactivated_admin_is_no_other_admin(api, uow_factory, settings, admin):
    other = make_admin(api, uow_factory, settings, "grace@example.com", "Grace")
    patch(api, admin.token, other.id, {"active": False})

    assert listed(api, admin, role="admin", active="false") == [other.id]
    assert_error(patch(api, admin.token, admin.id, {"role": "candidate"}), 409, "last_admin")


# --- Two admins demoting each other at once ---------------------------------------------------------
# Not on moto: it checks a transaction's conditions and applies its writes without a lock, so two
# transactions at once both land (tests/api/test_races.py leaves it out too).

RACING_BACKENDS = pytest.mark.parametrize("backend", ["sqlite", "dynamodb-local"], indirect=True)
ROUNDS = 5
CHANGES = pytest.mark.parametrize("change", [{"role": "recruiter"}, {"active": False}], ids=["demote", "deactivate"])


def only_admins(api, uow_factory, settings, before: Actor, round_: int) -> tuple[Actor, Actor]:
    """Two new admins, and the admin before them deactivated: the two are the only active admins."""
    a = make_admin(api, uow_factory, settings, f"a{round_}@example.com")
    b = make_admin(api, uow_factory, settings, f"b{round_}@example.com")
    assert patch(api, a.token, before.id, {"active": False}).status == 200
    assert listed(api, a, role="admin", active="true") == [b.id, a.id]
    return a, b


def demote_each_other(gateway, a: Actor, b: Actor, change: dict) -> list:
    return race(
        partial(gateway.call, "PATCH", f"/users/{b.id}", change, token=a.token),
        partial(gateway.call, "PATCH", f"/users/{a.id}", change, token=b.token),
    )


def hold_the_next_two_checks(monkeypatch, check):
    """Each of the next two last-admin checks waits, once it ran, until the other ran too: both
    demotions found the other admin active before either committed."""
    from chalicelib.services import users

    barrier, calls = threading.Barrier(2, timeout=10), itertools.count()

    def held(uow, leaving):
        check(uow, leaving)
        if next(calls) < 2:  # not a retry's
            barrier.wait()

    monkeypatch.setattr(users, "_keep_another_admin", held)


@RACING_BACKENDS
@CHANGES
def test_two_admins_who_both_checked_before_either_committed_one_wins_the_other_is_409(
    api, uow_factory, settings, monkeypatch, admin, change
):
    """Each demotion read the other admin as active: the check made at commit lets only one land."""
    from chalicelib.services import users

    gateway, check, before = Gateway(), users._keep_another_admin, admin
    for round_ in range(ROUNDS):
        a, b = only_admins(api, uow_factory, settings, before, round_)
        hold_the_next_two_checks(monkeypatch, check)

        outcomes = demote_each_other(gateway, a, b, change)

        monkeypatch.setattr(users, "_keep_another_admin", check)
        assert sorted(status for status, _ in outcomes) == [200, 409], (round_, outcomes)
        [refused] = [body for status, body in outcomes if status == 409]
        assert refused["error"]["code"] == "last_admin", refused
        winner, loser = (a, b) if outcomes[0][0] == 200 else (b, a)
        assert listed(api, winner, role="admin", active="true") == [winner.id], round_
        assert works_as_admin(api, winner) and not works_as_admin(api, loser)
        before = winner


@RACING_BACKENDS
@CHANGES
def test_two_admins_demoting_each_other_at_once_leave_exactly_one_admin(api, uow_factory, settings, admin, change):
    """The loser is refused by the last-admin check (409), or, if the winner committed before the
    loser's request was let in, as the non-admin it now is (403) or as a deactivated user (401)."""
    gateway, before = Gateway(), admin
    late = (403, "forbidden") if "role" in change else (401, "invalid_token")
    for round_ in range(ROUNDS):
        a, b = only_admins(api, uow_factory, settings, before, round_)

        outcomes = demote_each_other(gateway, a, b, change)

        statuses = sorted(status for status, _ in outcomes)
        assert statuses[0] == 200 != statuses[1], (round_, outcomes)  # one won, and one alone
        [(status, refused)] = [(status, body) for status, body in outcomes if status != 200]
        assert (status, refused["error"]["code"]) in {(409, "last_admin"), late}, (round_, outcomes)
        winner, loser = (a, b) if outcomes[0][0] == 200 else (b, a)
        assert listed(api, winner, role="admin", active="true") == [winner.id], round_
        assert works_as_admin(api, winner) and not works_as_admin(api, loser)
        before = winner


# --- A request in flight while its user changes -----------------------------------------------------


@pytest.mark.parametrize(
    "change, method, path, body, refused",
    [
        ({"active": False}, "GET", "/auth/me", None, (401, "invalid_token")),
        ({"role": "candidate"}, "POST", "/jobs/create", {"title": "Too Late"}, (403, "forbidden")),
    ],
    ids=["deactivated", "demoted"],
)
def test_a_request_in_flight_during_the_change_does_not_let_the_next_one_in_as_before(
    api, monkeypatch, admin, recruiter, change, method, path, body, refused
):
    """A request that read the account just before the change, and is still running after it,
    must not make the user's next request act on the account as it was (services/users.py
    keeps an account read for a few seconds: the change must not leave the old read there)."""
    from chalicelib.storage.repositories import Users

    read, release, get = threading.Event(), threading.Event(), Users.get

    def held(self, user_id):
        user = get(self, user_id)
        if user_id == recruiter.id and threading.current_thread().name.startswith("in-flight") and not read.is_set():
            read.set()  # its sign-in read the account: hold it there until the change is made
            assert release.wait(10), "never released"
        return user

    monkeypatch.setattr(Users, "get", held)
    with ThreadPoolExecutor(1, thread_name_prefix="in-flight") as pool:
        in_flight = pool.submit(Gateway().call, "GET", "/auth/me", token=recruiter.token)
        assert read.wait(10)
        assert patch(api, admin.token, recruiter.id, change).status == 200
        release.set()
        assert in_flight.result()[0] == 200  # it came in before the change

    assert_error(api.call(method, path, body, token=recruiter.token), *refused)
