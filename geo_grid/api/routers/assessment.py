"""GET /assessment and GET /assessment.xlsx: the monthly assessment (考核) of one kind of unit."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from geo_grid.api.deps import DispatcherDep, SessionDep, SettingsDep
from geo_grid.api.schemas.assessment import AssessmentOut
from geo_grid.api.schemas.common import error_responses
from geo_grid.services import assessment as assessment_service

router = APIRouter(tags=["assessment"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PeriodQ = Annotated[
    str,
    Query(
        max_length=7,
        pattern=assessment_service.PERIOD_PATTERN,
        description="考核月份 YYYY-MM（北京时间的自然月）",
        examples=["2026-10"],
    ),
]
SubdistrictQ = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{9}$",
        description="考核的街道编码；不填：调用者所属的街道，或库中唯一的街道；区级调用者在多个街道时为全区",
    ),
]
ByQ = Annotated[
    Literal["subdistrict", "community", "tertiary", "micro", "department", "person"],
    Query(description="考核对象：街道、社区、三级网格、微网格、职能部门、微网格长"),
]


@router.get(
    "/assessment",
    summary="The month's assessment (考核) of every unit of a kind: indicators, composite score, rank",
    response_model=AssessmentOut,
    responses=error_responses(401, 403, 404, 422),
)
def assessment(
    principal: DispatcherDep,
    session: SessionDep,
    settings: SettingsDep,
    period: PeriodQ,
    by: ByQ = "community",
    subdistrict: SubdistrictQ = None,
) -> assessment_service.Assessment:
    return assessment_service.assess(
        session, period, by, settings.assessment_weights, settings.assessment_min_cases, principal.scope,
        subdistrict,
    )  # fmt: skip


@router.get(
    "/assessment.xlsx",
    summary="The month's assessment as an Excel workbook (one sheet per unit kind, trend and ranking charts)",
    response_class=Response,
    responses={
        200: {
            "description": "Excel 工作簿（.xlsx）：指标说明，以及每类考核对象一个工作表（近 12 个月趋势图、排名图）",
            "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
        },
        **error_responses(401, 403, 422),
    },
)
def assessment_xlsx(
    principal: DispatcherDep,
    session: SessionDep,
    settings: SettingsDep,
    period: PeriodQ,
    by: Annotated[ByQ | None, Query(description="只导出这一类考核对象；不填则每类一个工作表")] = None,
    subdistrict: SubdistrictQ = None,
) -> Response:
    kinds = (by,) if by else assessment_service.UNIT_KINDS
    body = assessment_service.workbook(
        session, period, settings.assessment_weights, settings.assessment_min_cases, kinds, principal.scope,
        subdistrict,
    )  # fmt: skip
    return Response(
        body,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="assessment-{period}.xlsx"'},
    )
