"""The OpenAPI document says which role each route needs (from its role dependency, api/deps.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from geo_grid.api.deps import ROLE_LABELS_ZH


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
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
