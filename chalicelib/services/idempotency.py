"""`Idempotency-Key` on the create routes: a retried create gets the first response, and creates nothing.

How the HTTP layer uses it, around a view whose request carries the header:

    claim = idempotency.begin(uow, settings, scope=scope, key=header_value, fingerprint=fingerprint)
    if claim.replay is not None:              # the first request finished: answer as it did
        return Response(claim.replay.body, status_code=claim.replay.status,
                        headers={**claim.replay.headers, "Idempotent-Replayed": "true"})
    try:
        response = run_the_view()
    except BaseException:
        idempotency.abandon(uow, settings, claim)   # a retry runs afresh
        raise
    idempotency.finish(uow, settings, claim,
                       status=response.status_code, body=response.body, headers=response.headers)

- `scope` names who and what: the caller's user id (or "anonymous") and the operation (method and
  route, or the view's name), so one client's key never answers another's request or another route.
- `fingerprint` is a hash of the request (its body, at least): the same key with a different
  request is refused with 422 `idempotency_key_reused` instead of replaying a foreign answer.
- While the first request runs, a retry is refused with 409 `idempotency_in_progress`; if the
  first request dies without abandoning, its claim's lease (LEASE_SECONDS) runs out and the next
  retry runs afresh. Each claim is held under a token of its own: a first request that outlives
  its lease can neither store its response over the retry's claim nor release it.
- Only 2xx answers are stored (for TTL_SECONDS); `finish` with any other status abandons the
  claim, so a create that failed (validation, conflict, 5xx) can be retried with the same key.
- The key header is checked here: 1-255 printable ASCII characters, else 422 naming the header.

The records are written at once, outside any unit of work's commit (uow.idempotency), so `begin`
may run before the view's own unit of work and `finish` after it committed.
"""

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass

from ..domain.errors import Conflict, DomainError, ValidationFailed
from ..domain.states import IdempotencyState
from .context import Context

log = logging.getLogger("ats.idempotency")

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
LEASE_SECONDS = 60  # how long a running first request holds its key before a retry may take over
TTL_SECONDS = 24 * 3600  # how long a first response is replayed
NOT_REPLAYED_HEADERS = frozenset({"x-request-id", "date", "idempotent-replayed"})  # per response, not per resource


@dataclass(frozen=True)
class Replay:
    """The stored first response: answer the retry with exactly this."""

    status: int
    body: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Claim:
    """What `begin` found: a replay to answer with, or the right to run (replay None)."""

    record_key: str
    replay: Replay | None
    token: str | None  # what this request holds the claim under (None with a replay)


def record_key(scope: str, key: str) -> str:
    """The stored key: a hash of the scope and the client's key (fixed length, any characters)."""
    return "idem:" + hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()


def validate_key(key) -> str:
    """The Idempotency-Key header's value, if it is 1-255 printable ASCII characters."""
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in key):
        raise ValidationFailed(
            f"Invalid {HEADER} header.",
            details=[{"field": HEADER, "message": f"1 to {MAX_KEY_LENGTH} printable ASCII characters"}],
        )
    return key


def begin(ctx: Context, *, scope: str, key: str, fingerprint: str) -> Claim:
    """Claim the key for this request, or find the first response to replay.

    Raises ValidationFailed for a malformed key or (code idempotency_key_reused) a key already
    used for a different request; Conflict (code idempotency_in_progress) while the first
    request with this key still runs.
    """
    stored, token = record_key(scope, validate_key(key)), secrets.token_hex(16)
    record = ctx.uow.idempotency.claim(stored, fingerprint, token, lease_seconds=LEASE_SECONDS, ttl_seconds=TTL_SECONDS)
    if record is None:
        return Claim(stored, None, token)
    if record.fingerprint != fingerprint:
        raise ValidationFailed(
            f"This {HEADER} was already used for a different request.",
            code="idempotency_key_reused",
            details=[{"field": HEADER, "message": "use a new key for a new request"}],
        )
    if record.state != IdempotencyState.DONE or record.status is None:  # a done record always has its status
        raise Conflict(
            f"A request with this {HEADER} is still being processed; retry shortly.", code="idempotency_in_progress"
        )
    replay = Replay(status=int(record.status), body=record.body or "", headers=dict(record.headers))
    return Claim(stored, replay, None)


def finish(ctx: Context, claim: Claim, status: int, body, headers) -> None:
    """Store a 2xx response for replay; any other status abandons the claim instead.

    Never raises: the request has succeeded by now, and failing its answer would invite the
    very retry the key is for. If the record cannot be written, the claim's lease runs out.
    """
    assert claim.token is not None  # begin gave this request the claim: it has no replay
    if not 200 <= int(status) < 300:
        abandon(ctx, claim)
        return
    if isinstance(body, bytes):
        body = body.decode()
    elif not isinstance(body, str):
        body = "" if body is None else json.dumps(body)
    kept = {name: str(value) for name, value in dict(headers or {}).items() if name.lower() not in NOT_REPLAYED_HEADERS}
    try:
        stored = ctx.uow.idempotency.complete(
            claim.record_key, claim.token, status=int(status), body=body, headers=kept
        )
    except DomainError as error:
        log.warning("could not store the response for an %s (%s): a retry runs once the lease ends", HEADER, error.code)
        return
    if not stored:
        log.warning(
            "a request under an %s outlived its lease and a retry took its claim over: the create "
            "may have run twice, and this response was not stored",
            HEADER,
        )


def abandon(ctx: Context, claim: Claim) -> None:
    """Forget the claim after a failed request, so a retry with the same key runs afresh.

    Never raises: it runs on an error path, whose own error is the one to report.
    """
    assert claim.token is not None  # begin gave this request the claim: it has no replay
    try:
        ctx.uow.idempotency.release(claim.record_key, claim.token)
    except DomainError as error:
        log.warning("could not release an %s claim (%s): it is freed when its lease ends", HEADER, error.code)
