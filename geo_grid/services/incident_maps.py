"""The incident map (GET /maps/incidents, `geo-grid maps incidents`): which reports a caller sees on it
(incident_query, one rule for the embedded page, its report tiles and the tiled page's counts), their
markers and popups; what a caller sees follows geo_grid/privacy.py (no sensitive reports and coarse report
points for the public, masked phones)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from geo_grid import privacy, reporting
from geo_grid.errors import GridNotFound, InvalidInput, ReportNotFound
from geo_grid.labels import CATEGORY_LABELS, STAGE_LABELS, STATUS_LABELS, SUBDISTRICT_CENTRE
from geo_grid.render.basemap import Basemap
from geo_grid.repository import grids as grid_repo
from geo_grid.repository import maps as repo
from geo_grid.repository import reports as report_repo
from geo_grid.repository import scope as scope_repo
from geo_grid.repository import tiles as tile_repo
from geo_grid.repository.generations import Generation
from geo_grid.repository.report_records import Report
from geo_grid.repository.scope import EVERYTHING, Scope
from geo_grid.services import categories as category_service
from geo_grid.services import grids as grid_service
from geo_grid.services import maps as map_service

# The page builders (geo_grid.render) are imported by the functions that draw a page, not at start-up
# (tests/unit/test_startup_imports.py).
if TYPE_CHECKING:
    import folium

    from geo_grid.render.incidents import IncidentData

# Closed (and rejected, duplicate) reports older than this are hidden unless asked for.
CLOSED_SHOWN_DAYS = 30
# What the incident map's markers carry of each report (never its free text or the reporter's contact).
MAP_REPORT_FIELDS = ("id", "external_id", "category", "status", "created_at", "due_at", "overdue",
                     "closed_at", "micro_code", "tertiary_code", "community_code", "stage", "light")  # fmt: skip


@dataclass(frozen=True)
class IncidentFilter:
    statuses: list[str] | None = None
    categories: list[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    grid: str | None = None
    include_closed: bool = False
    access: Scope = EVERYTHING  # the caller's scope: its subdistrict's reports only (repository/scope.py)
    # Whose map (named, else the caller's own; None: the only subdistrict, else the whole district). One
    # named that is not a subdistrict caller's own (`access`) or unknown: 404 (maps.page_subdistrict).
    subdistrict: str | None = None


def _check(values: list[str] | None, allowed: tuple[str, ...], what: str) -> None:
    bad = sorted(set(values or []) - set(allowed))
    if bad:
        raise InvalidInput(f"unknown {what}: {', '.join(bad)}", {"allowed": list(allowed)})


def incident_query(
    session: Session, f: IncidentFilter, personal: bool, now: datetime
) -> tuple[report_repo.ReportFilter, list[Generation]]:
    """The reports an incident map of `f` shows the caller (its filter checked, its subdistrict's reports,
    the sensitive categories left out for whom the policy hides them) and the generations it is drawn on:
    one rule for the embedded page, its tiles (GET /tiles/reports/…), the tiled page's counts and the
    choropleth of open reports per grid (choropleth_counts).
    The generations are maps.map_generations' (the listings' rule): of the subdistrict named (or the
    caller's own), the one `f.grid` names, the only one — else, several subdistricts and a district-level
    or anonymous caller, every subdistrict's active one, with the reports of the caller's scope."""
    _check(f.statuses, reporting.STATUSES, "status")
    table = category_service.table(session)
    _check(f.categories, table.codes, "category")
    if f.since and f.until and f.since >= f.until:
        raise InvalidInput("since must be before until")
    # A subdistrict named by a subdistrict's caller (its scope) must be its own: else 404, as if unknown.
    named = map_service.page_subdistrict(session, f.subdistrict, f.access.subdistrict_code)
    gens = map_service.map_generations(session, None, named, belongs_to=f.grid)
    # A district-level caller (or the public) looking at one subdistrict's map sees that subdistrict's reports.
    access = Scope(gens[0].subdistrict_code) if f.access.everything and len(gens) == 1 else f.access
    query = report_repo.ReportFilter(
        status=f.statuses,
        category=f.categories,
        since=f.since,
        until=f.until,
        grid=f.grid,
        closed_since=None if f.include_closed else now - timedelta(days=CLOSED_SHOWN_DAYS),
        access=access,
        exclude_categories=privacy.hidden_categories(privacy.role_for(personal), table.sensitive),
    )
    return query, gens


def choropleth_counts(session: Session, query: report_repo.ReportFilter, now: datetime) -> dict[str, int]:
    """Open reports per micro-grid of the page's query (incident_query: its status, category, time and
    grid filters, its subdistrict, the caller's scope): no caller learns a count of reports it may not
    see. The sensitive categories the markers leave out for the public are counted (privacy.listed:
    "only as counts"; README, personal data)."""
    counted = replace(query, exclude_categories=())
    return repo.open_counts(session, counted, now, tuple(sorted(reporting.TERMINAL)))


def _incident_row(
    r: Report,
    personal: bool,
    names: dict[str, str],
    leaders: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """One report as the incident map's marker and popup show it (privacy.py: coarse point for the public,
    the responsible 微网格长's phone as the caller may see it; never free text or the reporter's contact)."""
    role = privacy.role_for(personal)
    people = leaders.get(r.micro_code or "", [])
    responsible = "、".join(
        f"微网格长 {p['name']} {map_service.shown_phone(p['phone'], personal) or ''}".strip() for p in people
    )
    return {
        **{k: getattr(r, k) for k in MAP_REPORT_FIELDS},
        "lon": privacy.coarse(r.lon, role),
        "lat": privacy.coarse(r.lat, role),
        "grid_name": names.get(r.micro_code or ""),
        "responsible": responsible or SUBDISTRICT_CENTRE,
    }


def _incident_data(session: Session, page: map_service.Page, **fields: Any) -> IncidentData:
    from geo_grid.render.incidents import IncidentData

    table = category_service.table(session)
    api = page.api_url.rstrip("/")
    return IncidentData(
        status_labels=STATUS_LABELS,
        category_labels={**CATEGORY_LABELS, **table.labels},
        stage_labels=STAGE_LABELS,
        report_url=api + "/reports/{id}",
        console_url=api + "/console/reports/{id}",
        **fields,
    )


def _tile_query(f: IncidentFilter, subdistrict: str | None) -> str:
    """The page's filter as the query string of its report tiles (the tile asks the same rule again; no
    subdistrict: the whole district's)."""
    params: list[tuple[str, str]] = [("subdistrict", subdistrict)] if subdistrict else []
    params += [("status", ",".join(f.statuses))] if f.statuses else []
    params += [("category", ",".join(f.categories))] if f.categories else []
    params += [("since", f.since.isoformat())] if f.since else []
    params += [("until", f.until.isoformat())] if f.until else []
    params += [("grid", f.grid)] if f.grid else []
    params += [("include_closed", "true")] if f.include_closed else []
    return urlencode(params)


