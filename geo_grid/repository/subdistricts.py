"""SQL for subdistricts (街道): the rows that name a subdistrict and its district, city and province."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class Subdistrict:
    """A subdistrict as stored; codes are national statistical division codes (9, 6, 6, 6 digits)."""

    code: str
    name: str
    district_code: str
    district_name: str
    city_code: str
    city_name: str
    province_code: str
    province_name: str

    @property
    def admin_chain(self) -> tuple[str, str, str, str]:
        """Province → subdistrict: the prefixes people write before an address here."""
        return (self.province_name, self.city_name, self.district_name, self.name)


COLUMNS = tuple(f.name for f in fields(Subdistrict))
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM subdistricts"


def get(session: Session, code: str) -> Subdistrict | None:
    row = session.execute(text(f"{_SELECT} WHERE code = :code"), {"code": code}).first()
    return Subdistrict(**row._mapping) if row is not None else None


def list_all(session: Session) -> list[Subdistrict]:
    return [Subdistrict(**r._mapping) for r in session.execute(text(f"{_SELECT} ORDER BY code"))]


def upsert(session: Session, rows: Iterable[Subdistrict]) -> int:
    """Insert or update by code; returns how many rows were written."""
    params = [asdict(r) for r in rows]
    if params:
        names = ", ".join(COLUMNS)
        values = ", ".join(f":{c}" for c in COLUMNS)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c != "code")
        session.execute(
            text(
                f"INSERT INTO subdistricts ({names}) VALUES ({values}) ON CONFLICT (code) DO UPDATE SET {updates}"
            ),
            params,
        )
    return len(params)
