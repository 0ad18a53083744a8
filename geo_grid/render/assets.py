"""The map pages' JavaScript/CSS, served by geo_grid itself from maps/node_modules (no CDN, ever).
The API docs pages (/docs, /redoc) get Swagger UI and Redoc the same way (DOCS_ASSETS).

`make setup` installs them with `npm ci` from maps/package-lock.json. Folium names every asset it
would fetch from a CDN; `localize` swaps each for the local copy and refuses names it does not know,
so a new folium plugin cannot silently bring a CDN link back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo_grid.errors import MapAssetsMissing
from geo_grid.memory import release_freed_memory
from geo_grid.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from branca.element import Element

ASSET_DIR = PROJECT_ROOT / "maps" / "node_modules"
DEFAULT_ASSETS_URL = "/maps/static"

# folium's asset name -> file under ASSET_DIR.
LOCAL_ASSETS = {
    "leaflet": "leaflet/dist/leaflet.js",
    "leaflet_css": "leaflet/dist/leaflet.css",
    "markerclusterjs": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/dist/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/dist/MarkerCluster.Default.css",
    "leaflet-heat.js": "leaflet.heat/dist/leaflet-heat.js",
    "leaflet_draw_js": "leaflet-draw/dist/leaflet.draw.js",
    "leaflet_draw_css": "leaflet-draw/dist/leaflet.draw.css",
    # Leaflet.VectorGrid with its pbf/vector-tile decoders (render/tiled.py: a district's coverage page).
    "leaflet_vectorgrid": "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",
}
# Folium's defaults the pages do not use (icons come from Leaflet itself or our own CSS).
UNUSED = frozenset(
    {
        "jquery",
        "bootstrap",
        "awesome_markers",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers_font_css",
        "awesome_markers_css",
        "awesome_rotate_css",
    }
)
# Only these packages' dist folders are served by GET /maps/static/… .
SERVED_PREFIXES = (
    "leaflet/dist/",
    "leaflet.markercluster/dist/",
    "leaflet.heat/dist/",
    "leaflet-draw/dist/",
    "leaflet.vectorgrid/dist/",
)
SERVED_SUFFIXES = (".js", ".css", ".png", ".svg")
# GET /docs/static/{name} -> file under ASSET_DIR (Swagger UI for /docs, Redoc's standalone bundle for /redoc).
DOCS_ASSETS = {
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "favicon.png": "swagger-ui-dist/favicon-32x32.png",
    "redoc.standalone.js": "redoc/bundles/redoc.standalone.js",
}


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def _swap(pairs: list[tuple[str, str]], base_url: str) -> list[tuple[str, str]]:
    out = []
    for name, _cdn in pairs:
        if name in UNUSED:
            continue
        if name not in LOCAL_ASSETS:
            raise MapAssetsMissing(f"map asset {name!r} has no local copy (add it to maps/package.json)")
        out.append((name, f"{base_url.rstrip('/')}/{LOCAL_ASSETS[name]}"))
    return out


def localize(root: Element, base_url: str = DEFAULT_ASSETS_URL) -> None:
    """Point every JS/CSS link of the map (and its plugins) at our own copies under `base_url`."""
    for element in _walk(root):
        for attr in ("default_js", "default_css"):
            pairs = getattr(element, attr, None)
            if pairs:
                # An instance attribute shadows the class list, leaving folium's classes untouched.
                setattr(element, attr, _swap(list(pairs), base_url))


def check_installed(asset_dir: Path = ASSET_DIR, files: Iterable[str] | None = None) -> None:
    """Fail with the fix when the assets (default: the maps') are not installed (`make setup` runs npm ci)."""
    wanted = LOCAL_ASSETS.values() if files is None else files
    missing = [rel for rel in wanted if not (asset_dir / rel).is_file()]
    if missing:
        raise MapAssetsMissing(
            f"map assets missing under {asset_dir} (run `make setup`, which runs npm ci in maps/)",
            {"missing": missing},
        )


def resolve(rel: str, asset_dir: Path = ASSET_DIR) -> Path | None:
    """The file for GET /maps/static/{rel}, or None when it is not a served asset (no path tricks)."""
    if ".." in rel.split("/") or not rel.startswith(SERVED_PREFIXES) or not rel.endswith(SERVED_SUFFIXES):
        return None
    path = (asset_dir / rel).resolve()
    if not path.is_file() or asset_dir.resolve() not in path.parents:
        return None
    return path


def resolve_docs(name: str, asset_dir: Path = ASSET_DIR) -> Path | None:
    """The file for GET /docs/static/{name}: only the names of DOCS_ASSETS, when installed."""
    rel = DOCS_ASSETS.get(name)
    if rel is None or not (asset_dir / rel).is_file():
        return None
    return asset_dir / rel


def html_of(root: Any) -> str:
    """Render a map (or its figure) to one HTML string.

    A page's element tree (parents and children point at each other) is freed only by the cyclic
    collector, and the megabytes of its layers and of the render stay in the heap malloc keeps: the
    trees of the pages drawn before are collected here and the freed heap handed back to the system
    (issue 15: one API process's memory once the maps are drawn)."""
    html = str(root.get_root().render())
    release_freed_memory()
    return html
