"""SQL for generations: the active one, the one valid at a moment, listing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_grid import SUBDISTRICT_CODE
from geo_grid.models import Generation


def active(session: Session, subdistrict: str = SUBDISTRICT_CODE) -> Generation | None:
    stmt = select(Generation).where(Generation.subdistrict_code == subdistrict, Generation.status == "active")
    return session.scalars(stmt).first()


def at(session: Session, moment: datetime, subdistrict: str = SUBDISTRICT_CODE) -> Generation | None:
    """The generation that was active at `moment` (activated before it, not yet retired)."""
    stmt = (
        select(Generation)
        .where(
            Generation.subdistrict_code == subdistrict,
            Generation.status.in_(("active", "retired")),
            Generation.activated_at <= moment,
            (Generation.retired_at.is_(None)) | (Generation.retired_at > moment),
        )
        .order_by(Generation.activated_at.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def get(session: Session, generation_id: int) -> Generation | None:
    return session.get(Generation, generation_id)


def list_all(session: Session, subdistrict: str = SUBDISTRICT_CODE) -> list[Generation]:
    stmt = select(Generation).where(Generation.subdistrict_code == subdistrict).order_by(Generation.id)
    return list(session.scalars(stmt))
