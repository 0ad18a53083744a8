"""Map use cases: gather a page's layers (grids, people, facilities, reports, a draft's problems) and
hand them to the pure builders in geo_grid.render; what a caller sees follows geo_grid/privacy.py
(masked phones, no sensitive reports and coarse report points for the public)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import shapely
from sqlalchemy.orm import Session

from geo_grid import privacy
from geo_grid.errors import GenerationNotFound, GridNotFound, InvalidInput, NotFound
from geo_grid.labels import ROLE_LABELS
from geo_grid.render.assets import DEFAULT_ASSETS_URL
from geo_grid.render.basemap import Basemap
from geo_grid.render.basemap import from_settings as basemap_from_settings
from geo_grid.repository import communities as community_repo
from geo_grid.repository import grids as grid_repo
from geo_grid.repository import map_search as search_repo
from geo_grid.repository import maps as repo
from geo_grid.repository import people as people_repo
from geo_grid.repository import scope as scope_repo
from geo_grid.repository import subdistricts as subdistrict_repo
from geo_grid.repository.generations import Generation
from geo_grid.repository.map_search import GridHit
from geo_grid.repository.scope import EVERYTHING, Scope
from geo_grid.services import generations as generation_service
from geo_grid.services import grids as grid_service
from geo_grid.services import subdistricts
from geo_grid.settings import Settings

# The page builders (geo_grid.render: folium, branca, jinja2, and through folium pandas) are imported by
# the functions that draw or fill a page, not at start-up: a process that never draws a map never loads
# them (tests/unit/test_startup_imports.py).
if TYPE_CHECKING:
    import folium

    from geo_grid.render.coverage import TileSource


@dataclass(frozen=True)
class Page:
    """Where a page's links point: its assets and the API (absolute for a saved file, else relative)."""

    assets_url: str = DEFAULT_ASSETS_URL
    api_url: str = ""


def subdistrict_name(session: Session, code: str) -> str:
    sub = subdistrict_repo.get(session, code)
    return sub.name if sub else code


def basemap_of(settings: Settings) -> Basemap:
    return basemap_from_settings(settings.basemap, settings.basemap_url, settings.tianditu_key)


def shown_phone(phone: str | None, personal: bool) -> str | None:
    return privacy.phone(phone, privacy.role_for(personal))


def _person(p: people_repo.PersonRole, personal: bool) -> dict[str, Any]:
    """A person as a map popup lists them (the phone as privacy.py shows it to the caller)."""
    return {
        "name": p.name,
        "role": p.role,
        "role_label": ROLE_LABELS.get(p.role, p.role),
        "duty": p.duty,
        "phone": shown_phone(p.phone, personal),
    }


def _people_by_grid(session: Session, personal: bool) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in people_repo.all_grid_roles(session):
        out[r.grid_code].append(_person(r.person, personal))
    return out


