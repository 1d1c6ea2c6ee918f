"""Idempotency-Key: a retried create is answered with its first response, and run only once."""

import hashlib
from collections.abc import Callable

from chalice import Response

from .request import Call


def run_once(call: Call, operation: str, run: Callable[[], Response]) -> Response:
    """Answer a retried create with its first response; run it only once (Idempotency-Key)."""
    from chalicelib.services import idempotency  # on first use: only a create that sends a key needs it

    caller = call.who.user_id if call.who else f"anonymous@{call.source_ip}"
    scope = f"{caller}:{operation}"
    fingerprint = hashlib.sha256(call.raw_body).hexdigest()
    ctx = call.context()
    claim = idempotency.begin(ctx, scope=scope, key=call.headers["idempotency-key"], fingerprint=fingerprint)
    if claim.replay is not None:
        replay = claim.replay
        return Response(
            body=replay.body, status_code=replay.status, headers={**replay.headers, "Idempotent-Replayed": "true"}
        )
    try:
        response = run()
    except BaseException:
        idempotency.abandon(ctx, claim)
        raise
    idempotency.finish(ctx, claim, status=response.status_code, body=response.body, headers=dict(response.headers))
    return response
