"""The OpenAPI document says which role each route needs (from its role dependency, api/deps.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from geo_grid.api.deps import ROLE_LABELS_ZH
from geo_grid.api.schemas.common import ErrorBody


def required_roles(dependant: Dependant) -> tuple[str, ...]:
    """The roles a route's dependency tree requires (empty: public)."""
    for dep in dependant.dependencies:
        roles = getattr(dep.call, "required_roles", None)
        if roles:
            return tuple(roles)
        found = required_roles(dep)
        if found:
            return found
    return ()


def install(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Generate the document once, adding `x-required-roles` and a Chinese line to each guarded operation
    of `routers` (the app's own, included without a prefix)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for route in (r for router in routers for r in router.routes):
            if not isinstance(route, APIRoute):
                continue
            roles = required_roles(route.dependant)
            if not roles:
                continue
            who = "或".join(ROLE_LABELS_ZH.get(r, r) for r in roles)
            for method in route.methods or ():
                op = schema.get("paths", {}).get(route.path_format, {}).get(method.lower())
                if op is None:
                    continue
                op["x-required-roles"] = [*roles, "admin"] if "admin" not in roles else list(roles)
                note = f"需要角色：{who}（管理员亦可）。"
                op["description"] = f"{op['description']}\n\n{note}" if op.get("description") else note
        _errors_as_error_body(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _errors_as_error_body(schema: dict[str, Any]) -> None:
    """FastAPI documents its request-validation 422 as `HTTPValidationError`; this service answers every
    error as ErrorBody (api/errors.py), so the document says that."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorBody", ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}"))
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    for path_item in schema.get("paths", {}).values():
        for op in path_item.values():
            responses = op.get("responses", {}) if isinstance(op, dict) else {}
            invalid = responses.get("422")
            if invalid is not None:
                invalid["description"] = "请求无效（code 为 invalid_request、invalid_input 等）"
                invalid["content"] = {"application/json": {"schema": ref}}
            # An error of a page or file route is JSON too, whatever the route's own media type.
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400 and "ErrorBody" in str(response.get("content")):
                    response["content"] = {"application/json": {"schema": ref}}
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
