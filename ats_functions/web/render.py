"""From a view's result to the answer: models rendered to JSON values, and the response with its ETag
(or a 304 when the client's copy is current)."""

import functools

from chalice import Response
from pydantic import BaseModel, TypeAdapter
from pydantic_core import to_json

from .contract import Contract
from .errors import JSON_HEADERS
from .request import Call


@functools.cache
def _list_of(model: type[BaseModel]) -> TypeAdapter:
    # A list of a model known at run time only, which a static type cannot name.
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def render(model: type[BaseModel], obj) -> dict:
    return model.model_validate(obj).model_dump(mode="json")


def render_page(model: type[BaseModel], page) -> dict:
    """A page rendered in one pass of pydantic over its items, not one per item."""
    adapter = _list_of(model)
    items = adapter.dump_python(adapter.validate_python(page.items, from_attributes=True), mode="json")
    return {"items": items, "next_cursor": page.next_cursor}


def render_list(model: type[BaseModel], items) -> dict:
    """A short list that is not paged (a job's stages, its team), in the shape of a page."""
    adapter = _list_of(model)
    return {
        "items": adapter.dump_python(adapter.validate_python(items, from_attributes=True), mode="json"),
        "next_cursor": None,
    }


def respond(call: Call, contract: Contract, body: dict | Response | None) -> Response:
    """The response a view's body becomes: 204 for none, its status and ETag, or 304 for a current copy."""
    if isinstance(body, Response):  # a view with an answer of its own kind (a page, a 503 report)
        return body
    if body is None:
        return Response(body="", status_code=204)
    headers: dict[str, str | list[str]] = dict(JSON_HEADERS)
    if contract.etag is not None:
        etag = f'"{body[contract.etag]["version"]}"'
        headers["ETag"] = etag
        if call.method == "GET" and call.none_match(etag):  # the client's copy is current
            return Response(body="", status_code=304, headers={"ETag": etag})
    # Serialised by pydantic's JSON encoder (Rust): a third of the time of Chalice's json.dumps.
    return Response(body=to_json(body).decode(), status_code=contract.status, headers=headers)
