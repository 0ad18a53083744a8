"""OGC API – Features use cases: the collections, their items (area, time and property filters, paging)
and single features, in CRS84, CGCS2000 (EPSG:4490) or EPSG:4547 (Part 2, CRS by reference).

Coordinates follow the axis order of the CRS asked for (Part 2): CRS84 lon, lat; EPSG:4490 lat, lon;
EPSG:4547 northing, easting. Reports go through geo_grid/privacy.py like every other output.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from geo_grid import labels, privacy, reporting
from geo_grid.errors import InvalidParameter, NotFound
from geo_grid.repository import generations as generation_repo
from geo_grid.repository import ogc as ogc_repo
from geo_grid.repository import reports as report_repo
from geo_grid.repository import scope as scope_repo
from geo_grid.repository import subdistricts as subdistrict_repo
from geo_grid.repository.ogc import Extent, FeaturePage, FeatureQuery, FeatureRow, ReportQuery
from geo_grid.repository.report_records import Report
from geo_grid.repository.scope import EVERYTHING, Scope
from geo_grid.repository.subdistricts import Subdistrict
from geo_grid.services import categories as category_service
from geo_grid.services import reports as report_service
from geo_grid.services import subdistricts
from geo_grid.services.ogc_params import (
    CRS84,
    DECIMALS,
    TimeFilter,
    parse_bbox,
    parse_crs,
    parse_datetime,
    parse_int,
    parse_subdistrict,
    reproject,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
MAX_OFFSET = 10_000_000


@dataclass(frozen=True, slots=True)
class CollectionMeta:
    """A collection's id, Chinese title and description, and whether its features change with time."""

    id: str
    title: str
    description: str
    temporal: str | None  # "generation" (grids), "created_at" (reports) or None
    filterable: tuple[str, ...]


def _meta(cid: str, title: str, description: str, temporal: str | None = None) -> CollectionMeta:
    filterable = ogc_repo.REPORT_FILTERABLE if cid == "reports" else ogc_repo.SOURCES[cid].filterable
    return CollectionMeta(cid, title, description, temporal, filterable)


COLLECTIONS: dict[str, CollectionMeta] = {
    m.id: m
    for m in (
        _meta(
            "micro_grids",
            "微网格",
            "各街道的微网格边界（datetime 指定时刻时为当时生效的边界代次；subdistrict=街道编码 只看该街道）",
            "generation",
        ),
        _meta(
            "tertiary_grids",
            "三级网格",
            "各街道的三级网格边界（datetime 指定时刻时为当时生效的边界代次；subdistrict=街道编码 只看该街道）",
            "generation",
        ),
        _meta("communities", "社区", "各街道的社区边界（subdistrict=街道编码 只看该街道）"),
        _meta("facilities", "设施", "智慧停车场、充电桩、服务中心等设施（点或面）"),
        _meta("road_segments", "路段", "路段长负责的路段（线）"),
        _meta("courtyards", "楼院", "楼院长负责的楼院（面）"),
        _meta(
            "reports",
            "群众上报",
            "群众上报的问题（datetime 按上报时间筛选）。匿名调用者：敏感类别不列出，位置取到约百米，"
            "不含个人信息；调度员及以上的令牌看到上报接口给它看的全部内容",
            "created_at",
        ),
    )
}

