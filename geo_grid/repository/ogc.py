"""SQL for the OGC API – Features collections: one page of features (area filter, property filters,
paging, the total matched) and a collection's extent, all in PostGIS.

Every collection but `reports` is a table described by a `Source` (its id, properties and geometry); the
grid collections are read in one generation. `reports` reuses the report queries of repository/reports.py
(the same columns, SLA deadlines and filters as GET /reports).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.models import METRIC_SRID, SRID
from geo_grid.repository import reports as report_repo
from geo_grid.repository.report_records import Report


@dataclass(frozen=True, slots=True)
class Source:
    """A table served as a collection: FROM clause, fixed condition, id, properties, geometry, order."""

    from_: str
    id_expr: str
    properties: dict[str, str]  # property name -> SQL expression
    geom: str
    order: str
    condition: str = "true"
    # Properties a caller may filter on with ?name=value (text columns, compared exactly).
    filterable: tuple[str, ...] = ()
    # True when the source is read in boundary generations (`:gens`: one per subdistrict).
    by_generation: bool = False
    # The column naming a row's subdistrict (FeatureQuery.subdistrict filters on it).
    subdistrict: str | None = None


def _area(geom: str) -> str:
    return f"round(ST_Area(ST_Transform({geom}, {METRIC_SRID}))::numeric, 1)::float"


def _length(geom: str) -> str:
    return f"round(ST_Length(ST_Transform({geom}, {METRIC_SRID}))::numeric, 1)::float"


def _grid_source(level: str) -> Source:
    return Source(
        from_="grids g",
        condition=f"g.generation_id = ANY(:gens) AND g.level = '{level}'",
        id_expr="g.code",
        properties={
            "code": "g.code",
            "name": "g.name",
            "level": "g.level",
            "parent_code": "g.parent_code",
            "community_code": "g.community_code",
            "version": "g.version",
            "generation_id": "g.generation_id",
            # Several subdistricts are served at once (issue 15), as in GET /grids.
            "subdistrict_code": "(SELECT gen.subdistrict_code FROM generations gen WHERE gen.id = g.generation_id)",
            "area_m2": _area("g.geom"),
        },
        geom="g.geom",
        order="g.code",
        filterable=("code", "name", "level", "parent_code", "community_code"),
        by_generation=True,
    )


SOURCES: dict[str, Source] = {
    "micro_grids": _grid_source("micro"),
    "tertiary_grids": _grid_source("tertiary"),
    "communities": Source(
        from_="communities c",
        subdistrict="c.subdistrict_code",
        id_expr="c.code",
        properties={"code": "c.code", "name": "c.name", "area_m2": _area("c.geom")},
        geom="c.geom",
        order="c.code",
        filterable=("code", "name"),
    ),
    "facilities": Source(
        from_="facilities f",
        subdistrict="f.subdistrict_code",
        id_expr="f.id",
        properties={
            "id": "f.id",
            "facility_id": "f.facility_id",
            "kind": "f.kind",
            "name": "f.name",
            "attributes": "f.attributes",
            "micro_code": "f.micro_code",
            "geometry_type": "GeometryType(f.geom)",
            "area_m2": f"CASE WHEN GeometryType(f.geom) = 'POINT' THEN NULL ELSE {_area('f.geom')} END",
            "created_at": "f.created_at",
            "updated_at": "f.updated_at",
        },
        geom="f.geom",
        order="f.id",
        filterable=("facility_id", "kind", "name", "micro_code"),
    ),
    "road_segments": Source(
        from_="road_segments s",
        subdistrict="s.subdistrict_code",
        id_expr="s.segment_id",
        properties={
            "segment_id": "s.segment_id",
            "road_name": "s.road_name",
            "tertiary_code": "s.tertiary_code",
            "community_code": "s.community_code",
            "length_m": _length("s.geom"),
        },
        geom="s.geom",
        order="s.segment_id",
        filterable=("segment_id", "road_name", "tertiary_code", "community_code"),
    ),
    "courtyards": Source(
        from_="courtyards y",
        subdistrict="y.subdistrict_code",
        id_expr="y.courtyard_id",
        properties={
            "courtyard_id": "y.courtyard_id",
            "name": "y.name",
            "micro_code": "y.micro_code",
            "tertiary_code": "y.tertiary_code",
            "community_code": "y.community_code",
            "area_m2": _area("y.geom"),
        },
        geom="y.geom",
        order="y.courtyard_id",
        filterable=("courtyard_id", "name", "micro_code", "tertiary_code", "community_code"),
    ),
}

# Properties of reports a caller may filter on (columns of the reports table, compared exactly).
REPORT_FILTERABLE = ("category", "status", "channel", "community_code", "tertiary_code", "micro_code")


@dataclass(frozen=True, slots=True)
class FeatureQuery:
    """What a page of a collection asks for. `area_wkt` is a polygon in the storage CRS (EPSG:4326)."""

    area_wkt: str | None = None
    equals: tuple[tuple[str, str], ...] = ()
    limit: int = 100
    offset: int = 0
    # Decimals of the GeoJSON coordinates (7 as everywhere in the API; more when they are reprojected).
    precision: int = 7
    # Only this subdistrict's rows (tables with a subdistrict column; grids go by their generations).
    subdistrict: str | None = None


@dataclass(frozen=True, slots=True)
class FeatureRow:
    """One feature: its id, properties and GeoJSON geometry in the storage CRS (None when it has none)."""

    id: str | int
    properties: dict[str, Any]
    geometry: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class FeaturePage:
    """A page of features and how many the query matches in all."""

    features: list[FeatureRow]
    matched: int


@dataclass(frozen=True, slots=True)
class Extent:
    """A collection's bounding box in the storage CRS and the span of its times (None when unknown)."""

    bbox: tuple[float, float, float, float] | None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(slots=True)
