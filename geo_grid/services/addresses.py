"""Address → grid chain → people: one in-memory AddressBook (matcher + per-address 楼院长/路段长), the
address import and the flat CSV records of `geo-grid geocode`.

The book is built from the database at start-up and after an import, never edited: a new book is built
aside and swapped in with one reference assignment (as the grid directory is). The 楼院长 and 路段长 of
every address are precomputed into it, so a lookup runs no SQL: match → point → grid (the lookup rule,
on the current GridDirectory) → people.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from geo_grid import clock
from geo_grid.errors import ImportFailed, ServiceUnavailable
from geo_grid.geocoding import AddressMatcher, Candidate, MatchResult, place_prefixes
from geo_grid.repository import addresses as address_repo
from geo_grid.repository import assignment
from geo_grid.repository import audit as audit_repo
from geo_grid.repository import communities as community_repo
from geo_grid.repository import generations as generation_repo
from geo_grid.services import lookup as lookup_service
from geo_grid.services import subdistricts
from geo_grid.services.directory import GridDirectory, PersonRole
from geo_grid.services.snapshots import SnapshotHolder

# The people of an answer, in this order (the roles the issue names: 三长 of the address).
ANSWER_ROLES = ("micro_grid_leader", "grid_leader", "courtyard_chief", "road_section_chief")
MAX_BATCH_QUERIES = 10_000
CSV_COLUMNS = ("address_id", "address", "road", "number", "courtyard", "building", "unit", "lon", "lat")
_MAX_LEN = {"address_id": 20, "address": 300, "road": 100, "number": 20, "courtyard": 100}
_MAX_LEN |= {"building": 20, "unit": 20, "community_code": 12}


@dataclass(frozen=True, slots=True)
class AddressPoint:
    """One standard address with what is precomputed for it."""

    address_id: str
    address: str
    lon: float
    lat: float
    courtyard: tuple[str, str] | None  # (courtyard_id, name) of the courtyard covering the point
    segment: tuple[str, str, float] | None  # (segment_id, road_name, distance_m) answering for it
    courtyard_chiefs: tuple[PersonRole, ...] = ()
    road_chiefs: tuple[PersonRole, ...] = ()


@dataclass(frozen=True)
class AddressBook:
    matcher: AddressMatcher
    points: Mapping[str, AddressPoint]
    built_at: datetime = field(default_factory=clock.now)
    # The newest address import (audit log id) this book includes; a newer one means rebuild.
    import_mark: int = 0


@dataclass(frozen=True)
class Resolution:
    """A query's answer: the match, and — only when matched — the address point (the group's
    representative door plate for coarser levels), its placement and its people by role."""

    result: MatchResult
    best: Candidate | None = None
    point: AddressPoint | None = None
    placement: lookup_service.Placement | None = None
    people: Mapping[str, tuple[PersonRole, ...]] = field(default_factory=dict)


def build(session: Session) -> AddressBook:
    mark = address_repo.import_mark(session)
    rows = address_repo.all_rows(session)
    courtyards = address_repo.courtyards_of_addresses(session)
    segments = address_repo.road_segments_of_addresses(session)
    court_chiefs = address_repo.people_by_target(session, "courtyard_chief")
    road_chiefs = address_repo.people_by_target(session, "road_section_chief")
    points: dict[str, AddressPoint] = {}
    for r in rows:
        court = courtyards.get(r.address_id)
        seg = segments.get(r.address_id)
        points[r.address_id] = AddressPoint(
            r.address_id,
            r.address,
            r.lon,
            r.lat,
            court,
            seg,
            tuple(court_chiefs.get(court[0], ())) if court else (),
            tuple(road_chiefs.get(seg[0], ())) if seg else (),
        )
    home = subdistricts.home(session)
    prefixes = place_prefixes(home.admin_chain if home else (), community_repo.names(session).values())
    matcher = AddressMatcher.from_rows((r.as_row() for r in rows), prefixes=prefixes)
    return AddressBook(matcher, points, import_mark=mark)


def _build_book(session: Session, _import_mark: object) -> AddressBook:
    return build(session)


def address_book_holder() -> SnapshotHolder[AddressBook]:
    """The holder of the one address book: its version is the newest address import
    (`address_repo.import_mark`), so an import by another process (the CLI) is noticed."""
    return SnapshotHolder("address_book", address_repo.import_mark, _build_book)


def load(factory: sessionmaker[Session]) -> AddressBook:
    """The address book, built once (the CLI's commands, which hold no runtime)."""
    with factory() as session:
        return build(session)


def require(book: AddressBook | None) -> AddressBook:
    if book is None:
        raise ServiceUnavailable("the standard address table is not loaded yet")
    return book


def resolve(book: AddressBook, directory: GridDirectory, query: str) -> Resolution:
    """Match `query`; a matched answer is placed by the lookup rule and gets its people by role."""
    result = book.matcher.match(query)
    best = result.best
    if best is None:
        return Resolution(result)
    point = book.points.get(best.address_id or best.representative_id)
    if point is None:  # the matcher and the points are built from the same rows; never expected
        return Resolution(result, best)
    placement = lookup_service.place(directory, point.lon, point.lat)
    people: dict[str, tuple[PersonRole, ...]] = {}
    for role, grid in (("micro_grid_leader", placement.micro), ("grid_leader", placement.tertiary)):
        team = directory.people.get(grid.code, ()) if grid is not None else ()
        people[role] = tuple(p for p in team if p.role == role)
    people["courtyard_chief"] = point.courtyard_chiefs
    people["road_section_chief"] = point.road_chiefs
    return Resolution(result, best, point, placement, people)


# -- import --------------------------------------------------------------------------------------------


def _fail(path: Path, line: int, message: str, **detail: Any) -> ImportFailed:
    return ImportFailed(f"{path.name}: row {line}: {message}; nothing was imported", {"row": line, **detail})


def read_csv(path: Path) -> list[dict[str, Any]]:
    """Read and check an address CSV (header address_id,address,road,number,courtyard,building,unit,lon,
    lat[,community_code]). The first bad row raises ImportFailed naming its line; nothing is returned."""
    if not path.is_file():
        raise ImportFailed(f"cannot read {path}: no such file")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in CSV_COLUMNS if c not in header]
        if missing:
            raise ImportFailed(
                f"{path.name}: the header lacks {', '.join(missing)}; nothing was imported",
                {"row": 1, "missing_columns": missing},
            )
        rows: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        try:
            for raw in reader:
                rows.append(_check_row(path, reader.line_num, raw, seen))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise _fail(path, reader.line_num + 1, f"unreadable ({exc})") from exc
    if not rows:
        raise ImportFailed(f"{path.name} holds no addresses; nothing was imported")
    return rows