# Query parameters every items request may carry besides the collection's property filters.
# `subdistrict`: one subdistrict's features only (services/subdistricts.py decides the default).
ITEM_PARAMS = frozenset({"f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "subdistrict"})


@dataclass(frozen=True, slots=True)
class ItemsRequest:
    """A parsed items request."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    area_wkt: str | None = None
    time: TimeFilter | None = None
    equals: tuple[tuple[str, str], ...] = ()
    crs: str = CRS84
    subdistrict: str | None = None  # the subdistrict named (`?subdistrict=`)


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    """A collection with its extent (CRS84 bbox, time span) as /ogc/collections describes it."""

    meta: CollectionMeta
    extent: Extent


def collection(cid: str) -> CollectionMeta:
    meta = COLLECTIONS.get(cid)
    if meta is None:
        raise NotFound(f"没有名为 {cid!r} 的集合", {"collections": list(COLLECTIONS)})
    return meta


# --------------------------------------------------------------------------------------------- parsing


def parse_items(cid: str, params: dict[str, str]) -> ItemsRequest:
    """The items request of collection `cid` from its query parameters (400 for an unknown one)."""
    meta = collection(cid)
    unknown = sorted(k for k in params if k not in ITEM_PARAMS and k not in meta.filterable)
    if unknown:
        raise InvalidParameter(
            f"未知的查询参数：{'、'.join(unknown)}",
            {"parameters": sorted(ITEM_PARAMS), "filterable": list(meta.filterable)},
        )
    time = parse_datetime(params.get("datetime"))
    if time is not None and meta.temporal == "generation" and not time.instant:
        raise InvalidParameter("网格集合的 datetime 须是一个时刻（返回那一刻生效的边界）")
    return ItemsRequest(
        limit=parse_int(params.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=parse_int(params.get("offset"), "offset", 0, 0, MAX_OFFSET),
        area_wkt=parse_bbox(params.get("bbox"), params.get("bbox-crs")),
        time=time,
        equals=tuple((k, params[k]) for k in meta.filterable if k in params),
        crs=parse_crs(params.get("crs")),
        subdistrict=parse_subdistrict(params.get("subdistrict")),
    )


# ------------------------------------------------------------------------------------------ reproject


def _precision(target: str) -> int:
    # Reprojected output is computed from full-precision coordinates, then rounded once.
    return DECIMALS[CRS84] if target == CRS84 else 15


def _out(row: FeatureRow, target: str) -> FeatureRow:
    return FeatureRow(row.id, row.properties, reproject(row.geometry, target))


# -------------------------------------------------------------------------------------------- queries


def meant(session: Session, named: str | None, access: Scope) -> Subdistrict | None:
    """The subdistrict a request reads (the one named, the caller's own, the only one); None: every
    subdistrict (the whole district) — a read never asks which (services/subdistricts.py)."""
    return subdistricts.meant_or_district(session, named, caller=access.subdistrict_code)


def _generation_ids(session: Session, time: TimeFilter | None, sub: Subdistrict | None) -> list[int]:
    """The boundary generations in force at the instant (the active ones without one): the subdistrict's,
    or every subdistrict's; empty when none was (or no subdistrict is loaded yet)."""
    rows = [sub] if sub is not None else subdistrict_repo.list_all(session)
    out = []
    for row in rows:
        gen = (
            generation_repo.at(session, time.start.astimezone(UTC), row.code)
            if time is not None and time.start is not None
            else generation_repo.active(session, row.code)
        )
        if gen is not None:
            out.append(gen.id)
    return out


def _reports_access(sub: Subdistrict | None, access: Scope) -> Scope:
    """A district-level caller reading one subdistrict's reports reads them in its scope."""
    return Scope(sub.code) if sub is not None and access.everything else access


def _report_row(report: Report, role: str) -> FeatureRow:
    props = privacy.report(report.as_dict(), role)
    props["status_label"] = reporting.status_label(report.status)
    props["category_label"] = report.category_label  # the categories table's name
    props["channel_label"] = labels.CHANNEL_LABELS.get(report.channel, report.channel)
    lon, lat = props.get("lon"), props.get("lat")
    geometry = None if lon is None or lat is None else {"type": "Point", "coordinates": [lon, lat]}
    return FeatureRow(report.id, props, geometry)


def _report_filter(session: Session, role: str, access: Scope = EVERYTHING) -> report_repo.ReportFilter:
    sensitive = category_service.table(session).sensitive
    return report_repo.ReportFilter(
        exclude_categories=privacy.hidden_categories(role, sensitive), access=access
    )


def _coarse(role: str) -> int | None:
    return None if privacy.sees_personal_data(role) else privacy.PUBLIC_DECIMALS


def items(
    session: Session, cid: str, req: ItemsRequest, role: str, access: Scope = EVERYTHING
) -> FeaturePage:
    """A page of collection `cid` as `role` may see it (reports: in the caller's scope), in `req.crs`."""
    meta = collection(cid)
    sub = meant(session, req.subdistrict, access)
    if cid == "reports":
        time = req.time
        q = ReportQuery(
            filter=_report_filter(session, role, _reports_access(sub, access)),
            area_wkt=req.area_wkt,
            start=time.start if time else None,
            end=time.end if time else None,
            equals=req.equals,
            limit=req.limit,
            offset=req.offset,
            coarse_decimals=_coarse(role),
        )
        reports, matched = ogc_repo.report_page(session, q, report_service.now())
        return FeaturePage([_out(_report_row(r, role), req.crs) for r in reports], matched)
    gen = None
    if meta.temporal == "generation":
        gen = _generation_ids(session, req.time, sub)
        if not gen:  # no boundaries were in force then
            return FeaturePage([], 0)
    query = FeatureQuery(
        area_wkt=req.area_wkt,
        equals=req.equals,
        limit=req.limit,
        offset=req.offset,
        precision=_precision(req.crs),
        subdistrict=sub.code if sub is not None else None,
    )
    page = ogc_repo.page(session, cid, query, gen)
    return FeaturePage([_out(r, req.crs) for r in page.features], page.matched)


def item(
    session: Session,
    cid: str,
    feature_id: str,
    target: str,
    role: str,
    access: Scope = EVERYTHING,
    subdistrict: str | None = None,
) -> FeatureRow:
    """One feature of collection `cid` (grids: of the active generations) as `role` may see it (a report of
    another subdistrict than the caller's: not found; of another than `subdistrict`, when named: too)."""
    sub = meant(session, subdistrict, access)
    meta = collection(cid)
    missing = NotFound(f"集合 {meta.title}（{cid}）中没有编号为 {feature_id!r} 的要素")
    if cid == "reports":
        if not (feature_id.isascii() and feature_id.isdigit() and int(feature_id) < 2**63):
            raise missing
        report = report_repo.get(session, int(feature_id), report_service.now())
        if report is None or not privacy.listed(
            report.category, role, category_service.table(session).sensitive
        ):
            raise missing
        within = _reports_access(sub, access)
        if not within.everything and not scope_repo.report_visible(session, within, report.id):
            raise missing
        return _out(_report_row(report, role), target)
    gen = _generation_ids(session, None, sub) if meta.temporal == "generation" else None
    code = sub.code if sub is not None else None
    row = ogc_repo.item(session, cid, feature_id, _precision(target), gen, code)
    if row is None:
        raise missing
    return _out(row, target)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


def describe(
    session: Session, cid: str, role: str, access: Scope = EVERYTHING, subdistrict: str | None = None
) -> CollectionInfo:
    """A collection with its extent as `role` (in its scope) sees it: of the subdistrict meant, or of the
    whole district."""
    meta = collection(cid)
    sub = meant(session, subdistrict, access)
    if cid == "reports":
        extent = ogc_repo.report_extent(
            session,
            _report_filter(session, role, _reports_access(sub, access)),
            report_service.now(),
            _coarse(role),
        )
    elif meta.temporal == "generation":
        extent = ogc_repo.extent(session, cid, _generation_ids(session, None, sub))
        rows = [sub] if sub is not None else subdistrict_repo.list_all(session)
        starts = [t for r in rows if (t := ogc_repo.first_activation(session, r.code)) is not None]
        extent = Extent(extent.bbox, min(starts) if starts else None, None)
    else:
        extent = ogc_repo.extent(session, cid, subdistrict=sub.code if sub is not None else None)
    return CollectionInfo(meta, extent)


def temporal_interval(info: CollectionInfo) -> list[str | None] | None:
    """The collection's [start, end] in RFC 3339 (None when it has no time dimension)."""
    if info.meta.temporal is None:
        return None
    return [_iso(info.extent.start), _iso(info.extent.end)]
