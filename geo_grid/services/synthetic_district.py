"""A synthetic district in an empty database (`geo-grid load-sample --synthetic-district N`; issue 15).

N subdistricts tiled exactly (geo_grid/synthetic.py: neighbouring subdistricts share their border
coordinate for coordinate), each with its row, its active generation, its communities, a 网格长 on every
tertiary grid and a 微网格长 on every micro-grid, one standard address per micro-grid and a few reports,
placed and given their deadlines like any intake — for tests, demos and benchmarks. Generated data, not
real places or people (no phone numbers)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import shapely
from geoalchemy2.shape import from_shape
from sqlalchemy.orm import Session

from geo_grid import synthetic
from geo_grid.errors import Conflict
from geo_grid.geometry import to_multipolygon
from geo_grid.models import SRID, Address, Community, Grid, Role
from geo_grid.reporting import NewReport
from geo_grid.repository import bulk
from geo_grid.repository import reports as report_repo
from geo_grid.repository import subdistricts as subdistrict_repo
from geo_grid.services import categories as category_service
from geo_grid.services import directory as directory_service
from geo_grid.services import reports as report_service
from geo_grid.services import stages as stage_service
from geo_grid.services.sample import SAMPLE_VALID_FROM

# The district the synthetic subdistricts belong to (金水区, 郑州市, 河南省).
DISTRICT = ("410105", "金水区", "410100", "郑州市", "410000", "河南省")


@dataclass(frozen=True, slots=True)
class SyntheticLoad:
    subdistricts: int
    communities: int
    grids: int
    people: int
    addresses: int
    reports: int


def load(
    session: Session,
    subdistricts: int,
    micro_per_subdistrict: int = 1000,
    reports_per_subdistrict: int = 20,
    near_boundary_m: float = 5.0,
    seed: int = 0,
) -> SyntheticLoad:
    """Insert a synthetic district into an empty database; caller commits."""
    if not bulk.is_empty(session):
        raise Conflict(
            "the database already holds data; a synthetic district is only loaded into an empty one"
        )
    district = synthetic.synthetic_district(subdistricts, micro_per_subdistrict, seed=seed)
    subdistrict_repo.upsert(
        session, [subdistrict_repo.Subdistrict(s.code, s.name, *DISTRICT) for s in district.subdistricts]
    )
    generation: dict[str, int] = {}
    for sub in district.subdistricts:
        gen = bulk.add_generation(
            session,
            subdistrict_code=sub.code,
            status="active",
            note="合成区（非真实边界）",
            created_by="synthetic",
            created_at=SAMPLE_VALID_FROM,
            activated_by="synthetic",
            activated_at=SAMPLE_VALID_FROM,
        )
        generation[sub.code] = gen.id
    bulk.insert_rows(
        session,
        Community,
        [
            {"code": c.code, "name": c.name, "geom": from_shape(to_multipolygon(c.polygon), srid=SRID),
             "subdistrict_code": c.code[:9]}
            for c in district.communities
        ],
    )  # fmt: skip
    grids = [*district.tertiary_grids, *district.micro_grids]
    bulk.insert_rows(
        session,
        Grid,
        [
            {"generation_id": generation[g.code[:9]], "code": g.code, "level": g.level, "name": g.name,
             "parent_code": g.parent_code, "community_code": g.code[:12],
             "geom": from_shape(to_multipolygon(g.polygon), srid=SRID), "updated_by": "synthetic"}
            for g in grids
        ],
    )  # fmt: skip
    leaders = [(g, "grid_leader" if g.level == "tertiary" else "micro_grid_leader") for g in grids]
    pk = bulk.insert_people(
        session,
        [{"person_id": f"S{g.code}", "name": f"合成{g.code[-6:]}", "phone": None, "subdistrict_code": g.code[:9]}
         for g, _ in leaders],
    )  # fmt: skip
    bulk.insert_rows(
        session,
        Role,
        [{"person_id": pk[f"S{g.code}"], "role": role, "grid_code": g.code} for g, role in leaders],
    )
    points = {
        g.code: shapely.get_coordinates(g.polygon.representative_point())[0] for g in district.micro_grids
    }
    bulk.insert_rows(
        session,
        Address,
        [
            {"address_id": f"A{code}", "address": f"{code[:9]}合成路{n}号", "road": "合成路", "number": f"{n}号",
             "community_code": code[:12], "micro_code": code, "subdistrict_code": code[:9],
             "geom": f"SRID={SRID};POINT({float(x)!r} {float(y)!r})"}
            for n, (code, (x, y)) in enumerate(points.items(), start=1)
        ],
    )  # fmt: skip
    session.flush()
    reports = _reports(session, district, reports_per_subdistrict, near_boundary_m, seed)
    return SyntheticLoad(
        subdistricts=len(district.subdistricts),
        communities=len(district.communities),
        grids=len(grids),
        people=len(leaders),
        addresses=len(points),
        reports=reports,
    )


def _reports(
    session: Session, district: synthetic.SyntheticDistrict, per_subdistrict: int, near_m: float, seed: int
) -> int:
    """Reports at random points of random micro-grids, placed by the live directory like an intake."""
    directory = directory_service.build_active(session)
    if directory is None or per_subdistrict <= 0:
        return 0
    rng = random.Random(seed)
    table = category_service.table(session)
    categories = sorted(c.code for c in table.categories if c.active and not c.sensitive)
    by_sub: dict[str, list[synthetic.SyntheticArea]] = {}
    for g in district.micro_grids:
        by_sub.setdefault(g.code[:9], []).append(g)
    rows = []
    for sub, micro in by_sub.items():
        clock = report_service.clock_for(session, sub)
        for i in range(per_subdistrict):
            cell = rng.choice(micro)
            x0, y0, x1, y1 = cell.polygon.bounds
            while True:  # a uniform point of the cell (rejection sampling on its box)
                x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
                if cell.polygon.contains(shapely.Point(x, y)):
                    break
            new = NewReport(
                category=rng.choice(categories), channel="hotline", description="合成上报", lon=x, lat=y,
                external_id=f"R{sub}{i:05d}",
            )  # fmt: skip
            rows.append(report_service.row_for(new, report_service.locate(directory, x, y, near_m), clock))
    ids = report_repo.insert_many(session, rows)
    stage_service.insert_initial(session, ids, rows)
    return len(ids)
