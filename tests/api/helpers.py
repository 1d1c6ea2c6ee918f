"""Assertions and small helpers the API tests share."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

ERROR_KEYS = {"code", "message", "details"}
MISSING_ID = "01HZZZZZZZZZZZZZZZZZZZZZZZ"  # a well-formed id nobody has


def assert_error(reply, status: int, code: str | None = None) -> dict:
    """The one error shape: exactly {"error": {"code", "message", "details"}}, JSON, no stack trace."""
    assert reply.status == status, (reply.status, reply.body)
    assert isinstance(reply.body, dict) and set(reply.body) == {"error"}, reply.body
    error = reply.body["error"]
    assert set(error) == ERROR_KEYS, error
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    assert "Traceback" not in error["message"] and 'File "' not in error["message"]
    assert reply.headers.get("content-type", "").startswith("application/json")
    if code is not None:
        assert error["code"] == code, error
    return error


def error_fields(reply) -> set[str]:
    return {detail.get("field") for detail in reply.body["error"]["details"]}


def with_query(path: str, **params) -> str:
    params = {k: v for k, v in params.items() if v is not None}
    if not params:
        return path
    return f"{path}{'&' if '?' in path else '?'}{urlencode(params)}"


def ids(reply) -> list[str]:
    assert reply.status == 200, reply.body
    assert set(reply.body) == {"items", "next_cursor"}
    return [item["id"] for item in reply.body["items"]]


def walk(api, path: str, *, token: str | None = None, **params) -> list[list[str]]:
    """Every page of a list, following next_cursor; returns the ids page by page."""
    pages, cursor = [], None
    for _ in range(1000):
        reply = api.get(with_query(path, cursor=cursor, **params), token=token)
        pages.append(ids(reply))
        cursor = reply.body["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("next_cursor never ended")


@dataclass
class Actor:
    user: dict
    token: str

    @property
    def id(self) -> str:
        return self.user["id"]


class Gateway:
    """What `chalice local` hands each request to; safe to call from many threads."""

    def __init__(self):
        from chalice.config import Config
        from chalice.local import LocalGateway

        from app import app

        self._gateway = LocalGateway(app, Config())

    def call(self, method: str, path: str, body=None, *, token: str, headers=None) -> tuple[int, dict | None]:
        sent = {"content-type": "application/json", "authorization": f"Bearer {token}", **(headers or {})}
        reply = self._gateway.handle_request(method, path, sent, b"" if body is None else json.dumps(body).encode())
        return reply["statusCode"], json.loads(reply["body"]) if reply["body"] else None


def race(*calls) -> list[tuple[int, dict | None]]:
    """Run each call on a thread of its own, all released at once; their answers in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))
