"""The errors every JSON API operation can answer, documented once for the whole schema.

Some answers come from the layers around a route rather than the route: the body size
limit (413), a body that is not readable JSON (400), the token or session check (401), the
role, ownership or CSRF checks (403), an id that does not exist (404), request
validation (422, shaped by ``approval_ui.main.validation_error``) and a database out of
reach (503). FastAPI documents only
its own 422, in a shape the desk no longer sends; :func:`install` adds the rest to every
``/api/`` operation, so the schema lists every status a client can get (schemathesis holds
the app to that), and a route declares only what is its own (409, 412, 502...).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from approval_ui.schemas import ErrorPublic, ValidationErrorPublic

# Authenticated by a webhook signature, not as a desk user: no role, owner or CSRF check.
NOT_A_DESK_USER = {("post", "/api/signals")}
SHARED = {
    "400": (ErrorPublic, "the body is not readable JSON (invalid UTF-8, too deeply nested)"),
    "401": (ErrorPublic, "not signed in, or no valid API token"),
    "413": (ErrorPublic, "the request body is over the desk's size limit"),
    "422": (ValidationErrorPublic, "a parameter or field is missing or invalid"),
    "503": (ErrorPublic, "the database (or the model) is out of reach; nothing was saved"),
}
FORBIDDEN = (ErrorPublic, "this user may not do this (role, another SAM's draft, CSRF)")
NOT_FOUND = (ErrorPublic, "no such draft, user, token or row")


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return its schema with the shared error responses added."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status, (model, description) in SHARED.items():
                if status not in responses:
                    responses[status] = _response(model, description, components)
                elif status == "422":  # FastAPI's own 422 shape: the desk sends its own
                    responses[status]["content"] = _response(model, "", components)["content"]
            if (method, path) not in NOT_A_DESK_USER:
                responses.setdefault("403", _response(*FORBIDDEN, components))
            if "{" in path:
                responses.setdefault("404", _response(*NOT_FOUND, components))
    return schema


def _response(
    model: type[BaseModel], description: str, components: dict[str, Any]
) -> dict[str, Any]:
    name = model.__name__
    if name not in components:
        for ref_name, definition in (
            model.model_json_schema(ref_template="#/components/schemas/{model}")
            .pop("$defs", {})
            .items()
        ):
            components.setdefault(ref_name, definition)
        components[name] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components[name].pop("$defs", None)
    ref = {"$ref": f"#/components/schemas/{name}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}
