"""The service side of Idempotency-Key (chalicelib/services/idempotency.py), on the memory driver."""

import json
import logging

import pytest

from chalicelib.domain.errors import Conflict, Unavailable, ValidationFailed
from chalicelib.domain.models import Principal, Role
from chalicelib.services import idempotency, jobs, users
from chalicelib.services.context import context_for
from chalicelib.services.idempotency import LEASE_SECONDS, TTL_SECONDS, Claim, Replay
from chalicelib.storage.stores import IdempotencyClaims
from tests.conftest import Clock

SCOPE = "01HUSER:create_job"


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(IdempotencyClaims, "clock", staticmethod(clock))
    return clock


def begin(uow, settings, key="key-1", fingerprint="fp-1", scope=SCOPE) -> Claim:
    return idempotency.begin(context_for(uow(), settings), scope=scope, key=key, fingerprint=fingerprint)


# --- begin / finish / abandon ---------------------------------------------------------------------


def test_a_new_key_may_run(uow, settings):
    claim = begin(uow, settings)
    assert claim.replay is None
    assert claim.record_key == idempotency.record_key(SCOPE, "key-1")


def test_a_retry_while_the_first_request_runs_is_a_conflict(uow, settings):
    begin(uow, settings)
    with pytest.raises(Conflict) as raised:
        begin(uow, settings)
    assert raised.value.code == "idempotency_in_progress"


def test_a_finished_request_is_replayed_with_its_status_body_and_headers(uow, settings, clock):
    claim = begin(uow, settings)
    idempotency.finish(
        context_for(uow(), settings),
        claim,
        status=201,
        body='{"job": {"id": "01J"}}',
        headers={"Content-Type": "application/json", "ETag": '"1"', "X-Request-Id": "r1"},
    )
    clock.advance(TTL_SECONDS - 1)
    again = begin(uow, settings)
    assert again == Claim(
        claim.record_key,
        Replay(201, '{"job": {"id": "01J"}}', {"Content-Type": "application/json", "ETag": '"1"'}),
        None,
    )


def test_the_same_key_for_a_different_request_is_refused(uow, settings):
    claim = begin(uow, settings)
    with pytest.raises(ValidationFailed) as raised:
        begin(uow, settings, fingerprint="fp-2")  # while it runs
    assert raised.value.code == "idempotency_key_reused"
    assert raised.value.details[0]["field"] == "Idempotency-Key"
    idempotency.finish(context_for(uow(), settings), claim, status=201, body="{}", headers={})
    with pytest.raises(ValidationFailed) as raised:
        begin(uow, settings, fingerprint="fp-2")  # once it is done
    assert raised.value.code == "idempotency_key_reused"


@pytest.mark.parametrize("status", [400, 404, 409, 422, 500, 503])
def test_an_answer_other_than_2xx_is_not_stored(uow, settings, status):
    claim = begin(uow, settings)
    idempotency.finish(context_for(uow(), settings), claim, status=status, body='{"error": {}}', headers={})
    assert begin(uow, settings).replay is None  # the retry runs afresh
    assert begin(uow, settings, key="key-2", fingerprint="fp-2").replay is None


def test_an_abandoned_claim_lets_a_retry_run_at_once(uow, settings):
    claim = begin(uow, settings)
    idempotency.abandon(context_for(uow(), settings), claim)
    assert begin(uow, settings, fingerprint="fp-2").replay is None  # even a different request


def test_a_claim_whose_request_died_is_taken_over_after_its_lease(uow, settings, clock):
    begin(uow, settings)
    clock.advance(LEASE_SECONDS - 1)
    with pytest.raises(Conflict):
        begin(uow, settings)
    clock.advance(1)
    assert begin(uow, settings).replay is None


def test_a_response_is_forgotten_after_the_ttl(uow, settings, clock):
    claim = begin(uow, settings)
    idempotency.finish(context_for(uow(), settings), claim, status=201, body="{}", headers={})
    clock.advance(TTL_SECONDS)
    assert begin(uow, settings).replay is None


def test_keys_are_scoped_to_the_caller_and_the_operation(uow, settings):
    claim = begin(uow, settings)
    idempotency.finish(context_for(uow(), settings), claim, status=201, body="{}", headers={})
    assert begin(uow, settings, scope="01HOTHER:create_job").replay is None
    assert begin(uow, settings, scope="anonymous:register").replay is None
    assert len({idempotency.record_key(s, "key-1") for s in (SCOPE, "01HOTHER:create_job", "x")}) == 3


def test_bodies_are_stored_as_text(uow, settings):
    claim = begin(uow, settings, key="dict")
    idempotency.finish(context_for(uow(), settings), claim, status=200, body={"a": 1}, headers=None)
    assert json.loads(begin(uow, settings, key="dict").replay.body) == {"a": 1}
    claim = begin(uow, settings, key="bytes")
    idempotency.finish(context_for(uow(), settings), claim, status=201, body=b'{"b": 2}', headers={})
    assert begin(uow, settings, key="bytes").replay.body == '{"b": 2}'


