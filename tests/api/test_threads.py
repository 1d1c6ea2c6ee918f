"""`chalice local` serves each request on a thread of its own, while Chalice keeps one
`current_request` on the app: every view must still read its own call's request."""

import json
import sys
import threading

import pytest

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_concurrent_callers_each_get_their_own_answer(api):
    from chalice.config import Config
    from chalice.local import LocalGateway

    from app import app

    tokens = {name: api.signup(f"{name}@example.com")[1] for name in ("alice", "bob", "carl", "dora")}
    gateway = LocalGateway(app, Config())  # what chalice local hands each request to, on its thread
    wrong = []

    def caller(name: str) -> None:
        for _ in range(300):
            reply = gateway.handle_request("GET", "/auth/me", {"authorization": f"Bearer {tokens[name]}"}, b"")
            body = json.loads(reply["body"])
            if reply["statusCode"] != 200 or body["user"]["email"] != f"{name}@example.com":
                wrong.append((name, reply["statusCode"], body))

    threads = [threading.Thread(target=caller, args=(name,)) for name in tokens]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, so that shared state shows
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert wrong == []