class _Where:
    clauses: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "true"


Generations = int | Sequence[int] | None


def _where(source: Source, query: FeatureQuery, generation_id: Generations) -> _Where:
    w = _Where([source.condition], {})
    if source.by_generation:
        ids = (
            []
            if generation_id is None
            else [generation_id]
            if isinstance(generation_id, int)
            else generation_id
        )
        w.params["gens"] = list(ids)
    if query.subdistrict is not None and source.subdistrict is not None:
        w.clauses.append(f"{source.subdistrict} = :subdistrict")
        w.params["subdistrict"] = query.subdistrict
    if query.area_wkt is not None:
        w.clauses.append(f"ST_Intersects({source.geom}, ST_GeomFromText(:area, {SRID}))")
        w.params["area"] = query.area_wkt
    for i, (name, value) in enumerate(query.equals):
        if name not in source.filterable:
            raise ValueError(f"{name} is not a filterable property")
        w.clauses.append(f"{source.properties[name]} = :eq{i}")
        w.params[f"eq{i}"] = value
    return w


def _select(source: Source, precision: int) -> str:
    props = ", ".join(f"{expr} AS {name}" for name, expr in source.properties.items())
    return (
        f"SELECT {source.id_expr} AS _id, ST_AsGeoJSON({source.geom}, {int(precision)})::json AS _geometry, "
        f"{props} FROM {source.from_}"
    )


def _row(r: Any) -> FeatureRow:
    m = dict(r._mapping)
    return FeatureRow(id=m.pop("_id"), geometry=m.pop("_geometry"), properties=m)


def page(
    session: Session, collection: str, query: FeatureQuery, generation_id: Generations = None
) -> FeaturePage:
    """A page of a table collection (ordered by its id) and the number of features the query matches."""
    source = SOURCES[collection]
    w = _where(source, query, generation_id)
    total = session.execute(
        text(f"SELECT count(*) FROM {source.from_} WHERE {w.sql()}"), w.params
    ).scalar_one()
    sql = f"{_select(source, query.precision)} WHERE {w.sql()} ORDER BY {source.order} LIMIT :limit OFFSET :offset"
    rows = session.execute(text(sql), {**w.params, "limit": query.limit, "offset": query.offset})
    return FeaturePage([_row(r) for r in rows], int(total))


def item(
    session: Session,
    collection: str,
    feature_id: str,
    precision: int = 7,
    generation_id: Generations = None,
    subdistrict: str | None = None,
) -> FeatureRow | None:
    """One feature of a table collection by its id (None when there is none)."""
    source = SOURCES[collection]
    w = _where(source, FeatureQuery(subdistrict=subdistrict), generation_id)
    if source.id_expr == "f.id":  # facilities: numeric ids
        if not (feature_id.isascii() and feature_id.isdigit() and int(feature_id) < 2**31):
            return None
        w.params["fid"] = int(feature_id)
    else:
        w.params["fid"] = feature_id
    sql = f"{_select(source, precision)} WHERE {w.sql()} AND {source.id_expr} = :fid"
    row = session.execute(text(sql), w.params).first()
    return _row(row) if row is not None else None


