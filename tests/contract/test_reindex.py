"""`cli reindex`: items written before their entity gained an index (users before GET /users) are
listed once it has run, on every backend, and a second run changes nothing."""

from chalicelib import cli
from chalicelib.storage.items import Put
from chalicelib.storage.records import UserQuery
from tests.conftest import DYNAMODB_CALLS

# A user as stored before users had an index, lookups and revocation fields.
OLD_USER = {
    "PK": "USER#01HZZZZZZZZZZZZZZZZZZZZZZ1",
    "SK": "USER",
    "type": "User",
    "id": "01HZZZZZZZZZZZZZZZZZZZZZZ1",
    "email": "Old.Timer@example.com",
    "name": "Old Timer",
    "role": "recruiter",
    "password_hash": "hash",
    "created_at": "2024-01-01T00:00:00Z",
}


def test_reindex_lists_the_users_stored_before_the_index(uow_factory, capsys):
    uow = uow_factory()
    uow.storage.items.write(Put(dict(OLD_USER)))
    assert uow.users.page(UserQuery(), limit=10) == []  # in no list yet
    assert uow.users.get(OLD_USER["id"]).email == "Old.Timer@example.com"  # but read as it is

    assert cli.main(["reindex"]) == 0
    DYNAMODB_CALLS.clear()  # a maintenance command's Scan, not a list's
    assert "1 User" in capsys.readouterr().out
    (listed,) = uow.users.page(UserQuery(role="recruiter", active=True, q="old"), limit=10)
    assert (listed.id, listed.token_generation, listed.revoked_sessions) == (OLD_USER["id"], 0, {})
    assert uow.users.page(UserQuery(q="old.timer@"), limit=10) == [listed]

    assert cli.main(["reindex"]) == 0
    DYNAMODB_CALLS.clear()
    assert "0 User" in capsys.readouterr().out