def geoms(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
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


def map_generations(
    session: Session, generation: int | None, subdistrict: str | None, belongs_to: str | None = None
) -> list[Generation]:
    """The generations a map page draws (services/grids.listing_generations, the listings' rule): the one
    named; else the active one of the subdistrict named (or the caller's own, which the route names),
    of the one `belongs_to` (a grid code) names, of the only one; else — several subdistricts, a
    district-level or anonymous caller — every subdistrict's active one, by subdistrict code."""
    return grid_service.listing_generations(session, None, generation, subdistrict, belongs_to=belongs_to)


def page_subdistrict(session: Session, named: str | None, caller: str | None) -> str | None:
    """The subdistrict a map page's request means, for map_generations: the one it names — through the
    API's one rule (services/subdistricts.meant): unknown, or for a subdistrict's caller another one, 404
    `subdistrict_not_found`, as if it did not exist — else the caller's own (None: a district-level or
    anonymous caller; map_generations then draws the only one, else the whole district)."""
    if named is None:
        return caller
    return subdistricts.meant(session, named, caller=caller).code


def subdistricts_of(gens: list[Generation]) -> list[str]:
    """The subdistricts a page of these generations is of: its layers (communities, facilities, road
    segments, courtyards) are theirs only (repository/maps.of_subdistricts)."""
    return sorted({g.subdistrict_code for g in gens})


def district_title(session: Session) -> str:
    """The title of a map of the whole district: the district's name (subdistricts.title)."""
    return subdistricts.title(None, subdistrict_repo.list_all(session))


def _tile_source(api: str, gens: list[Generation]) -> TileSource:
    """Where a tiled coverage page gets its grids: one generation's tiles, search and labels; for the whole
    district none is named, so the tiles draw every subdistrict's active generation and the search and
    labels look in all of them, and a grid's popup is found in its own subdistrict's."""
    from geo_grid.render.coverage import TileSource

    query = f"?generation={gens[0].id}" if len(gens) == 1 else ""
    return TileSource(
        tile_url=f"{api}/tiles/{{layer}}/{{z}}/{{x}}/{{y}}.mvt{query}",
        grid_url=f"{api}/maps/popups/grids/{{code}}{query}",
        search_url=f"{api}/maps/search{query}",
        label_url=f"{api}/maps/labels{query}",
        duty_url=f"{api}/maps/popups/{{kind}}/{{id}}",
    )


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
    """The coverage map of `generation`, else of the active generation of `subdistrict`, else of the only
    one, else — several subdistricts and none named — of every subdistrict's active generation (the whole
    district, map_generations); a draft also shows its problems.
    Above `tiles_above` micro-grids (None: never) the grids and communities come from the vector tiles
    and the page's popups and search from the API (geo_grid/render/tiled.py)."""
    from geo_grid.render.coverage import CoverageData, GridShape, build_coverage_map

    page = page or Page()
    gens = map_generations(session, generation, subdistrict)
    grids = [g for gen in gens for g in geoms(repo.grids(session, gen.id))]
    if focus is not None and not any(g["code"] == focus for g in grids):
        where = f"generation {gens[0].id}" if len(gens) == 1 else "any subdistrict's boundaries"
        raise GridNotFound(f"no grid with code {focus!r} in {where}")
    people = _people_by_grid(session, personal)
    n_micro = sum(g["level"] == "micro" for g in grids)
    source = _tile_source(page.api_url.rstrip("/"), gens) if tiled(basemap, n_micro, tiles_above) else None
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
    # The layers of the subdistricts the page is of (one, or the district's several), as its grids.
    subs = subdistricts_of(gens)
    communities = geoms(repo.communities(session, subs))
    gen = gens[0]
    status = {"draft": "草稿", "active": "现行", "retired": "历史"}.get(gen.status, gen.status)
    title = (
        f"{subdistrict_name(session, gen.subdistrict_code)}网格覆盖图（{status}代次 {gen.id}）"
        if len(gens) == 1
        else f"{district_title(session)}网格覆盖图（{len(gens)}个街道的现行代次）"
    )
    data = CoverageData(
        title=title,
        communities=[c for c in communities if c["geom"] is not None],
        tertiary=shapes["tertiary"],
        micro=shapes["micro"],
        facilities=geoms(repo.facilities(session, subs)),
        road_segments=geoms(repo.road_segments(session, subs)),
        courtyards=geoms(repo.courtyards(session, subs)),
        # A draft is always one subdistrict's, named by `generation`.
        problems=_validation(session, gen.id) if len(gens) == 1 and gen.status == "draft" else None,
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

    # Without `generation`: the active generation of the subdistrict the code names (a district page's
    # popups), else whichever subdistrict's holds it (services/grids.grid_detail_of's rule).
    gens = grid_service.listing_generations(session, None, generation, belongs_to=code)
    inside = scope_repo.grid_code_in(access, code)
    found = (grid_repo.get_grid(session, gen.id, code) for gen in gens) if inside else iter(())
    grid = next((g for g in found if g is not None), None)
    if grid is None:
        where = f"generation {gens[0].id}" if len(gens) == 1 else "any subdistrict's boundaries"
        raise GridNotFound(f"no grid with code {code!r} in {where}")
    people = [_person(p, personal) for p in people_repo.for_grids(session, [code])]
    shape = GridShape(grid.code, grid.name, grid.level, grid.parent_code, grid.community_code, None, people)
    community = community_repo.names(session).get(grid.community_code)
    return GridPopup(grid.code, grid.name, grid.level, render_grid_popup(shape, community))


DUTY_TITLES = {"road_segments": ("路段", "路段长"), "courtyards": ("楼院", "楼院长")}


def duty_popup(session: Session, kind: str, area_id: str, access: Scope = EVERYTHING) -> GridPopup:
    """The popup of a road segment or courtyard as the embedded coverage page binds it (names of its
    chiefs, no phones): what a tiled page opens on click. `code` is the segment's or courtyard's id.
    One of another subdistrict than a subdistrict caller's (`access`) is not found, as if it did not exist."""
    from geo_grid.render.coverage_labels import duty_popup as render_duty_popup

    inside = access.everything or repo.duty_area_in(session, kind, area_id, [str(access.subdistrict_code)])
    area = search_repo.duty_area(session, kind, area_id) if inside else None
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


def grid_labels(
    session: Session,
    level: str,
    bbox: str,
    generation: int | None,
    limit: int,
    caller: str | None = None,
) -> list[Label]:
    """The zoom-in labels of a tiled coverage page for the viewport `bbox` (what the embedded page
    writes for every grid: coverage.build_coverage_map's ZoomLabels), of the generations the page draws
    (map_generations: without `generation` the caller's subdistrict's, the only one's, or the district's)."""
    from geo_grid.render.coverage import GridShape
    from geo_grid.render.coverage_labels import short_name

    gens = map_generations(session, generation, caller)
    box = grid_service.parse_bbox(bbox)
    if box is None:
        raise InvalidInput("bbox is required")
    found = sorted(
        (r for gen in gens for r in search_repo.labels(session, gen.id, level, box, limit)),
        key=lambda r: r.code,
    )[:limit]
    out = []
    for r in found:
        shape = GridShape(r.code, r.name, level, "parent", "", None)
        name = short_name(shape, {"parent": r.parent_name or ""}) if level == "micro" else r.name
        out.append(Label(r.lat, r.lon, f"{name}\n{r.code}"))
    return out


def search_grids(
    session: Session, q: str, generation: int | None, limit: int, caller: str | None = None
) -> list[GridHit]:
    """The tiled coverage page's search: grids of the generations the page draws (as grid_labels) by code
    (exact, or its first characters) or part of the name; `q` may be a suggestion as the box shows it
    ("<code> <name>"). The exact code first, then tertiary before micro, by code (as search_repo.search)."""
    gens = map_generations(session, generation, caller)
    q = q.strip()
    if not q:
        return []
    code = q.split(" ")[0]
    hits = [h for gen in gens for h in search_repo.search(session, gen.id, q, code, limit)]
    return sorted(hits, key=lambda h: (h.code != code, h.level != "tertiary", h.code))[:limit]


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
    grids = geoms(repo.grids(session, gen.id))
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
