"""Map use cases: gather a page's layers (grids, people, facilities, reports, a draft's problems) and
hand them to the pure builders in geo_grid.render; what a caller sees follows geo_grid/privacy.py
(masked phones, no sensitive reports and coarse report points for the public)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import shapely
from sqlalchemy.orm import Session

from geo_grid import privacy, reporting
from geo_grid.errors import GenerationNotFound, GridNotFound, InvalidInput, NotFound, ReportNotFound
from geo_grid.labels import CATEGORY_LABELS, ROLE_LABELS, STAGE_LABELS, STATUS_LABELS, SUBDISTRICT_CENTRE
from geo_grid.render.assets import DEFAULT_ASSETS_URL
from geo_grid.render.basemap import Basemap
from geo_grid.render.basemap import from_settings as basemap_from_settings
from geo_grid.repository import communities as community_repo
from geo_grid.repository import grids as grid_repo
from geo_grid.repository import map_search as search_repo
from geo_grid.repository import maps as repo
from geo_grid.repository import people as people_repo
from geo_grid.repository import reports as report_repo
from geo_grid.repository import scope as scope_repo
from geo_grid.repository import subdistricts as subdistrict_repo
from geo_grid.repository import tiles as tile_repo
from geo_grid.repository.generations import Generation
from geo_grid.repository.map_search import GridHit
from geo_grid.repository.report_records import Report
from geo_grid.repository.scope import EVERYTHING, Scope
from geo_grid.services import categories as category_service
from geo_grid.services import generations as generation_service
from geo_grid.services import grids as grid_service
from geo_grid.settings import Settings

# The page builders (geo_grid.render: folium, branca, jinja2, and through folium pandas) are imported by
# the functions that draw or fill a page, not at start-up: a process that never draws a map never loads
# them (tests/unit/test_startup_imports.py).
if TYPE_CHECKING:
    import folium

    from geo_grid.render.incidents import IncidentData

# Closed (and rejected, duplicate) reports older than this are hidden unless asked for.
CLOSED_SHOWN_DAYS = 30
# What the incident map's markers carry of each report (never its free text or the reporter's contact).
MAP_REPORT_FIELDS = ("id", "external_id", "category", "status", "created_at", "due_at", "overdue",
                     "closed_at", "micro_code", "tertiary_code", "community_code", "stage", "light")  # fmt: skip


@dataclass(frozen=True)
class Page:
    """Where a page's links point: its assets and the API (absolute for a saved file, else relative)."""

    assets_url: str = DEFAULT_ASSETS_URL
    api_url: str = ""


def _subdistrict_name(session: Session, code: str) -> str:
    sub = subdistrict_repo.get(session, code)
    return sub.name if sub else code


def basemap_of(settings: Settings) -> Basemap:
    return basemap_from_settings(settings.basemap, settings.basemap_url, settings.tianditu_key)


def _phone(phone: str | None, personal: bool) -> str | None:
    return privacy.phone(phone, privacy.role_for(personal))


def _person(p: people_repo.PersonRole, personal: bool) -> dict[str, Any]:
    """A person as a map popup lists them (the phone as privacy.py shows it to the caller)."""
    return {
        "name": p.name,
        "role": p.role,
        "role_label": ROLE_LABELS.get(p.role, p.role),
        "duty": p.duty,
        "phone": _phone(p.phone, personal),
    }


def _people_by_grid(session: Session, personal: bool) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in people_repo.all_grid_roles(session):
        out[r.grid_code].append(_person(r.person, personal))
    return out


def _geoms(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            **{k: v for k, v in r.items() if k != "wkb"},
            "geom": shapely.from_wkb(bytes(r["wkb"])) if r["wkb"] else None,
        }
        for r in rows
    ]


def _validation(session: Session, generation_id: int) -> dict[str, Any]:
    # Issue 4's validation report: every problem of the generation as GeoJSON.
    from geo_grid.services import validation

    return dict(validation.report(session, generation_id).geojson)


