"""Principals and bearer tokens. Roles (privacy.ROLES): public (no token), grid_worker, dispatcher, planner,
admin (may do everything). A principal comes from a bearer token or from a console user's browser session
(services/accounts.py); both are the same to the role checks and the privacy policy.

Access is scoped (issue 15): a principal belongs to one subdistrict (sees and acts on its data only) or to
the district/city (`subdistrict_code` None: reads everything, changes nothing unless admin). The rules of
what belongs where: repository/scope.py; where they are enforced: api/deps.py and the listings."""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from geo_grid import privacy
from geo_grid.errors import Conflict, DistrictReadOnly, Forbidden, InvalidInput, NotAuthenticated, NotFound
from geo_grid.models import TOKEN_ROLES
from geo_grid.repository import audit as audit_repo
from geo_grid.repository import scope as scope_repo
from geo_grid.repository import subdistricts as subdistrict_repo
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
    # The subdistrict (街道) it belongs to; None: the district/city level (the public too).
    subdistrict_code: str | None = None

    @property
    def sees_personal_data(self) -> bool:
        return privacy.sees_personal_data(self.role)

    @property
    def district_wide(self) -> bool:
        """Of the district/city level: sees every subdistrict's data."""
        return self.subdistrict_code is None

    def sees_personal_data_in(self, subdistrict_code: str | None) -> bool:
        """Whether it sees a subdistrict's people unmasked (phones on a lookup, an address answer, a map):
        the policy's roles, of their own subdistrict only; a district/city-level one, of every subdistrict.
        A grid or community code may be given: its first 9 digits are its subdistrict."""
        if not self.sees_personal_data:
            return False
        return self.district_wide or subdistrict_code is None or subdistrict_code[:9] == self.subdistrict_code

    @property
    def scope(self) -> scope_repo.Scope:
        """What it may see and act on (repository/scope.py)."""
        return scope_repo.Scope(self.subdistrict_code)

    @property
    def may_change(self) -> bool:
        """Whether it may change data: a subdistrict's principal, or an admin. A district/city-level
        dispatcher, planner or grid worker reads only. (The public's writes — a resident's report, a
        rating with the tracking code — are decided by their routes.)"""
        return self.role in ("admin", "public") or not self.district_wide

    def require_change(self) -> None:
        """Refuse a change by a district/city-level principal that is not admin."""
        if not self.may_change:
            raise DistrictReadOnly(
                "区（市）级账号只能查看，不能修改数据：请使用所属街道的账号或管理员账号",
                {"role": self.role},
            )

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


class Served(enum.Enum):
    """The default subdistrict of a new token or user: see `subdistrict_for`."""

    SUBDISTRICT = "served"


SERVED = Served.SUBDISTRICT
SubdistrictChoice = str | None | Served


def subdistrict_for(session: Session, role: str, choice: SubdistrictChoice) -> str | None:
    """The subdistrict a new token or user belongs to. A code: that subdistrict (it must be a row of the
    subdistricts table). None: the district/city level. SERVED (the default): an admin is district-level;
    any other role belongs to the database's one subdistrict, so that a deployment serving one 街道 works
    as before; with several subdistricts it must be named (refused rather than guessed)."""
    if isinstance(choice, str):
        code = choice.strip()
        if subdistrict_repo.get(session, code) is None:
            raise NotFound(f"没有编码为 {code} 的街道（geo-grid subdistricts list 列出全部）")
        return code
    if choice is None or role == "admin":
        return None
    rows = subdistrict_repo.list_all(session)
    if len(rows) > 1:
        raise Conflict(
            "数据库中有多个街道：请指明所属街道（--subdistrict 编码），或建区（市）级只读账号（--district）",
            {"subdistricts": [r.code for r in rows]},
        )
    return rows[0].code if rows else None


def create_token(
    session: Session, role: str, name: str, actor: str = "system", subdistrict: SubdistrictChoice = SERVED
) -> str:
    """Store a new token's hash and return the token itself (shown once, never stored); audited. Its
    subdistrict: see `subdistrict_for`."""
    if role not in TOKEN_ROLES:
        raise InvalidInput(f"unknown role {role!r}; choose one of {', '.join(TOKEN_ROLES)}")
    if not name.strip():
        raise InvalidInput("a token needs a name (who uses it)")
    code = subdistrict_for(session, role, subdistrict)
    token = "gg_" + secrets.token_urlsafe(32)
    row = token_repo.add(session, name.strip(), role, hash_token(token), code)
    audit_repo.add(
        session, actor, "token_create", {"role": role, "name": row.name, "subdistrict_code": code},
        subject=f"token:{row.id}",
    )  # fmt: skip
    return token


def authenticate(session: Session, token: str) -> Principal:
    row = token_repo.by_hash(session, hash_token(token))
    if row is None:
        raise NotAuthenticated("unknown or revoked token")
    return Principal(row.role, row.name, row.id, subdistrict_code=row.subdistrict_code)


def list_tokens(session: Session) -> list[dict[str, object]]:
    """Every token's id, role, name, subdistrict (None: district level) and dates (never the token: only
    its hash is stored)."""
    return [
        {"id": t.id, "role": t.role, "name": t.name, "subdistrict_code": t.subdistrict_code,
         "created_at": t.created_at, "revoked_at": t.revoked_at}
        for t in token_repo.list_all(session)
    ]  # fmt: skip


def revoke_token(session: Session, token_id: int, actor: str = "system") -> None:
    """Revoke a token (audited); it stays listed for the audit trail. Running services refuse it within
    their token cache TTL (GEO_GRID_TOKEN_CACHE_TTL_S, 5 s)."""
    if not token_repo.revoke(session, token_id):
        raise NotFound(f"no active token with id {token_id}")
    audit_repo.add(session, actor, "token_revoke", {}, subject=f"token:{token_id}")


def principal_for_user(role: str, name: str, user_id: int, subdistrict_code: str | None = None) -> Principal:
    """The principal of a console user's browser session: the user's role and subdistrict, the same policy
    as a token's."""
    return Principal(role, name, user_id=user_id, subdistrict_code=subdistrict_code)
