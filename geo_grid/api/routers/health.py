"""GET /health: is the database reachable, which generation is live, how much is loaded.

Unauthenticated, so it never reveals the database's host, port or error text: those go to the log only.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from geo_grid.api.deps import RuntimeDep
from geo_grid.api.schemas.health import HealthOut

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)

DB_UNREACHABLE = "数据库暂时无法连接"


@router.get(
    "/health",
    summary="Service health (503 with the reason while the database is unreachable)",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "数据库不可达：status 为 degraded，附 reason"}},
)
def health(runtime: RuntimeDep) -> JSONResponse:
    directory = runtime.directory.current
    body: dict[str, Any] = {
        "status": "ok",
        "database": "ok",
        "active_generation": directory.generation_id if directory else None,
        "counts": directory.counts() if directory else {},
        "lookup_index": "ready" if directory else "empty",
    }
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database is reported, not raised
        log.warning("health: database unreachable: %s", str(exc).splitlines()[0][:300])
        body.update(status="degraded", database="unreachable", reason=DB_UNREACHABLE)
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)
