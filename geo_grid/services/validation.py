"""The validation report of a generation: every problem with its severity, area (m², EPSG:4547) and place.

Errors block activation, warnings do not:
- error   invalid_geometry   GEOS reason and [lon, lat] location (e.g. Ring Self-intersection)
- error   missing_parent     a micro-grid whose tertiary grid (or a tertiary grid whose community) is absent
- error   outside_parent     a micro-grid not within its tertiary grid, a tertiary grid not within its community
- error   overlap            two micro-grids (or two tertiary grids) overlapping, with the overlap's area
- error   gap                part of a tertiary grid covered by none of its micro-grids, or part of a community
                             covered by none of its tertiary grids (the community outline from the
                             communities table, or the active generation's tertiary grids where it has none)
- warning sliver             a grid, or a fragment of one, smaller than SLIVER_M2
- warning no_micro_grid_leader / no_grid_leader   nobody holds 微网格长 / 网格长 on the grid
Across subdistricts (issue 15), against the active boundaries of the neighbours along the shared border:
- error   overlap            a micro-grid of the generation and one of a neighbouring subdistrict overlapping
- error   gap                a sliver between the generation's outline and a neighbour's that touches both
                             (narrower than 2 × BORDER_GAP_M: what a morphological closing of the two fills)

Overlaps, gaps and overhangs below geo_grid.geometry.NOISE_M2 (1 m²) are floating-point noise of the
overlay arithmetic and ignored; a planner's real mistake is orders of magnitude larger.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import mapping
from sqlalchemy.orm import Session

from geo_grid import crs
from geo_grid import geometry as geo
from geo_grid.errors import GenerationNotFound
from geo_grid.repository import boundaries as repo
from geo_grid.repository import generations as generation_repo
from geo_grid.repository.boundaries import DraftGrid

# Half the width below which the space between two subdistricts' outlines is a gap along their border
# (metres): wider space is land of neither (a river, another district), not a drawing mistake.
BORDER_GAP_M = 25.0
# How close (metres) a gap must come to both outlines to lie between them.
_TOUCH_M = 0.01

LEADER_ROLE = {
    "micro": ("micro_grid_leader", "no_micro_grid_leader", "微网格长"),
    "tertiary": ("grid_leader", "no_grid_leader", "网格长"),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem of a generation. `geom` is in EPSG:4547 (None where there is no place to show)."""

    kind: str
    severity: str
    codes: list[str]
    message: str
    geom: Any = None
    area_m2: float | None = None
    reason: str | None = None
    location: list[float] | None = None

    def properties(self) -> dict[str, Any]:
        """The problem as JSON (and GeoJSON feature properties): area_m2 where it has one, reason and
        location for invalid geometry."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "severity": self.severity,
            "codes": self.codes,
            "message": self.message,
        }
        if self.kind == "invalid_geometry":
            out["reason"] = self.reason
            out["location"] = self.location
        if self.area_m2 is not None:
            out["area_m2"] = self.area_m2
        return out


@dataclass(frozen=True, slots=True)
class Thresholds:
    noise_m2: float
    sliver_m2: float
    area_crs: str


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The validation report of a generation; `geojson` holds the problems as a FeatureCollection."""

    generation: int
    status: str
    valid: bool
    counts: dict[str, int]
    by_kind: dict[str, int]
    thresholds: Thresholds
    problems: list[Problem]
    geojson: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GridShape:
    """What validation needs of a grid: its code, level, parent and WGS84 shapely geometry."""

    code: str
    level: str
    parent_code: str
    community_code: str
    geom: Any

    @classmethod
    def of(cls, grid: DraftGrid) -> GridShape:
        geom = shapely.from_wkb(grid.wkb)
        return cls(grid.code, grid.level, grid.parent_code, grid.community_code, geom)