def tiled(basemap: Basemap, n_micro: int, tiles_above: int | None) -> bool:
    """Whether a coverage page of `n_micro` micro-grids draws its grids from the vector tiles. Tiles are
    in WGS84, so a GCJ-02 basemap (高德) keeps the embedded, shifted polygons."""
    return tiles_above is not None and n_micro > tiles_above and basemap.crs == "wgs84"


def coverage_map(
    session: Session,
    basemap: Basemap,
    personal: bool,
    generation: int | None = None,
    focus: str | None = None,
    page: Page | None = None,
    tiles_above: int | None = None,
    subdistrict: str | None = None,
) -> folium.Map:
    """The coverage map of the active generation of `subdistrict` (None: the only one), or of `generation`;
    a draft also shows its problems.
    Above `tiles_above` micro-grids (None: never) the grids and communities come from the vector tiles
    and the page's popups and search from the API (geo_grid/render/tiled.py)."""
    from geo_grid.render.coverage import CoverageData, GridShape, TileSource, build_coverage_map

    page = page or Page()
    gen = grid_service.resolve_generation(session, None, generation, subdistrict)
    grids = _geoms(repo.grids(session, gen.id))
    if focus is not None and not any(g["code"] == focus for g in grids):
        raise GridNotFound(f"no grid with code {focus!r} in generation {gen.id}")
    people = _people_by_grid(session, personal)
    api = page.api_url.rstrip("/")
    source = (
        TileSource(
            tile_url=f"{api}/tiles/{{layer}}/{{z}}/{{x}}/{{y}}.mvt?generation={gen.id}",
            grid_url=f"{api}/maps/popups/grids/{{code}}?generation={gen.id}",
            search_url=f"{api}/maps/search?generation={gen.id}",
            label_url=f"{api}/maps/labels?generation={gen.id}",
            duty_url=f"{api}/maps/popups/{{kind}}/{{id}}",
        )
        if tiled(basemap, sum(g["level"] == "micro" for g in grids), tiles_above)
        else None
    )
    shapes = {
        level: [
            GridShape(
                g["code"],
                g["name"],
                g["level"],
                g["parent_code"],
                g["community_code"],
                g["geom"],
                people.get(g["code"], []),
            )
            for g in grids
            if g["level"] == level
        ]
        for level in ("tertiary", "micro")
    }
    communities = _geoms(repo.communities(session))
    status = {"draft": "草稿", "active": "现行", "retired": "历史"}.get(gen.status, gen.status)
    data = CoverageData(
        title=f"{_subdistrict_name(session, gen.subdistrict_code)}网格覆盖图（{status}代次 {gen.id}）",
        communities=[c for c in communities if c["geom"] is not None],
        tertiary=shapes["tertiary"],
        micro=shapes["micro"],
        facilities=_geoms(repo.facilities(session)),
        road_segments=_geoms(repo.road_segments(session)),
        courtyards=_geoms(repo.courtyards(session)),
        problems=_validation(session, gen.id) if gen.status == "draft" else None,
        focus=focus,
        community_names={c["code"]: c["name"] for c in communities},
        tiles=source,
    )
    return build_coverage_map(data, basemap, page.assets_url)


@dataclass(frozen=True)
class GridPopup:
    code: str
    name: str
    level: str
    html: str


def grid_popup(
    session: Session, code: str, generation: int | None, personal: bool, access: Scope = EVERYTHING
) -> GridPopup:
    """The popup of one grid, as the embedded coverage page binds it (coverage_labels.grid_popup, the
    grid's own people, phones as privacy.py shows them to the caller): what a tiled page opens on click.
    A grid outside the caller's scope is not found, as for GET /grids/{code}."""
    from geo_grid.render.coverage import GridShape
    from geo_grid.render.coverage_labels import grid_popup as render_grid_popup

    gen = grid_service.resolve_generation(session, None, generation)
    grid = grid_repo.get_grid(session, gen.id, code) if scope_repo.grid_code_in(access, code) else None
    if grid is None:
        raise GridNotFound(f"no grid with code {code!r} in generation {gen.id}")
    people = [_person(p, personal) for p in people_repo.for_grids(session, [code])]
    shape = GridShape(grid.code, grid.name, grid.level, grid.parent_code, grid.community_code, None, people)
    community = community_repo.names(session).get(grid.community_code)
    return GridPopup(grid.code, grid.name, grid.level, render_grid_popup(shape, community))