def _check_row(path: Path, line: int, raw: Mapping[str, Any], seen: dict[str, int]) -> dict[str, Any]:
    if None in raw:
        raise _fail(path, line, "more fields than the header has")
    row: dict[str, Any] = {}
    for col, limit in _MAX_LEN.items():
        value = (raw.get(col) or "").strip()
        if len(value) > limit:
            raise _fail(path, line, f"{col} is longer than {limit} characters", column=col, value=value)
        row[col] = value or None
    for col in ("address_id", "address"):
        if not row[col]:
            raise _fail(path, line, f"{col} is empty", column=col)
    if row["address_id"] in seen:
        raise _fail(
            path,
            line,
            f"address_id {row['address_id']} repeats row {seen[row['address_id']]}",
            column="address_id",
        )
    seen[row["address_id"]] = line
    code = row["community_code"]
    if code is not None and not (code.isdigit() and len(code) == 12):
        raise _fail(path, line, f"community_code {code!r} is not a 12-digit code", column="community_code")
    for col, lo, hi in (("lon", -180.0, 180.0), ("lat", -90.0, 90.0)):
        value = (raw.get(col) or "").strip()
        try:
            number = float(value)
        except ValueError:
            raise _fail(path, line, f"{col} {value!r} is not a number", column=col, value=value) from None
        if not (math.isfinite(number) and lo <= number <= hi):
            raise _fail(path, line, f"{col} {value} is outside [{lo:g}, {hi:g}]", column=col, value=value)
        row[col] = number
    return row


@dataclass(frozen=True)
class ImportSummary:
    rows: int
    added: int
    replaced: int
    deleted: int
    total: int
    outside: int  # addresses whose point no active micro-grid covers


def import_rows(
    session: Session, rows: list[dict[str, Any]], replace_all: bool = False, actor: str = "cli"
) -> ImportSummary:
    """Upsert the checked rows (by address_id; `replace_all` deletes addresses not in them) and assign
    every address to its micro-grid of the active generation in PostGIS. Caller commits or rolls back."""
    before = address_repo.existing_ids(session)
    replaced = sum(1 for r in rows if r["address_id"] in before)
    deleted = address_repo.upsert(session, rows, replace_all)
    home = subdistricts.home(session)
    gen = generation_repo.active(session, home.code) if home else None
    if gen is not None:
        assignment.assign_addresses(session, gen.id)
        address_repo.fill_community_codes(session, gen.id)
    total = address_repo.count(session)
    outside = sum(1 for r in address_repo.all_rows(session) if r.micro_code is None)
    summary = ImportSummary(len(rows), len(rows) - replaced, replaced, deleted, total, outside)
    # Recorded in the audit log; its id is also the mark by which running services notice the import.
    audit_repo.add(session, actor, address_repo.IMPORT_ACTION, asdict(summary))
    return summary


# -- flat records (geocode CSV) ------------------------------------------------------------------------

GEOCODE_COLUMNS = (
    "status",
    "level",
    "confidence",
    "address_id",
    "matched_address",
    "lon",
    "lat",
    "micro_code",
    "tertiary_code",
    "community_code",
    *ANSWER_ROLES,
    "suggestions",
)


def flat_record(res: Resolution, with_phones: bool = False) -> dict[str, str]:
    """One CSV row of a resolution: leader names joined by 、; the `*_phone` columns exist only with
    `with_phones` (files leave the service unmasked, so phones are opt-in); unmatched rows are kept with
    their status and the ranked suggestions."""
    r = res.result
    out = dict.fromkeys(GEOCODE_COLUMNS, "")
    out["status"] = r.status
    out["confidence"] = f"{r.confidence:.3f}"
    if with_phones:
        out |= {f"{role}_phone": "" for role in ANSWER_ROLES}
    if res.best is None or res.point is None:
        out["suggestions"] = " | ".join(f"{c.address} ({c.confidence:.2f})" for c in r.candidates)
        return out
    best, p = res.best, res.placement
    out |= {
        "level": best.level,
        "address_id": best.address_id or "",
        "matched_address": best.address,
        "lon": f"{best.lon:.7f}",
        "lat": f"{best.lat:.7f}",
    }
    if p is not None:
        out["micro_code"] = p.micro.code if p.micro else ""
        out["tertiary_code"] = p.tertiary.code if p.tertiary else ""
        out["community_code"] = p.community_code or ""
    for role in ANSWER_ROLES:
        people = res.people.get(role, ())
        out[role] = "、".join(x.name for x in people)
        if with_phones:
            out[f"{role}_phone"] = "、".join(x.phone or "" for x in people)
    return out