def check(
    grids: Sequence[GridShape],
    communities: dict[str, Any],
    leaders: dict[str, set[str]],
    sliver_m2: float = geo.SLIVER_M2,
    noise_m2: float = geo.NOISE_M2,
) -> list[Problem]:
    """Every problem of a set of grids; `communities` maps a community code to its WGS84 outline.
    Problem geometries are in EPSG:4547."""
    out: list[Problem] = []
    metric = dict(zip([g.code for g in grids], crs.to_metric([g.geom for g in grids]), strict=True))
    by_level: dict[str, list[GridShape]] = defaultdict(list)
    for g in grids:
        by_level[g.level].append(g)
        v = geo.validity(g.geom)
        if not v.valid:
            point = shapely.Point(crs.lonlat_to_metric(*v.location)) if v.location else metric[g.code]
            msg = f"{g.code}: invalid geometry: {v.reason}" + (
                f" at {v.location[0]:.7f}, {v.location[1]:.7f}" if v.location else ""
            )
            out.append(
                Problem(
                    "invalid_geometry",
                    "error",
                    [g.code],
                    msg,
                    point,
                    reason=v.reason,
                    location=list(v.location) if v.location else None,
                )
            )
    parents: dict[str, dict[str, Any]] = {
        "micro": {g.code: metric[g.code] for g in by_level["tertiary"]},
        "tertiary": {c: crs.to_metric(geom) for c, geom in communities.items() if geom is not None},
    }
    for level, parent_name in (("micro", "tertiary grid"), ("tertiary", "community")):
        grids_l = by_level[level]
        children: dict[str, list[Any]] = defaultdict(list)
        for g in grids_l:
            m = metric[g.code]
            children[g.parent_code].append(m)
            parent = parents[level].get(g.parent_code)
            if parent is None:
                out.append(
                    Problem(
                        "missing_parent",
                        "error",
                        [g.code],
                        f"{g.code}: its {parent_name} {g.parent_code} is not in this generation",
                        m,
                    )
                )
                continue
            over = geo.outside(m, parent, noise_m2)
            if over:
                out.append(
                    Problem(
                        "outside_parent",
                        "error",
                        [g.code, g.parent_code],
                        f"{g.code}: {over.area_m2:.1f} m² lie outside its {parent_name} {g.parent_code}",
                        over.geom,
                        area_m2=round(over.area_m2, 1),
                    )
                )
        codes = [g.code for g in grids_l]
        # (a subdistrict's first draft may hold one level only: no grids, no pairs)
        for piece in geo.overlaps(codes, [metric[c] for c in codes], noise_m2) if codes else []:
            a, b = piece.codes
            out.append(
                Problem(
                    "overlap",
                    "error",
                    [a, b],
                    f"{a} and {b} overlap by {piece.area_m2:.1f} m²",
                    piece.geom,
                    area_m2=round(piece.area_m2, 1),
                )
            )
        for parent_code, parent in parents[level].items():
            for piece in geo.gaps(parent, children.get(parent_code, []), noise_m2):
                out.append(
                    Problem(
                        "gap",
                        "error",
                        [parent_code],
                        f"{piece.area_m2:.1f} m² of {parent_name} {parent_code} belong to no {level} grid",
                        piece.geom,
                        area_m2=round(piece.area_m2, 1),
                    )
                )
        role, kind, label = LEADER_ROLE[level]
        for g in grids_l:
            for piece in geo.slivers(metric[g.code], sliver_m2):
                out.append(
                    Problem(
                        "sliver",
                        "warning",
                        [g.code],
                        f"{g.code}: a sliver of {piece.area_m2:.1f} m² (under {sliver_m2:g} m²)",
                        piece.geom,
                        area_m2=round(piece.area_m2, 2),
                    )
                )
            if role not in leaders.get(g.code, set()):
                out.append(
                    Problem(
                        kind,
                        "warning",
                        [g.code],
                        f"{g.code}: no {label} ({role})",
                        metric[g.code].representative_point(),
                    )
                )
    out.sort(key=lambda p: (p.severity != "error", p.kind, p.codes))
    return out


def community_outlines(
    session: Session, grids_of_active: list[DraftGrid] | None, subdistrict: str | None = None
) -> dict[str, Any]:
    """Each community's outline (of the subdistrict, when named): the communities table, or the union of
    the active generation's tertiary grids for a community without one."""
    out: dict[str, Any] = {}
    for code, wkb in repo.community_geometries(session, subdistrict).items():
        out[code] = shapely.from_wkb(wkb) if wkb is not None else None
    missing = [c for c, g in out.items() if g is None]
    if missing and grids_of_active:
        for code in missing:
            geoms = [
                shapely.from_wkb(g.wkb)
                for g in grids_of_active
                if g.level == "tertiary" and g.community_code == code
            ]
            out[code] = shapely.union_all(geoms) if geoms else None
    return out


def neighbours(session: Session, generation_id: int) -> dict[str, list[GridShape]]:
    """The active micro-grids of the other subdistricts near a generation, by subdistrict."""
    margin_deg = 2 * BORDER_GAP_M / 80_000.0  # ≥ 2 × BORDER_GAP_M at this latitude (1° ≥ 80 km)
    out: dict[str, list[GridShape]] = defaultdict(list)
    for g in repo.neighbour_grids(session, generation_id, margin_deg):
        out[g.subdistrict_code].append(GridShape(g.code, "micro", "", "", shapely.from_wkb(g.wkb)))
    return dict(out)


