"""SQL for API tokens (stored as SHA-256 hashes)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_grid.models import ApiToken


def add(session: Session, name: str, role: str, token_hash: str) -> ApiToken:
    token = ApiToken(name=name, role=role, token_hash=token_hash)
    session.add(token)
    session.flush()
    return token


def by_hash(session: Session, token_hash: str) -> ApiToken | None:
    stmt = select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    return session.scalars(stmt).first()