def incident_map(
    session: Session,
    basemap: Basemap,
    personal: bool,
    f: IncidentFilter,
    now: datetime,
    page: map_service.Page | None = None,
    tiles_above: int | None = None,
) -> folium.Map:
    """Reports on the active generation's micro-grids (of one subdistrict, or of every one: the whole
    district, incident_query); old closed ones only when `include_closed`.
    Above `tiles_above` reports (None: never) they are drawn from the vector tiles (GET /tiles/reports/…,
    render/tiled.py TiledReports) and their popups come from GET /maps/popups/reports/{id}."""
    from geo_grid.render.incidents import ReportTiles, build_incident_map

    page = page or map_service.Page()
    query, gens = incident_query(session, f, personal, now)
    micro = [
        g for gen in gens for g in map_service.geoms(repo.grids(session, gen.id)) if g["level"] == "micro"
    ]
    one = gens[0] if len(gens) == 1 else None  # else the whole district
    names = {g["code"]: g["name"] for g in micro}
    known = (
        {g["code"] for g in micro} | {g["parent_code"] for g in micro} | {g["community_code"] for g in micro}
    )
    if f.grid and f.grid not in known:
        raise GridNotFound(f"no grid with code {f.grid!r}")
    note = "" if f.include_closed else f"{CLOSED_SHOWN_DAYS}天前办结的上报已隐藏（include_closed=true 显示）"
    name = (
        map_service.subdistrict_name(session, one.subdistrict_code)
        if one
        else map_service.district_title(session)
    )
    title = f"{name}事件地图"
    open_counts = choropleth_counts(session, query, now)
    if tiles_above is not None and basemap.crs == "wgs84":
        summary = tile_repo.reports_summary(session, query, now)
        if summary.total > tiles_above:
            api = page.api_url.rstrip("/")
            reports_query = _tile_query(f, one.subdistrict_code if one else None)
            # No generation (the whole district): the tiles draw every subdistrict's active one.
            micro_query = f"?generation={one.id}" if one else ""
            tiles = ReportTiles(
                tile_url=f"{api}/tiles/reports/{{z}}/{{x}}/{{y}}.mvt"
                + (f"?{reports_query}" if reports_query else ""),
                micro_tile_url=f"{api}/tiles/micro_grids/{{z}}/{{x}}/{{y}}.mvt{micro_query}",
                popup_url=f"{api}/maps/popups/reports/{{id}}",
                single_min_zoom=tile_repo.REPORT_SINGLE_MIN_ZOOM,
                total=summary.total,
                overdue=summary.overdue,
                red=summary.red,
                statuses=summary.statuses,
            )
            data = _incident_data(
                session, page, title=title, reports=[], micro=micro, open_counts=open_counts, note=note,
                tiles=tiles,
            )  # fmt: skip
            return build_incident_map(data, basemap, page.assets_url)
    leaders = repo.micro_leaders(session)
    role = privacy.role_for(personal)
    table = category_service.table(session)
    reports = [
        _incident_row(r, personal, names, leaders)
        for r in repo.reports(session, query, now)
        if privacy.listed(r.category, role, table.sensitive)  # sensitive: only in the counts (choropleth)
    ]
    data = _incident_data(
        session, page, title=title, reports=reports, micro=micro, open_counts=open_counts, note=note
    )
    return build_incident_map(data, basemap, page.assets_url)