# --- The key header -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["", "x" * 256, "caf\u00e9", "line\nbreak", "tab\there", "\x7f", None],
    ids=["empty", "too-long", "non-ascii", "newline", "tab", "del", "none"],
)
def test_a_malformed_key_is_refused_naming_the_header(uow, settings, key, store):
    with pytest.raises(ValidationFailed) as raised:
        begin(uow, settings, key=key)
    assert raised.value.code == "validation_error"
    assert raised.value.details == [{"field": "Idempotency-Key", "message": "1 to 255 printable ASCII characters"}]
    assert store.idempotency == {}


@pytest.mark.parametrize("key", ["a", "x" * 255, "550e8400-e29b-41d4-a716-446655440000", "with space ~!#"])
def test_well_formed_keys_are_accepted(uow, settings, key):
    assert begin(uow, settings, key=key).replay is None


def test_a_first_request_that_outlived_its_lease_leaves_the_retrys_claim_alone(uow, settings, clock, caplog):
    first = begin(uow, settings)
    clock.advance(LEASE_SECONDS)
    retry = begin(uow, settings)  # the first seemed dead: the retry runs
    assert retry.replay is None and retry.token != first.token
    with caplog.at_level(logging.WARNING, logger="ats.idempotency"):
        idempotency.finish(context_for(uow(), settings), first, status=201, body='"first"', headers={})
        idempotency.abandon(context_for(uow(), settings), first)
    assert "took its claim over" in caplog.text
    with pytest.raises(Conflict):  # the retry still holds the key
        begin(uow, settings)
    idempotency.finish(context_for(uow(), settings), retry, status=201, body='"retry"', headers={})
    assert begin(uow, settings).replay.body == '"retry"'


# --- Storage failures -----------------------------------------------------------------------------


class BrokenIdempotency(IdempotencyClaims):
    def complete(self, *args, **kwargs):
        raise Unavailable("Storage is unavailable: test")

    def release(self, *args, **kwargs):
        raise Unavailable("Storage is unavailable: test")


def test_finish_and_abandon_never_raise_they_log(store, settings, caplog):
    broken = store.unit_of_work()
    broken.idempotency = BrokenIdempotency(store.items)
    claim = idempotency.begin(context_for(broken, settings), scope=SCOPE, key="k", fingerprint="fp")
    with caplog.at_level(logging.WARNING, logger="ats.idempotency"):
        idempotency.finish(context_for(broken, settings), claim, status=201, body="{}", headers={})
        idempotency.abandon(context_for(broken, settings), claim)
        idempotency.finish(context_for(broken, settings), claim, status=500, body="{}", headers={})
    assert len(caplog.records) == 3 and all("unavailable" in r.getMessage() for r in caplog.records)


def test_begin_reports_storage_failures(store, settings):
    class Down(IdempotencyClaims):
        def claim(self, *args, **kwargs):
            raise Unavailable("Storage is unavailable: test")

    down = store.unit_of_work()
    down.idempotency = Down(store.items)
    with pytest.raises(Unavailable):
        idempotency.begin(context_for(down, settings), scope=SCOPE, key="k", fingerprint="fp")


# --- Around a real create -------------------------------------------------------------------------


def test_a_retried_create_returns_the_first_response_and_creates_nothing_more(uow, settings, store):
    recruiter = users.register(
        context_for(uow(), settings), email="rita@example.com", password="correct horse battery", role=Role.RECRUITER
    )
    who = Principal(recruiter.id, recruiter.role)

    def post_job(key: str, body: dict) -> tuple[int, str]:
        """What the HTTP layer does around the create_job view."""
        raw = json.dumps(body)
        claim = idempotency.begin(
            context_for(uow(), settings), scope=f"{who.user_id}:create_job", key=key, fingerprint=str(hash(raw))
        )
        if claim.replay is not None:
            return claim.replay.status, claim.replay.body
        try:
            job = jobs.create_job(context_for(uow(), settings, who), **body)
        except BaseException:
            idempotency.abandon(context_for(uow(), settings), claim)
            raise
        answer = json.dumps({"job": {"id": job.id, "title": job.title}})
        idempotency.finish(context_for(uow(), settings), claim, status=201, body=answer, headers={})
        return 201, answer

    first = post_job("retry-me", {"title": "Engineer"})
    assert post_job("retry-me", {"title": "Engineer"}) == first
    assert post_job("retry-me", {"title": "Engineer"}) == first
    assert len(store.jobs) == 1
    assert post_job("another", {"title": "Engineer"}) != first
    assert len(store.jobs) == 2
