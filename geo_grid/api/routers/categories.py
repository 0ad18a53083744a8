"""/categories: the case categories as data (public to read; admins add and change them, audited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from geo_grid.api.deps import AdminDep, SessionDep
from geo_grid.api.schemas.categories import CategoryCreate, CategoryIn, CategoryList, CategoryOut
from geo_grid.api.schemas.common import error_responses
from geo_grid.errors import Conflict
from geo_grid.repository.categories import Category, StageLimit
from geo_grid.services import categories as category_service

router = APIRouter(tags=["categories"])

Code = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]


def _out(cat: Category) -> dict[str, Any]:
    return {**cat.as_dict(), "kind_label": category_service.KIND_LABELS.get(cat.kind, cat.kind)}


def _record(code: str, body: CategoryIn) -> Category:
    limits: dict[str, StageLimit] = {s: StageLimit(v.value, v.unit) for s, v in body.stage_limits.items()}
    return Category(code=code, stage_limits=limits, **body.model_dump(exclude={"stage_limits"}))


@router.get("/categories", summary="Every case category with its limits", response_model=CategoryList)
def list_categories(session: SessionDep) -> dict[str, Any]:
    """大类 / 小类 (GB/T 30428.2), department, the limit of each stage, 立案条件 and 结案条件."""
    return {"items": [_out(c) for c in category_service.table(session).categories]}


@router.get(
    "/categories/{code}",
    summary="One case category",
    response_model=CategoryOut,
    responses=error_responses(404, 422),
)
def get_category(code: Code, session: SessionDep) -> dict[str, Any]:
    return _out(category_service.table(session).get(code))


@router.put(
    "/categories/{code}",
    summary="Change a case category (admin, audited)",
    response_model=CategoryOut,
    responses=error_responses(401, 403, 404, 422),
)
def put_category(code: Code, body: CategoryIn, session: SessionDep, principal: AdminDep) -> dict[str, Any]:
    """Cases keep the limits in force when they entered each stage: the change applies to stages entered
    from now on."""
    category_service.table(session).get(code)  # 404 when it does not exist
    table = category_service.save(session, [_record(code, body)], principal.name, "update_category",
                                  actor_token_id=principal.token_id)  # fmt: skip
    return _out(table.get(code))


@router.post(
    "/categories",
    status_code=201,
    summary="Add a case category (admin, audited)",
    response_model=CategoryOut,
    responses=error_responses(401, 403, 409, 422),
)
def post_category(body: CategoryCreate, session: SessionDep, principal: AdminDep) -> dict[str, Any]:
    if body.code in category_service.table(session).by_code:
        raise Conflict(f"类别 {body.code!r} 已存在；修改请用 PUT /categories/{body.code}")
    record = _record(body.code, CategoryIn(**body.model_dump(exclude={"code"})))
    table = category_service.save(session, [record], principal.name, "add_category",
                                  actor_token_id=principal.token_id)  # fmt: skip
    return _out(table.get(body.code))
