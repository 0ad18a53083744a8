"""SQL for API tokens (stored as SHA-256 hashes)."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from geo_grid.models import ApiToken


def add(
    session: Session, name: str, role: str, token_hash: str, subdistrict_code: str | None = None
) -> ApiToken:
    token = ApiToken(name=name, role=role, token_hash=token_hash, subdistrict_code=subdistrict_code)
    session.add(token)
    session.flush()
    return token


def by_hash(session: Session, token_hash: str) -> ApiToken | None:
    stmt = select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    return session.scalars(stmt).first()


def list_all(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke(session: Session, token_id: int) -> bool:
    """Mark a token revoked (kept for the audit trail); False if no such active token."""
    stmt = (
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=func.geo_grid_now())
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]