DUTY_TITLES = {"road_segments": ("路段", "路段长"), "courtyards": ("楼院", "楼院长")}


def duty_popup(session: Session, kind: str, area_id: str) -> GridPopup:
    """The popup of a road segment or courtyard as the embedded coverage page binds it (names of its
    chiefs, no phones): what a tiled page opens on click. `code` is the segment's or courtyard's id."""
    from geo_grid.render.coverage_labels import duty_popup as render_duty_popup

    area = search_repo.duty_area(session, kind, area_id)
    if area is None:
        raise NotFound(f"no {kind} {area_id!r}")
    title, role = DUTY_TITLES[kind]
    codes = {"micro_code": area.micro_code, "tertiary_code": area.tertiary_code}
    html = render_duty_popup(title, role, area.name, area.chiefs, codes)
    return GridPopup(area.id, area.name, kind, html)


@dataclass(frozen=True)
class Label:
    lat: float
    lon: float
    text: str  # "<name>\n<code>", the embedded page's label (a micro-grid's name without its parent's)


def grid_labels(session: Session, level: str, bbox: str, generation: int | None, limit: int) -> list[Label]:
    """The zoom-in labels of a tiled coverage page for the viewport `bbox` (what the embedded page
    writes for every grid: coverage.build_coverage_map's ZoomLabels)."""
    from geo_grid.render.coverage import GridShape
    from geo_grid.render.coverage_labels import short_name

    gen = grid_service.resolve_generation(session, None, generation)
    box = grid_service.parse_bbox(bbox)
    if box is None:
        raise InvalidInput("bbox is required")
    out = []
    for r in search_repo.labels(session, gen.id, level, box, limit):
        shape = GridShape(r.code, r.name, level, "parent", "", None)
        name = short_name(shape, {"parent": r.parent_name or ""}) if level == "micro" else r.name
        out.append(Label(r.lat, r.lon, f"{name}\n{r.code}"))
    return out


def search_grids(session: Session, q: str, generation: int | None, limit: int) -> list[GridHit]:
    """The tiled coverage page's search: grids of the generation by code (exact, or its first characters)
    or part of the name; `q` may be a suggestion as the box shows it ("<code> <name>")."""
    gen = grid_service.resolve_generation(session, None, generation)
    q = q.strip()
    if not q:
        return []
    return search_repo.search(session, gen.id, q, q.split(" ")[0], limit)


@dataclass(frozen=True)
class IncidentFilter:
    statuses: list[str] | None = None
    categories: list[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    grid: str | None = None
    include_closed: bool = False
    access: Scope = EVERYTHING  # the caller's scope: its subdistrict's reports only (repository/scope.py)
    subdistrict: str | None = None  # whose map (None: the only subdistrict); its reports only


def _check(values: list[str] | None, allowed: tuple[str, ...], what: str) -> None:
    bad = sorted(set(values or []) - set(allowed))
    if bad:
        raise InvalidInput(f"unknown {what}: {', '.join(bad)}", {"allowed": list(allowed)})


def incident_query(
    session: Session, f: IncidentFilter, personal: bool, now: datetime
) -> tuple[report_repo.ReportFilter, Generation]:
    """The reports an incident map of `f` shows the caller (its filter checked, its subdistrict's reports,
    the sensitive categories left out for whom the policy hides them) and the generation it is drawn on:
    one rule for the embedded page, its tiles (GET /tiles/reports/…) and the tiled page's counts."""
    _check(f.statuses, reporting.STATUSES, "status")
    table = category_service.table(session)
    _check(f.categories, table.codes, "category")
    if f.since and f.until and f.since >= f.until:
        raise InvalidInput("since must be before until")
    gen = grid_service.resolve_generation(session, None, None, f.subdistrict)
    # A district-level caller (or the public) looking at one subdistrict's map sees that subdistrict's reports.
    access = Scope(gen.subdistrict_code) if f.access.everything else f.access
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
    return query, gen


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
        f"微网格长 {p['name']} {_phone(p['phone'], personal) or ''}".strip() for p in people
    )
    return {
        **{k: getattr(r, k) for k in MAP_REPORT_FIELDS},
        "lon": privacy.coarse(r.lon, role),
        "lat": privacy.coarse(r.lat, role),
        "grid_name": names.get(r.micro_code or ""),
        "responsible": responsible or SUBDISTRICT_CENTRE,
    }


