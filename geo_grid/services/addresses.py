"""Address → grid chain → people, the address import and the flat CSV records of `geo-grid geocode`.

The in-memory book (matcher + per-address 楼院长/路段长) is services/address_book.py; a lookup runs no SQL:
match → point → grid (the lookup rule, on the current GridDirectory) → people.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import shapely
from sqlalchemy.orm import Session

from geo_grid.crs import lonlat_to_metric, to_metric
from geo_grid.errors import ImportFailed, OtherSubdistrict, ServiceUnavailable
from geo_grid.geocoding import Candidate, MatchResult
from geo_grid.geocoding.results import LEVELS
from geo_grid.repository import addresses as address_repo
from geo_grid.repository import assignment
from geo_grid.repository import audit as audit_repo
from geo_grid.repository import generations as generation_repo
from geo_grid.services import lookup as lookup_service
from geo_grid.services import subdistricts
from geo_grid.services.address_book import AddressBook as AddressBook
from geo_grid.services.address_book import AddressPoint as AddressPoint
from geo_grid.services.address_book import AddressPoints as AddressPoints
from geo_grid.services.address_book import address_book_holder as address_book_holder
from geo_grid.services.address_book import build as build
from geo_grid.services.address_book import load as load
from geo_grid.services.directory import GridDirectory, GridInfo, PersonRole

# The people of an answer, in this order (the roles the issue names: 三长 of the address).
ANSWER_ROLES = ("micro_grid_leader", "grid_leader", "courtyard_chief", "road_section_chief")
MAX_BATCH_QUERIES = 10_000
CSV_COLUMNS = ("address_id", "address", "road", "number", "courtyard", "building", "unit", "lon", "lat")
_MAX_LEN = {"address_id": 20, "address": 300, "road": 100, "number": 20, "courtyard": 100}
_MAX_LEN |= {"building": 20, "unit": 20, "community_code": 12}


@dataclass(frozen=True)
class GridCandidate:
    """A micro-grid the circle of `precision_m` around the answer touches, with its people."""

    micro: GridInfo
    tertiary: GridInfo | None
    distance_m: float  # from the answer's point to the grid (0 when it covers the point)
    primary: bool  # the grid covering the point by the lookup rule
    people: Mapping[str, tuple[PersonRole, ...]]


# At most this many grids are listed for a wide circle (a whole road): the nearest ones.
MAX_GRID_CANDIDATES = 8


@dataclass(frozen=True)
class Resolution:
    """A query's answer: the match, and — only when matched — the address point (the group's
    representative door plate for coarser levels; the place itself for an intersection or a landmark),
    its placement and its people by role, how far the place meant may be (`precision_m`) and, when that
    circle touches several micro-grids, those grids with their people (`grid_candidates`)."""

    result: MatchResult
    best: Candidate | None = None
    point: AddressPoint | None = None
    placement: lookup_service.Placement | None = None
    people: Mapping[str, tuple[PersonRole, ...]] = field(default_factory=dict)
    precision_m: float = 0.0
    grid_candidates: tuple[GridCandidate, ...] = ()

    @property
    def is_door_plate(self) -> bool:
        """Placed by a standard door plate (levels unit … road), not by a spoken place."""
        return self.best is not None and self.best.level in LEVELS


def require(book: AddressBook | None) -> AddressBook:
    if book is None:
        raise ServiceUnavailable("the standard address table is not loaded yet")
    return book


def _spoken_point(book: AddressBook, best: Candidate) -> AddressPoint:
    """The point of an intersection or a landmark, with the 楼院长 of the courtyard covering it and the
    路段长 of the segment answering for it (a segment of the road(s) named first, within 300 m)."""
    court = book.courtyards.covering(best.lon, best.lat) if book.courtyards else None
    seg = None
    network = book.spoken.network if book.spoken else None
    if network is not None:
        prefer = tuple(best.place_id.split("#")[0].split("/")) if best.level == "intersection" else ()
        seg = network.nearest_segment(best.lon, best.lat, address_repo.ROAD_SEGMENT_MAX_M, prefer)
    return AddressPoint(
        best.place_id or best.address,
        best.address,
        best.lon,
        best.lat,
        court,
        seg,
        book.courtyard_chiefs.get(court[0], ()) if court else (),
        book.road_chiefs.get(seg[0], ()) if seg else (),
    )


def _leaders(directory: GridDirectory, micro: GridInfo | None, tertiary: GridInfo | None) -> dict[str, Any]:
    people: dict[str, tuple[PersonRole, ...]] = {}
    for role, grid in (("micro_grid_leader", micro), ("grid_leader", tertiary)):
        team = directory.people.get(grid.code, ()) if grid is not None else ()
        people[role] = tuple(p for p in team if p.role == role)
    return people


def grid_candidates(
    directory: GridDirectory, lon: float, lat: float, radius: float, primary: GridInfo | None
) -> tuple[GridCandidate, ...]:
    """The micro-grids within `radius` metres of the point (EPSG:4547), primary first then by distance,
    at most MAX_GRID_CANDIDATES; empty when the circle touches one grid only. Remembered per directory
    snapshot (answers name a bounded set of points: door plates, places, crossings)."""
    memo = cast(
        dict[tuple[float, float, float], tuple[GridCandidate, ...]],
        directory.memo.setdefault("address_grid_candidates", {}),
    )
    key = (lon, lat, radius)
    found_before = memo.get(key)
    if found_before is not None:
        return found_before
    if len(memo) >= _GRID_CANDIDATE_MEMO:
        memo.clear()
    memo[key] = out = _grid_candidates(directory, lon, lat, radius, primary)
    return out


_GRID_CANDIDATE_MEMO = 50_000


def _degrees_at_least(metres: float, lat: float) -> float:
    """A distance in degrees (lon/lat taken as plane coordinates) at least as long as `metres` in
    EPSG:4547 near `lat`: a degree of longitude is the shorter, 111.32 km × cos(lat); a fifth more for
    the projection's scale error, and a few metres of slack."""
    per_degree = 111_320.0 * max(math.cos(math.radians(min(abs(lat), 85.0))), 0.05)
    return (metres * 1.2 + 5.0) / per_degree


