"""Vector tiles of the map layers (GET /tiles/{layer}/{z}/{x}/{y}.mvt): what a map page asks for instead
of one large GeoJSON when a layer has thousands of features (a district, a city)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from geo_grid import privacy
from geo_grid.errors import InvalidInput
from geo_grid.repository import tiles as tile_repo
from geo_grid.services import categories as category_service
from geo_grid.services import grids as grid_service
from geo_grid.services import incident_maps

MAX_ZOOM = 22
REPORTS = "reports"  # the incident map's layer (GET /tiles/reports/…): the caller decides its content


def _check(layers: tuple[str, ...], layer: str, z: int, x: int, y: int) -> None:
    if layer not in layers:
        raise InvalidInput(f"未知图层 {layer!r}", {"allowed": list(layers)})
    if not 0 <= z <= MAX_ZOOM or not (0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidInput(f"瓦片坐标无效：z 应在 0–{MAX_ZOOM}，x、y 应在 0–2^z−1", {"z": z, "x": x, "y": y})


def tile(session: Session, layer: str, z: int, x: int, y: int, generation: int | None = None) -> bytes:
    """The MVT bytes of one tile; grids of `generation`, by default of every subdistrict's active one (a
    map of a district shows all of it, whoever asks: the tiles are public and cached). The other layers
    (communities, facilities, road segments, courtyards) are those of the subdistrict `generation` is of,
    by default every subdistrict's: a subdistrict's tiled page draws its own only, as its embedded one."""
    _check(tile_repo.LAYERS, layer, z, x, y)
    if layer in tile_repo.VERSIONED:
        gens = [g.id for g in grid_service.tile_generations(session, generation)]
        return tile_repo.tile(session, layer, z, x, y, gens)
    subdistricts = None
    if generation is not None:
        subdistricts = [grid_service.resolve_generation(session, None, generation).subdistrict_code]
    return tile_repo.tile(session, layer, z, x, y, [], subdistricts)


def report_tile(
    session: Session,
    f: incident_maps.IncidentFilter,
    personal: bool,
    now: datetime,
    z: int,
    x: int,
    y: int,
) -> tile_repo.ReportTile:
    """One tile of the incident map's reports: the reports the page of the same filter shows this caller
    (services/incident_maps.incident_query: scope, sensitive categories), at their public, rounded position unless the
    caller sees personal data (privacy.py); counts per cell when zoomed out, single reports zoomed in. With
    it the ids of the reports it draws that show the caller personal data (privacy.personal_on_map), which
    the audit log names; none for a tile without them."""
    _check((REPORTS,), REPORTS, z, x, y)
    query, _ = incident_maps.incident_query(session, f, personal, now)
    role = privacy.role_for(personal)
    decimals = None if privacy.sees_personal_data(role) else privacy.PUBLIC_DECIMALS
    sensitive = category_service.table(session).sensitive
    named = [c for c in sensitive if privacy.personal_on_map(c, role, sensitive)]
    return tile_repo.report_tile(session, query, now, z, x, y, decimals, named)
