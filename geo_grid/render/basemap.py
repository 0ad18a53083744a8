"""Basemaps: none (plain background, the default that always works), any XYZ URL, 天地图, or 高德 (GCJ-02).

On a GCJ-02 basemap every overlay is shifted from WGS84 to GCJ-02 (geo_grid.crs.from_wgs84), else the
grids would sit ≈ 500 m off the streets they follow. 天地图 uses CGCS2000, equal to WGS84 here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from geo_grid.crs import from_wgs84
from geo_grid.errors import InvalidInput

if TYPE_CHECKING:
    import folium

BASEMAPS = ("none", "xyz", "tianditu", "gaode")
PLAIN_BACKGROUND = "#eef1f4"

_TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)
_GAODE = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"


@dataclass(frozen=True)
class Basemap:
    kind: str = "none"
    url: str | None = None
    key: str | None = None

    @property
    def crs(self) -> str:
        """The coordinate system overlays must be drawn in to line up with the tiles."""
        return "gcj02" if self.kind == "gaode" else "wgs84"

    def shift(self, geom: Any) -> Any:
        """A WGS84 shapely geometry (or array of them) in the basemap's coordinates."""
        if self.crs == "wgs84":
            return geom
        return shapely.transform(geom, lambda c: np.column_stack(from_wgs84(c[:, 0], c[:, 1], self.crs)))

    def shift_lonlat(self, lon: Any, lat: Any) -> tuple[Any, Any]:
        if self.crs == "wgs84":
            return lon, lat
        return from_wgs84(lon, lat, self.crs)

    def tile_layers(self) -> list[dict[str, Any]]:
        """The tile layer(s) the pages draw, as folium.TileLayer's keyword arguments (`tiles` is the URL);
        `none` has none (the page CSS paints a plain background)."""
        if self.kind == "xyz":
            return [{"tiles": self.url, "attr": "底图", "name": "底图", "control": False}]
        if self.kind == "tianditu":
            return [
                {
                    "tiles": (
                        self.url
                        if (self.url and layer == "vec")
                        else _TIANDITU.format(s="{s}", layer=layer, key=self.key)
                    ),
                    "attr": "© 天地图",
                    "name": name,
                    "subdomains": "01234567",
                    "max_zoom": 18,
                    "control": False,
                    "overlay": layer == "cva",
                }
                for layer, name in (("vec", "天地图矢量"), ("cva", "天地图注记"))
            ]
        if self.kind == "gaode":
            return [
                {
                    "tiles": self.url or _GAODE,
                    "attr": "© 高德地图",
                    "name": "高德",
                    "subdomains": "1234",
                    "max_zoom": 18,
                    "control": False,
                }
            ]
        return []

    def add_to(self, fmap: folium.Map) -> None:
        """Add the tile layer(s); `none` adds nothing (the page CSS paints a plain background)."""
        import folium  # a map is being drawn: folium is loaded by then (not at start-up)

        for layer in self.tile_layers():
            folium.TileLayer(**layer).add_to(fmap)


def from_settings(kind: str, url: str | None = None, key: str | None = None) -> Basemap:
    """Validate the basemap settings (GEO_GRID_BASEMAP, _BASEMAP_URL, _TIANDITU_KEY)."""
    kind = (kind or "none").strip().lower()
    if kind not in BASEMAPS:
        raise InvalidInput(f"unknown basemap {kind!r}; choose one of {', '.join(BASEMAPS)}")
    if kind == "xyz" and not url:
        raise InvalidInput("basemap xyz needs GEO_GRID_BASEMAP_URL (a tile URL with {z}/{x}/{y})")
    if kind == "tianditu" and not (key or url):
        raise InvalidInput("basemap tianditu needs GEO_GRID_TIANDITU_KEY")
    return Basemap(kind, url, key)
