"""SQL for the audit log: who changed what and when (imports, facility changes …)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from geo_grid.models import AuditEntry


def add(
    session: Session, actor: str, action: str, detail: dict[str, Any], grid_code: str | None = None
) -> None:
    session.execute(
        insert(AuditEntry), [{"actor": actor, "action": action, "detail": detail, "grid_code": grid_code}]
    )
