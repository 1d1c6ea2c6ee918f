"""The OpenAPI 3.1 document, generated from the routes and the models their views validate with."""

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from chalicelib.schemas.system import ErrorBody

from . import resource_routes

TITLE, VERSION = "ATS API", "1.0.0"
REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    304: "Not modified: your copy is current",
    400: "Bad request",
    401: "Not signed in",
    403: "Role not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Validation error",
    429: "Too many requests",
    500: "Internal error",
    503: "Unavailable",
}
ETAG_HEADER = {
    "ETag": {
        "description": "The resource's version, quoted: send it back in If-Match or If-None-Match.",
        "required": True,
        "schema": {"type": "string"},
    }
}


def _query_parameters(model: type[BaseModel], definitions: dict) -> list[dict]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": field}
        for name, field in schema["properties"].items()
    ]


def _operation(method: str, path: str, contract, refs: dict, definitions: dict) -> dict:
    operation = {"operationId": contract.operation_id(path), "summary": contract.summary, "tags": [contract.tag]}
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in _path_names(path)
    ]
    if contract.query is not None:
        parameters += _query_parameters(contract.query, definitions)
    if contract.idempotent:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                "description": "Retrying with the same key returns the first response.",
            }
        )
    if contract.if_match:
        parameters.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "The ETag of the version this change is based on.",
            }
        )
    revalidates = contract.etag is not None and method == "GET"
    if revalidates:
        parameters.append(
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "ETags of the copies you hold (or `*`): 304 when one is current.",
            }
        )
    if parameters:
        operation["parameters"] = parameters
    if contract.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(contract.body, "validation")]}},
        }
    if contract.auth != "public":
        operation["security"] = [{"bearerAuth": []}] + ([{}] if contract.auth == "optional" else [])
    success: dict[str, Any] = {"description": REASONS[contract.status]}
    if contract.etag is not None:
        success["headers"] = ETAG_HEADER
    if contract.returns is not None:
        success["content"] = {"application/json": {"schema": refs[(contract.returns, "serialization")]}}
    answers = {status: refs[(model, "serialization")] for status, model in contract.answers}
    not_modified = {"304": {"description": REASONS[304], "headers": ETAG_HEADER}} if revalidates else {}
    operation["responses"] = {
        str(contract.status): success,
        **not_modified,
        **{
            str(status): {
                "description": REASONS[status],
                "content": {"application/json": {"schema": answers.get(status, refs[(ErrorBody, "serialization")])}},
            }
            for status in sorted(contract.error_statuses())
        },
    }
    return operation


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _allows_null(schema: dict) -> bool:
    kind = schema.get("type")
    return (
        kind == "null"
        or (isinstance(kind, list) and "null" in kind)
        or any(_allows_null(option) for option in schema.get("anyOf", []) + schema.get("oneOf", []))
    )


def _drop_null_defaults(node) -> None:
    """A field that may be left out but not sent as null (`title: str = None` on an update) has no
    default a client could send: pydantic writes `"default": null` for it, which its own schema refuses."""
    if isinstance(node, dict):
        if "default" in node and node["default"] is None and not _allows_null(node):
            del node["default"]
        for value in node.values():
            _drop_null_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _drop_null_defaults(value)


@cache
def openapi_document() -> dict:
    """Every route of every resource (built once per process: the contracts do not change)."""
    operations = sorted(
        (
            (path, method, handler.contract)
            for routes in resource_routes().values()
            for (method, path), handler in routes.handlers.items()
        ),
        key=lambda route: route[:2],
    )
    models: set[tuple[type[BaseModel], JsonSchemaMode]] = {(ErrorBody, "serialization")}
    for _, _, contract in operations:
        if contract.body is not None:
            models.add((contract.body, "validation"))
        if contract.returns is not None:
            models.add((contract.returns, "serialization"))
        models.update((model, "serialization") for _, model in contract.answers)
    refs, schemas = models_json_schema(
        sorted(models, key=lambda pair: (pair[0].__name__, pair[1])), ref_template="#/components/schemas/{model}"
    )
    definitions = dict(schemas.get("$defs", {}))
    paths: dict = {}
    for path, method, contract in operations:
        paths.setdefault(path, {})[method.lower()] = _operation(method, path, contract, refs, definitions)
    _drop_null_defaults(definitions)
    _drop_null_defaults(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Applicant tracking: jobs, applications, and the hiring pipeline.",
        },
        "paths": paths,
        "components": {
            "schemas": definitions,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