def across_border(
    grids: Sequence[GridShape],
    neighbours: dict[str, list[GridShape]],
    gap_m: float = BORDER_GAP_M,
    noise_m2: float = geo.NOISE_M2,
) -> list[Problem]:
    """Overlaps with, and gaps against, the neighbouring subdistricts' micro-grids along the border.
    Problem geometries are in EPSG:4547."""
    micro = [g for g in grids if g.level == "micro"]
    if not micro or not neighbours:
        return []
    own = dict(
        zip(
            [g.code for g in micro],
            [geo.repaired(m) for m in crs.to_metric([g.geom for g in micro])],
            strict=True,
        )
    )
    own_outline = shapely.union_all(list(own.values()))
    out: list[Problem] = []
    for sub, theirs in sorted(neighbours.items()):
        metric = [geo.repaired(m) for m in crs.to_metric([g.geom for g in theirs])]
        near = [
            (g.code, m) for g, m in zip(theirs, metric, strict=True) if m.distance(own_outline) <= 2 * gap_m
        ]
        if not near:
            continue
        tree = shapely.STRtree([m for _, m in near])
        for code, mine in own.items():
            for i in tree.query(mine, predicate="intersects"):
                other_code, other = near[int(i)]
                piece = geo.polygonal(mine.intersection(other))
                if piece.area >= noise_m2:
                    out.append(
                        Problem(
                            "overlap",
                            "error",
                            [code, other_code],
                            f"{code} overlaps {other_code} of subdistrict {sub} by {piece.area:.1f} m²",
                            piece,
                            area_m2=round(piece.area, 1),
                        )
                    )
        their_outline = shapely.union_all([m for _, m in near])
        both = shapely.union_all([own_outline, their_outline])
        # Offsetting out and back in (mitred, so that the corners where two outlines part stay as drawn)
        # fills exactly the space narrower than 2 × gap_m.
        closed = both.buffer(gap_m, join_style="mitre", mitre_limit=10).buffer(
            -gap_m, join_style="mitre", mitre_limit=10
        )
        for piece in geo.parts(closed.difference(both)):
            touches = piece.distance(own_outline) <= _TOUCH_M and piece.distance(their_outline) <= _TOUCH_M
            if touches and piece.area >= noise_m2:
                out.append(
                    Problem(
                        "gap",
                        "error",
                        [sub],
                        f"{piece.area:.1f} m² between this subdistrict and subdistrict {sub} belong to neither",
                        piece,
                        area_m2=round(piece.area, 1),
                    )
                )
    return out


def report(session: Session, generation_id: int, sliver_m2: float = geo.SLIVER_M2) -> ValidationReport:
    """The validation report of a generation, with a GeoJSON FeatureCollection of the problems."""
    gen = generation_repo.get(session, generation_id)
    if gen is None:
        raise GenerationNotFound(f"no generation {generation_id}")
    grids = [GridShape.of(g) for g in repo.load_grids(session, generation_id)]
    active = generation_repo.active(session, gen.subdistrict_code)
    active_rows = repo.load_grids(session, active.id, "tertiary") if active else None
    outlines = community_outlines(session, active_rows, gen.subdistrict_code)
    problems = check(grids, outlines, repo.leaders(session), sliver_m2)
    problems += across_border(grids, neighbours(session, generation_id))
    problems.sort(key=lambda p: (p.severity != "error", p.kind, p.codes))
    features = [
        {
            "type": "Feature",
            "id": i,
            "properties": p.properties(),
            "geometry": mapping(crs.from_metric(p.geom)) if p.geom is not None else None,
        }
        for i, p in enumerate(problems)
    ]
    counts = {"error": sum(p.severity == "error" for p in problems)}
    counts["warning"] = len(problems) - counts["error"]
    by_kind: dict[str, int] = defaultdict(int)
    for p in problems:
        by_kind[p.kind] += 1
    return ValidationReport(
        generation=generation_id,
        status=gen.status,
        valid=counts["error"] == 0,
        counts=counts,
        by_kind=dict(by_kind),
        thresholds=Thresholds(geo.NOISE_M2, sliver_m2, f"EPSG:{crs.METRIC_EPSG}"),
        problems=problems,
        geojson={"type": "FeatureCollection", "features": features},
    )


def errors_of(report_: ValidationReport) -> list[Problem]:
    return [p for p in report_.problems if p.severity == "error"]
