"""Vector tiles of the map layers (GET /tiles/{layer}/{z}/{x}/{y}.mvt): what a map page asks for instead
of one large GeoJSON when a layer has thousands of features (a district, a city)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from geo_grid.errors import InvalidInput
from geo_grid.repository import tiles as tile_repo
from geo_grid.services import grids as grid_service

MAX_ZOOM = 22
GRID_LAYERS = frozenset({"micro_grids", "tertiary_grids"})


def tile(session: Session, layer: str, z: int, x: int, y: int, generation: int | None = None) -> bytes:
    """The MVT bytes of one tile; grids of `generation` (default: the active one)."""
    if layer not in tile_repo.LAYERS:
        raise InvalidInput(f"未知图层 {layer!r}", {"allowed": list(tile_repo.LAYERS)})
    if not 0 <= z <= MAX_ZOOM or not (0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidInput(f"瓦片坐标无效：z 应在 0–{MAX_ZOOM}，x、y 应在 0–2^z−1", {"z": z, "x": x, "y": y})
    gen = grid_service.resolve_generation(session, None, generation).id if layer in GRID_LAYERS else None
    return tile_repo.tile(session, layer, z, x, y, gen)