def extent(
    session: Session, collection: str, generation_id: Generations = None, subdistrict: str | None = None
) -> Extent:
    """The bounding box of a table collection (in its generations for grids)."""
    source = SOURCES[collection]
    w = _where(source, FeatureQuery(subdistrict=subdistrict), generation_id)
    sql = f"""SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1
              FROM (SELECT ST_Extent({source.geom}) AS e FROM {source.from_} WHERE {w.sql()}) s"""
    r = session.execute(text(sql), w.params).one()
    return Extent(None if r.x0 is None else (r.x0, r.y0, r.x1, r.y1))


def first_activation(session: Session, subdistrict: str) -> datetime | None:
    """When the subdistrict's first generation went live (the start of the grids' temporal extent)."""
    sql = "SELECT min(activated_at) FROM generations WHERE subdistrict_code = :sub"
    value = session.execute(text(sql), {"sub": subdistrict}).scalar_one()
    return value if isinstance(value, datetime) else None


# ----------------------------------------------------------------------------------------------- reports


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """A page of reports: the report filter (hidden categories …), an area, a created_at span (closed)."""

    filter: report_repo.ReportFilter
    area_wkt: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    equals: tuple[tuple[str, str], ...] = ()
    limit: int = 100
    offset: int = 0
    # The public sees points rounded to this many decimals (geo_grid/privacy.py): the area filter then
    # tests the rounded point, so that small boxes cannot tell more than the rounded point does.
    coarse_decimals: int | None = None


def _report_geom(decimals: int | None) -> str:
    if decimals is None:
        return "r.geom"
    d = int(decimals)
    return (
        f"ST_SetSRID(ST_MakePoint(round(ST_X(r.geom)::numeric, {d})::float8, "
        f"round(ST_Y(r.geom)::numeric, {d})::float8), {SRID})"
    )


def _report_where(q: ReportQuery, now: datetime) -> tuple[str, dict[str, Any]]:
    where, params = report_repo.filter_where(q.filter, now)
    clauses = [where]
    if q.area_wkt is not None:
        geom = _report_geom(q.coarse_decimals)
        clauses.append(f"r.geom IS NOT NULL AND ST_Intersects({geom}, ST_GeomFromText(:ogc_area, {SRID}))")
        params["ogc_area"] = q.area_wkt
    if q.start is not None:
        clauses.append("r.created_at >= :ogc_start")
        params["ogc_start"] = q.start
    if q.end is not None:
        clauses.append("r.created_at <= :ogc_end")
        params["ogc_end"] = q.end
    for i, (name, value) in enumerate(q.equals):
        if name not in REPORT_FILTERABLE:
            raise ValueError(f"{name} is not a filterable property")
        clauses.append(f"r.{name} = :ogc_eq{i}")
        params[f"ogc_eq{i}"] = value
    return " AND ".join(clauses), params


def report_page(session: Session, q: ReportQuery, now: datetime) -> tuple[list[Report], int]:
    """A page of the reports `q` selects (newest first, as GET /reports) and how many it selects in all."""
    where, params = _report_where(q, now)
    total = session.execute(text(f"SELECT count(*) {report_repo._FROM} WHERE {where}"), params).scalar_one()
    sql = (
        f"SELECT {report_repo._COLUMNS} {report_repo._SELECT_FROM} WHERE {where} "
        "ORDER BY r.created_at DESC, r.id DESC LIMIT :limit OFFSET :offset"
    )
    rows = session.execute(text(sql), {**params, "limit": q.limit, "offset": q.offset})
    return [Report.from_row(r) for r in rows], int(total)


def report_extent(
    session: Session, f: report_repo.ReportFilter, now: datetime, coarse_decimals: int | None = None
) -> Extent:
    """The bounding box (of the points as the caller sees them) and created_at span of the reports `f`
    selects."""
    where, params = report_repo.filter_where(f, now)
    geom = _report_geom(coarse_decimals)
    sql = f"""SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1, t0, t1
              FROM (SELECT ST_Extent({geom}) AS e, min(r.created_at) AS t0, max(r.created_at) AS t1
                    {report_repo._FROM} WHERE {where}) s"""
    r = session.execute(text(sql), params).one()
    return Extent(None if r.x0 is None else (r.x0, r.y0, r.x1, r.y1), r.t0, r.t1)
