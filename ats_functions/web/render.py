"""From a view's result to the answer: models rendered to JSON values, and the response with its ETag
(or a 304 when the client's copy is current)."""

import dataclasses
import enum
import functools
import typing
from collections.abc import Callable, Sequence
from typing import Any, TypeGuard

import orjson
from chalice import Response
from pydantic import BaseModel, Strict, TypeAdapter
from pydantic.fields import FieldInfo
from pydantic_core import to_json

from .contract import Contract
from .errors import JSON_HEADERS
from .request import Call


@functools.cache
def _list_of(model: type[BaseModel]) -> TypeAdapter:
    # A list of a model known at run time only, which a static type cannot name.
    return TypeAdapter(list[model])  # type: ignore[valid-type]


# The check of a plain field's value (`{v}`), by annotation: what pydantic renders as it is.
_PLAIN_CHECKS: dict[Any, str] = {
    str: "type({v}) is str",
    int: "type({v}) is int",
    str | None: "({v} is None or type({v}) is str)",
    int | None: "({v} is None or type({v}) is int)",
}


def _enum_by_value(annotation: Any, metadata: list) -> TypeGuard[type[enum.StrEnum]]:
    """A StrEnum field that takes a member's value, and nothing else (schemas.FROM_VALUE)."""
    return (
        isinstance(annotation, enum.EnumMeta) and issubclass(annotation, enum.StrEnum) and metadata == [Strict(False)]
    )


def _field_code(i: int, field: FieldInfo, namespace: dict[str, Any]) -> tuple[str, str] | None:
    """The check of field i's value `v<i>` and the expression it renders as; None: a field of
    another kind."""
    v, annotation = f"v{i}", field.annotation
    if field.metadata and not _enum_by_value(annotation, field.metadata):
        return None
    if annotation in _PLAIN_CHECKS:
        return _PLAIN_CHECKS[annotation].format(v=v), v
    args = typing.get_args(annotation)
    if _enum_by_value(annotation, field.metadata):  # a member or its value (each hashes as the value)
        namespace[f"values_{i}"] = {member: member.value for member in annotation}
        return f"{v} in values_{i}", f"values_{i}[{v}]"
    if typing.get_origin(annotation) is list:  # of members or values of an enum
        kind, *metadata = typing.get_args(args[0]) or (args[0],)
        if not _enum_by_value(kind, metadata):
            return None
        namespace[f"values_{i}"] = {member: member.value for member in kind}
        return f"type({v}) is list and all(x in values_{i} for x in {v})", f"[values_{i}[x] for x in {v}]"
    # A model of plain fields (maybe None), rendered by its own function: None from it, by pydantic.
    optional = len(args) == 2 and args[1] is type(None)
    nested = args[0] if optional else annotation
    render = _plain_renderer(nested) if isinstance(nested, type) and issubclass(nested, BaseModel) else None
    if render is None:
        return None
    namespace[f"render_{i}"] = render
    if optional:
        return f"(r{i} := None if {v} is None else render_{i}({v})) is not None or {v} is None", f"r{i}"
    return f"(r{i} := render_{i}({v})) is not None", f"r{i}"


@functools.cache
def _plain_renderer(model: type[BaseModel]) -> Callable[[Any], dict | None] | None:
    """`{"field": obj.field, ...}` written out once, for a model whose fields are all plain and
    required (a string, an integer, maybe None; a StrEnum taken by its value, or a list of them; a
    model of such fields, maybe None): the dict pydantic's validate and dump make of a record, in
    under a third of the instructions (a page of 20 jobs: 557k -> 160k). The function returns None for a
    value pydantic would change or refuse (a bool, a str subclass, an unknown member, a tuple):
    pydantic renders that. None for any other model (a default, an alias, a validator, another
    type): pydantic renders it."""
    decorators = model.__pydantic_decorators__  # validators, serializers, computed fields
    if any(getattr(decorators, kind.name) for kind in dataclasses.fields(decorators)):
        return None
    if not model.model_config.get("from_attributes"):
        return None
    namespace: dict[str, Any] = {}
    reads, checks, values = [], [], []
    for i, (name, field) in enumerate(model.model_fields.items()):
        if field.alias or field.serialization_alias or field.exclude or not field.is_required():
            return None
        code = _field_code(i, field, namespace)
        if code is None:
            return None
        reads.append(f"v{i} = obj.{name}")
        checks.append(code[0])
        values.append(f"{name!r}: {code[1]}")
    body = "\n    ".join(reads)
    source = (
        f"def render(obj):\n    {body}\n"
        f"    if not ({' and '.join(f'({check})' for check in checks)}):\n        return None\n"
        f"    return {{{', '.join(values)}}}\n"
    )
    exec(source, namespace)  # names are the model's own fields, quoted by repr as keys
    return namespace["render"]


def _plain(model: type[BaseModel], objects: Sequence) -> list[dict] | None:
    """The objects rendered without pydantic, if the model and each of their values are plain; else None."""
    render = _plain_renderer(model)
    if render is None:
        return None
    try:
        rendered = [render(obj) for obj in objects]
    except AttributeError:  # a dict, or a record without one of the fields: pydantic says what it makes of it
        return None
    return None if None in rendered else rendered  # type: ignore[return-value]


def _rendered(model: type[BaseModel], objects: Sequence) -> list[dict]:
    """The objects in one pass of pydantic over them, not one per object (unless they are plain)."""
    plain = _plain(model, objects)
    if plain is not None:
        return plain
    adapter = _list_of(model)
    return adapter.dump_python(adapter.validate_python(objects, from_attributes=True), mode="json")


def render(model: type[BaseModel], obj) -> dict:
    plain = _plain(model, (obj,))
    return plain[0] if plain is not None else model.model_validate(obj).model_dump(mode="json")


def render_page(model: type[BaseModel], page) -> dict:
    return {"items": _rendered(model, page.items), "next_cursor": page.next_cursor}


def render_list(model: type[BaseModel], items) -> dict:
    """A short list that is not paged (a job's stages, its team), in the shape of a page."""
    return {"items": _rendered(model, items), "next_cursor": None}


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
    return Response(body=_json(body), status_code=contract.status, headers=headers)


def _json(body: dict) -> str:
    """The body as JSON text: by orjson (a page of 20 jobs: 200k instructions by pydantic's encoder,
    61k; the same bytes), by pydantic's for what orjson refuses (an integer past 64 bits)."""
    try:
        return orjson.dumps(body).decode()
    except TypeError:  # orjson.JSONEncodeError
        return to_json(body).decode()
