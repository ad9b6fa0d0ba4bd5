"""The OpenAPI 3.1 document, generated from the endpoint table and its pydantic models.

Routes served beside the CRM on the same application (the desktops' ticket, /health) are
described by the wiring root with `Operation`s built from their own models.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from crm.api.endpoint import ALL_ROLES, Endpoint
from crm.api.schemas import MAX_ID, ErrorBody

_REF = "#/components/schemas/{model}"
_ERRORS = {
    "400": "Invalid input: bad JSON, unknown field, value out of range (field named)",
    "401": "Missing or unknown bearer token",
    "403": "The caller's role or unit may not do this",
    "404": "No such resource, or not visible to the caller",
    "409": "Not allowed in the order's current state, a rule limit is reached, "
    "or a concurrent request changed the same data",
    "429": "Too many bad tokens from this address: wait Retry-After seconds",
}
# answered for any route by the application itself
_ALWAYS = {
    "405": "Method not allowed on this path (see the Allow header)",
    "500": "Unexpected server error (logged)",
}
_BODY_TOO_LARGE = {"413": "Request body too large"}
_ALLOW_HEADER = {
    "Allow": {"description": "The methods this path accepts", "schema": {"type": "string"}}
}


@dataclass(frozen=True)
class Operation:
    """One documented operation: the CRM's endpoints and the routes mounted beside them."""

    method: str
    path: str
    summary: str
    description: str = ""
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    content_type: str = "application/json"
    errors: Mapping[str, str] = field(default_factory=dict)
    # further statuses answered with the response model (e.g. /health's 503)
    also: Mapping[str, str] = field(default_factory=dict)
    bearer: bool = True


def _of_endpoint(e: Endpoint) -> Operation:
    roles = sorted(r.value for r in e.roles)
    return Operation(
        method=e.method, path=e.path, summary=e.summary,
        description="Roles: " + ("any" if e.roles == ALL_ROLES else ", ".join(roles)),
        body=e.body, query=e.query, response=e.response, status=e.status,
        content_type=e.content_type, errors={**_ERRORS, **e.errors}, also=e.also,
    )  # fmt: skip


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    params = []
    for part in path.split("/"):
        if part.startswith("{"):
            name, _, pattern = part[1:-1].partition(":")
            schema: dict[str, Any] = {"type": "string", "pattern": f"^{pattern}$"}
            if pattern == "\\d+":  # ids: see Ctx.int_param
                schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
            params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF)
    return [
        {"name": name, "in": "query", "required": name in schema.get("required", []),
         "schema": _not_null(prop)}
        for name, prop in schema["properties"].items()
    ]  # fmt: skip


def _not_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A query value is a string or absent, never null: `X | None = None` is an optional X."""
    options = [o for o in prop.get("anyOf", []) if o != {"type": "null"}]
    if len(options) != 1:
        return prop
    rest = {k: v for k, v in prop.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**options[0], **rest}


def _operation(o: Operation) -> dict[str, Any]:
    errors = {**o.errors, **_ALWAYS, **(_BODY_TOO_LARGE if o.body is not None else {})}
    op: dict[str, Any] = {
        "summary": o.summary,
        "parameters": _path_parameters(o.path) + (_query_parameters(o.query) if o.query else []),
        "security": [{"bearer": []}] if o.bearer else [],
        "responses": {
            code: {
                "description": text,
                "content": {"application/json": {"schema": _ref(ErrorBody)}},
            }
            for code, text in sorted(errors.items())
        },
    }
    if o.description:
        op["description"] = o.description
    op["responses"]["405"]["headers"] = _ALLOW_HEADER
    if o.body is not None:
        op["requestBody"] = {
            "required": o.body_required,
            "content": {"application/json": {"schema": _ref(o.body)}},
        }
    ok: dict[str, Any] = {"description": "OK"}
    if o.response is not None:
        ok["content"] = {o.content_type: {"schema": _ref(o.response)}}
    elif o.content_type != "application/json":
        ok["content"] = {o.content_type: {"schema": {"type": "string"}}}
    op["responses"][str(o.status)] = ok
    for code, text in o.also.items():
        op["responses"][code] = {**ok, "description": text}
    return op


def _openapi_path(path: str) -> str:
    return "/".join(p.split(":")[0] + "}" if p.startswith("{") else p for p in path.split("/"))


def build(
    endpoints: Iterable[Endpoint], title: str, version: str, extra: Iterable[Operation] = ()
) -> dict[str, Any]:
    operations = [_of_endpoint(e) for e in endpoints] + list(extra)
    models: set[type[BaseModel]] = {ErrorBody}
    for o in operations:
        models.update(m for m in (o.body, o.response) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    bodies = {o.body for o in operations}
    modes: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (m, "validation" if m in bodies else "serialization") for m in ordered
    ]
    _, schema = models_json_schema(modes, ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for o in operations:
        paths.setdefault(_openapi_path(o.path), {})[o.method.lower()] = _operation(o)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
