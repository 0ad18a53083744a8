"""Principals and bearer tokens. Roles (privacy.ROLES): public (no token), grid_worker, dispatcher, planner,
admin (may do everything). A principal comes from a bearer token or from a console user's browser session
(services/accounts.py); both are the same to the role checks and the privacy policy."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from geo_grid import privacy
from geo_grid.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound
from geo_grid.models import TOKEN_ROLES
from geo_grid.repository import audit as audit_repo
from geo_grid.repository import tokens as token_repo

# Roles that see personal data (unmasked phones, reporter contacts): dispatcher or higher (the policy).
PERSONAL_DATA_ROLES = privacy.FULL_ROLES


@dataclass(frozen=True)
class Principal:
    """Who calls: a token's (or a console user's) role, name and id (the id is the principal the audit log
    records; names need not be unique). The public has neither id."""

    role: str
    name: str
    token_id: int | None = None
    user_id: int | None = None  # a browser session's user (services/accounts.py)

    @property
    def sees_personal_data(self) -> bool:
        return privacy.sees_personal_data(self.role)

    def require(self, *roles: str) -> None:
        """Refuse unless the principal has one of `roles` (admin always may)."""
        if self.role == "admin" or self.role in roles:
            return
        if self.role == "public":
            raise NotAuthenticated(f"this needs a bearer token of role {' or '.join(roles)}")
        raise Forbidden(f"role {self.role!r} may not do this; it needs {' or '.join(roles)}")


PUBLIC = Principal("public", "public")


def hash_token(token: str) -> str:
    # Tokens are 256-bit random secrets, so a plain SHA-256 is enough (no password stretching needed).
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, role: str, name: str, actor: str = "system") -> str:
    """Store a new token's hash and return the token itself (shown once, never stored); audited."""
    if role not in TOKEN_ROLES:
        raise InvalidInput(f"unknown role {role!r}; choose one of {', '.join(TOKEN_ROLES)}")
    if not name.strip():
        raise InvalidInput("a token needs a name (who uses it)")
    token = "gg_" + secrets.token_urlsafe(32)
    row = token_repo.add(session, name.strip(), role, hash_token(token))
    audit_repo.add(
        session, actor, "token_create", {"role": role, "name": row.name}, subject=f"token:{row.id}"
    )
    return token


def authenticate(session: Session, token: str) -> Principal:
    row = token_repo.by_hash(session, hash_token(token))
    if row is None:
        raise NotAuthenticated("unknown or revoked token")
    return Principal(row.role, row.name, row.id)


def list_tokens(session: Session) -> list[dict[str, object]]:
    """Every token's id, role, name and dates (never the token: only its hash is stored)."""
    return [
        {"id": t.id, "role": t.role, "name": t.name, "created_at": t.created_at, "revoked_at": t.revoked_at}
        for t in token_repo.list_all(session)
    ]


def revoke_token(session: Session, token_id: int, actor: str = "system") -> None:
    """Revoke a token (audited); it stays listed for the audit trail. Running services refuse it within
    their token cache TTL (GEO_GRID_TOKEN_CACHE_TTL_S, 5 s)."""
    if not token_repo.revoke(session, token_id):
        raise NotFound(f"no active token with id {token_id}")
    audit_repo.add(session, actor, "token_revoke", {}, subject=f"token:{token_id}")


def principal_for_user(role: str, name: str, user_id: int) -> Principal:
    """The principal of a console user's browser session: the user's role, the same policy as a token's."""
    return Principal(role, name, user_id=user_id)