def _grid_candidates(
    directory: GridDirectory, lon: float, lat: float, radius: float, primary: GridInfo | None
) -> tuple[GridCandidate, ...]:
    # The index's own WGS84 polygons under a tree of their boxes (no second, projected copy of a city's
    # grids): a box search in degrees wide enough for any metre at these latitudes, then the exact test
    # and distance in EPSG:4547 on the few polygons it finds.
    polygons = directory.index.polygons
    tree = directory.memo.get("address_circle_tree")
    if tree is None:
        tree = directory.memo["address_circle_tree"] = shapely.STRtree(np.asarray(polygons, dtype=object))
    strtree = cast(Any, tree)
    x, y = lonlat_to_metric(lon, lat)
    p = shapely.Point(float(x), float(y))
    radius = max(radius, 0.0)
    near = strtree.query(
        shapely.Point(lon, lat), predicate="dwithin", distance=_degrees_at_least(radius, lat)
    )
    found: list[tuple[bool, float, str]] = []
    for i in sorted(int(j) for j in near):
        metric = to_metric(polygons[i])
        if not shapely.dwithin(metric, p, radius):
            continue
        code = directory.index.codes[i]
        is_primary = primary is not None and code == primary.code
        found.append((not is_primary, 0.0 if is_primary else float(metric.distance(p)), code))
    if primary is not None and not any(not f[0] for f in found):
        found.append((False, 0.0, primary.code))
    if len(found) < 2:
        return ()
    out: list[GridCandidate] = []
    for not_primary, dist, code in sorted(found)[:MAX_GRID_CANDIDATES]:
        micro, tertiary = directory.chain(code)
        people = _leaders(directory, micro, tertiary)
        out.append(GridCandidate(micro, tertiary, round(dist, 1), not not_primary, people))
    return tuple(out)


def resolve(book: AddressBook, directory: GridDirectory, query: str) -> Resolution:
    """Match `query`; a matched answer is placed by the lookup rule and gets its people by role."""
    result = book.match(query)
    best = result.best
    if best is None:
        return Resolution(result)
    if best.level in LEVELS:
        point = book.points.get(best.address_id or best.representative_id)
        if point is None:  # the matcher and the points are built from the same rows; never expected
            return Resolution(result, best)
    else:
        point = _spoken_point(book, best)
    placement = lookup_service.place(directory, point.lon, point.lat)
    people = _leaders(directory, placement.micro, placement.tertiary)
    people["courtyard_chief"] = point.courtyard_chiefs
    people["road_section_chief"] = point.road_chiefs
    grids: tuple[GridCandidate, ...] = ()
    if best.precision_m > 0 or placement.on_boundary:  # a door plate's circle is its point
        grids = grid_candidates(directory, point.lon, point.lat, best.precision_m, placement.micro)
    return Resolution(result, best, point, placement, people, best.precision_m, grids)


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


def _refuse_other_subdistricts(session: Session, rows: list[dict[str, Any]], code: str) -> None:
    foreign = [
        r["address_id"] for r in rows if r.get("community_code") and not r["community_code"].startswith(code)
    ]
    owners = address_repo.subdistricts_of_ids(session, [r["address_id"] for r in rows])
    foreign += [i for i, owner in owners.items() if owner != code]
    if foreign:
        raise OtherSubdistrict(
            f"{len(foreign)} address(es) belong to another subdistrict than {code} (e.g. {foreign[0]}); "
            "nothing was imported",
            {"subdistrict": code, "address_ids": foreign[:20]},
        )


@dataclass(frozen=True)
class ImportSummary:
    rows: int
    added: int
    replaced: int
    deleted: int
    total: int
    outside: int  # addresses whose point no active micro-grid covers


def import_rows(
    session: Session,
    rows: list[dict[str, Any]],
    replace_all: bool = False,
    actor: str = "cli",
    subdistrict: str | None = None,
) -> ImportSummary:
    """Upsert the checked rows as the address book of one subdistrict (named, else the only one: a write
    never guesses, 422 with several) — by
    address_id; `replace_all` deletes the subdistrict's addresses not in them — and assign them to the
    micro-grids of its active generation in PostGIS. A row whose community code, or whose address_id,
    belongs to another subdistrict is refused. Caller commits or rolls back."""
    sub = subdistricts.for_write(session, subdistrict)
    _refuse_other_subdistricts(session, rows, sub.code)
    before = address_repo.existing_ids(session)
    replaced = sum(1 for r in rows if r["address_id"] in before)
    deleted = address_repo.upsert(session, rows, replace_all, sub.code)
    gen = generation_repo.active(session, sub.code)
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
    "precision_m",
    "qualifier",
    "grid_candidates",
)


def flat_record(res: Resolution, with_phones: bool = False) -> dict[str, str]:
    """One CSV row of a resolution: leader names joined by 、; the `*_phone` columns exist only with
    `with_phones` (files leave the service unmasked, so phones are opt-in); unmatched rows are kept with
    their status and the ranked suggestions."""
    r = res.result
    out = dict.fromkeys(GEOCODE_COLUMNS, "")
    out["status"] = r.status
    out["confidence"] = f"{r.confidence:.3f}"
    out["qualifier"] = r.qualifier or ""
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
        "precision_m": f"{res.precision_m:.0f}",
        "grid_candidates": " | ".join(g.micro.code for g in res.grid_candidates),
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
