"""The OpenAPI 3.1 document, generated from the endpoint table and its pydantic models."""

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from crm.api.endpoint import ALL_ROLES, Endpoint
from crm.api.schemas import ErrorBody

_REF = "#/components/schemas/{model}"
_ERRORS = {
    "400": "Invalid input: bad JSON, unknown field, value out of range (field named)",
    "401": "Missing or unknown bearer token",
    "403": "The caller's role or unit may not do this",
    "404": "No such resource, or not visible to the caller",
    "409": "Not allowed in the order's current state, or a rule limit is reached",
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    params = []
    for part in path.split("/"):
        if part.startswith("{"):
            name, _, pattern = part.strip("{}").partition(":")
            schema: dict[str, Any] = {"type": "string", "pattern": f"^{pattern}$"}
            if pattern == "\\d+":
                schema = {"type": "integer"}
            params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF)
    return [
        {"name": name, "in": "query", "required": name in schema.get("required", []),
         "schema": prop}
        for name, prop in schema["properties"].items()
    ]  # fmt: skip


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    roles = sorted(r.value for r in endpoint.roles)
    op: dict[str, Any] = {
        "summary": endpoint.summary,
        "description": "Roles: " + ("any" if endpoint.roles == ALL_ROLES else ", ".join(roles)),
        "parameters": _path_parameters(endpoint.path)
        + (_query_parameters(endpoint.query) if endpoint.query else []),
        "security": [{"bearer": []}],
        "responses": {
            code: {
                "description": text,
                "content": {"application/json": {"schema": _ref(ErrorBody)}},
            }
            for code, text in _ERRORS.items()
        },
    }
    if endpoint.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(endpoint.body)}},
        }
    ok: dict[str, Any] = {"description": "OK"}
    if endpoint.response is not None:
        ok["content"] = {endpoint.content_type: {"schema": _ref(endpoint.response)}}
    elif endpoint.content_type != "application/json":
        ok["content"] = {endpoint.content_type: {"schema": {"type": "string"}}}
    op["responses"][str(endpoint.status)] = ok
    return op


def _openapi_path(path: str) -> str:
    return "/".join(p.split(":")[0] + "}" if p.startswith("{") else p for p in path.split("/"))


def build(endpoints: Iterable[Endpoint], title: str, version: str) -> dict[str, Any]:
    endpoints = list(endpoints)
    models: set[type[BaseModel]] = {ErrorBody}
    for e in endpoints:
        models.update(m for m in (e.body, e.response) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    bodies = {e.body for e in endpoints}
    modes: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (m, "validation" if m in bodies else "serialization") for m in ordered
    ]
    _, schema = models_json_schema(modes, ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        paths.setdefault(_openapi_path(e.path), {})[e.method.lower()] = _operation(e)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