def _incident_data(session: Session, page: Page, **fields: Any) -> IncidentData:
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


def _tile_query(f: IncidentFilter, subdistrict: str) -> str:
    """The page's filter as the query string of its report tiles (the tile asks the same rule again)."""
    params: list[tuple[str, str]] = [("subdistrict", subdistrict)]
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
    page: Page | None = None,
    tiles_above: int | None = None,
) -> folium.Map:
    """Reports on the active generation's micro-grids; old closed ones only when `include_closed`.
    Above `tiles_above` reports (None: never) they are drawn from the vector tiles (GET /tiles/reports/…,
    render/tiled.py TiledReports) and their popups come from GET /maps/popups/reports/{id}."""
    from geo_grid.render.incidents import ReportTiles, build_incident_map

    page = page or Page()
    query, gen = incident_query(session, f, personal, now)
    micro = [g for g in _geoms(repo.grids(session, gen.id)) if g["level"] == "micro"]
    names = {g["code"]: g["name"] for g in micro}
    known = (
        {g["code"] for g in micro} | {g["parent_code"] for g in micro} | {g["community_code"] for g in micro}
    )
    if f.grid and f.grid not in known:
        raise GridNotFound(f"no grid with code {f.grid!r}")
    note = "" if f.include_closed else f"{CLOSED_SHOWN_DAYS}天前办结的上报已隐藏（include_closed=true 显示）"
    title = f"{_subdistrict_name(session, gen.subdistrict_code)}事件地图"
    open_counts = repo.open_counts(session, tuple(sorted(reporting.TERMINAL)))
    if tiles_above is not None and basemap.crs == "wgs84":
        summary = tile_repo.reports_summary(session, query, now)
        if summary.total > tiles_above:
            api = page.api_url.rstrip("/")
            tiles = ReportTiles(
                tile_url=f"{api}/tiles/reports/{{z}}/{{x}}/{{y}}.mvt?{_tile_query(f, gen.subdistrict_code)}",
                micro_tile_url=f"{api}/tiles/micro_grids/{{z}}/{{x}}/{{y}}.mvt?generation={gen.id}",
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
    data = _incident_data(session, Page(), title="", reports=[], micro=[])
    return ReportPopup(found.id, render_report_popup(row, data))


def editor_map(
    session: Session, basemap: Basemap, generation: int | None = None, page: Page | None = None
) -> folium.Map:
    """The editor page of a draft (the current draft when `generation` is not given)."""
    from geo_grid.render.editor import EditorData, build_editor_map

    page = page or Page()
    if generation is None:
        drafts = generation_service.drafts(session)
        if not drafts:
            raise GenerationNotFound("no draft generation: open one first (POST /generations)")
        gen = drafts[-1]
    else:
        gen = grid_service.resolve_generation(session, None, generation)
    grids = _geoms(repo.grids(session, gen.id))
    data = EditorData(
        title=f"边界编辑（代次 {gen.id}，{'草稿' if gen.status == 'draft' else '只读：非草稿'}）",
        generation=gen.id,
        status=gen.status,
        tertiary=[g for g in grids if g["level"] == "tertiary"],
        micro=[g for g in grids if g["level"] == "micro"],
        problems=_validation(session, gen.id),
        grid_url=page.api_url.rstrip("/") + "/generations/{generation}/grids/{code}",
        put_url=page.api_url.rstrip("/") + "/generations/{generation}/grids/{code}",
    )
    return build_editor_map(data, basemap, page.assets_url)