@dataclass(frozen=True)
class ReportPopup:
    id: int
    html: str


def report_popup(
    session: Session, report_id: int, personal: bool, now: datetime, access: Scope = EVERYTHING
) -> ReportPopup:
    """One report's popup as the embedded incident page binds it (render/incidents.report_popup over the
    same row): what a tiled incident page opens on click. A report outside the caller's scope, without a
    point, or of a category the policy does not list to the caller is not found, as for GET /reports/{id}."""
    from geo_grid.render.incidents import report_popup as render_report_popup

    table = category_service.table(session)
    visible = scope_repo.report_visible(session, access, report_id)
    found = report_repo.get(session, report_id, now) if visible else None
    role = privacy.role_for(personal)
    if found is None or found.lon is None or not privacy.listed(found.category, role, table.sensitive):
        raise ReportNotFound(f"no report {report_id}")
    names: dict[str, str] = {}
    if found.micro_code:  # the grid's name in its subdistrict's active generation, as the page names it
        gen = grid_service.resolve_generation(session, None, None, found.micro_code[:9])
        names = grid_repo.names(session, gen.id, [found.micro_code])
    leaders = repo.micro_leaders(session)
    row = _incident_row(found, personal, names, leaders)
    data = _incident_data(session, map_service.Page(), title="", reports=[], micro=[])
    return ReportPopup(found.id, render_report_popup(row, data))
