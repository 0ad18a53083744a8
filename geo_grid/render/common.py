"""What the map pages share: the page frame, coverage simplification, GeoJSON features, legend, labels."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import folium
import numpy as np
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from geo_grid.crs import from_metric, to_metric
from geo_grid.render.assets import DEFAULT_ASSETS_URL, localize
from geo_grid.render.basemap import PLAIN_BACKGROUND, Basemap

# 1 m in EPSG:4547: invisible at street zoom, yet it drops most vertices of digitised boundaries.
SIMPLIFY_TOLERANCE_M = 1.0
# 6 decimals ≈ 0.1 m: shared vertices round to the same value, so shared edges stay shared.
COORD_DECIMALS = 6
FONT = "'Noto Sans CJK SC','WenQuanYi Micro Hei','Microsoft YaHei','PingFang SC',sans-serif"

_PAGE_CSS = """
<style>
  html, body {{ font-family: {font}; }}
  .leaflet-container {{ background: {background}; font-family: {font}; }}
  .gg-title {{ position: absolute; top: 10px; left: 60px; z-index: 1000; background: rgba(255,255,255,.92);
    padding: 6px 12px; border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.3); font-size: 16px; font-weight: 600; }}
  .leaflet-top.leaflet-right {{ top: 56px; }}
  .gg-legend {{ position: absolute; bottom: 44px; left: 10px; z-index: 1000; background: rgba(255,255,255,.94);
    padding: 8px 10px; border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.3); font-size: 12px; line-height: 18px;
    max-height: 45%; overflow-y: auto; }}
  .gg-legend b {{ display: block; margin-bottom: 2px; }}
  .gg-swatch {{ display: inline-block; width: 14px; height: 12px; margin-right: 6px; vertical-align: middle;
    border: 1px solid #555; }}
  .gg-dot {{ display: inline-block; width: 12px; height: 12px; margin-right: 6px; vertical-align: middle;
    border-radius: 50%; border: 1px solid #333; }}
  .gg-label {{ background: none; border: none; box-shadow: none; color: #222; font-size: 11px; text-align: center;
    white-space: nowrap; text-shadow: 0 0 3px #fff, 0 0 3px #fff; pointer-events: none; }}
  .gg-label.tertiary {{ font-size: 13px; font-weight: 600; }}
  .gg-popup table {{ border-collapse: collapse; font-size: 12px; }}
  .gg-popup td, .gg-popup th {{ border-bottom: 1px solid #eee; padding: 2px 6px; text-align: left; }}
</style>
"""


def new_map(basemap: Basemap, bounds: Sequence[float], title: str) -> folium.Map:
    """An empty page: basemap, title, fitted to (min_lon, min_lat, max_lon, max_lat) of the overlays."""
    x0, y0, x1, y1 = bounds
    (sx0, sx1), (sy0, sy1) = basemap.shift_lonlat(np.array([x0, x1]), np.array([y0, y1]))
    fmap = folium.Map(
        location=[(sy0 + sy1) / 2, (sx0 + sx1) / 2],
        zoom_start=14,
        tiles=None,
        control_scale=True,
        # Map-level limits (not only the tiles'): the heat layer needs map.options.maxZoom.
        maxZoom=20,
        minZoom=11,
    )
    basemap.add_to(fmap)
    _FitBounds([[float(sy0), float(sx0)], [float(sy1), float(sx1)]]).add_to(fmap)
    root = fmap.get_root()
    # data: favicon: no request for /favicon.ico (a 404 would be a console error on every page).
    root.header.add_child(Element(f'<title>{html.escape(title)}</title><link rel="icon" href="data:,">'))  # type: ignore[attr-defined]
    background = PLAIN_BACKGROUND if basemap.kind == "none" else "#ddd"
    root.header.add_child(Element(_PAGE_CSS.format(font=FONT, background=background)))  # type: ignore[attr-defined]
    root.html.add_child(Element(f'<div class="gg-title">{html.escape(title)}</div>'))  # type: ignore[attr-defined]
    return fmap


class _FitBounds(MacroElement):
    """Open fitted to the overlays without animation, so the page is settled once its scripts have run."""

    _template = Template(
        "{% macro script(this, kwargs) %}{{ this._parent.get_name() }}.fitBounds({{ this.bounds|tojson }}, "
        "{animate: false});{% endmacro %}"
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self.bounds = bounds


def finish(fmap: folium.Map, assets_url: str = DEFAULT_ASSETS_URL) -> folium.Map:
    """Swap every CDN link for our own assets (see assets.py); call last, after all plugins are added."""
    localize(fmap.get_root(), assets_url)
    return fmap


def simplify_coverage(geoms: Sequence[Any], tolerance_m: float = SIMPLIFY_TOLERANCE_M) -> list[Any]:
    """Simplify polygons as one coverage, so neighbours keep one shared edge and no gap opens.

    A faulty draft (overlaps, gaps inside) is not a valid coverage; then each polygon is simplified on
    its own, because the validation layer must show the faults as they are, not a tidied version.
    """
    if not geoms:
        return []
    arr = to_metric(np.asarray(list(geoms), dtype=object))
    if shapely.coverage_is_valid(arr):
        simple = shapely.coverage_simplify(arr, tolerance_m)
    else:
        simple = shapely.simplify(arr, tolerance_m, preserve_topology=True)
    back = from_metric(simple)
    return list(shapely.transform(back, lambda c: np.round(c, COORD_DECIMALS)))


def feature(geom: Any, props: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": dict(props), "geometry": shapely.geometry.mapping(geom)}


def collection(features: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def bounds_of(
    geoms: Sequence[Any], fallback: Sequence[float] = (113.68, 34.74, 113.72, 34.78)
) -> list[float]:
    if not geoms:
        return list(fallback)
    return [float(v) for v in shapely.total_bounds(np.asarray(list(geoms), dtype=object))]


def popup_table(title: str, rows: Iterable[tuple[str, str]], footer: str = "") -> str:
    """Popup HTML; every value is escaped here (names and descriptions come from users)."""
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f'<div class="gg-popup"><b>{html.escape(title)}</b><table>{body}</table>{footer}</div>'


# on_each_feature: bind the feature's prepared popup HTML (escaped in Python).
BIND_POPUP = folium.JsCode(
    "function(feature, layer) { if (feature.properties.popup) { layer.bindPopup(feature.properties.popup, "
    "{maxWidth: 420}); } }"
)


def geojson_layer(
    data: dict[str, Any], name: str, style: dict[str, Any] | Any, *, show: bool = True, popups: bool = True
) -> folium.GeoJson:
    """A GeoJSON overlay; `style` is a dict (same for all) or a function of the feature."""
    style_function = style if callable(style) else (lambda _f, s=style: s)
    return folium.GeoJson(
        data,
        name=name,
        style_function=style_function,
        show=show,
        on_each_feature=BIND_POPUP if popups else None,
        smooth_factor=0.5,
    )


class Legend(MacroElement):
    """A fixed legend box (HTML, Chinese)."""

    _template = Template(
        '{% macro html(this, kwargs) %}<div class="gg-legend">{{ this.body }}</div>{% endmacro %}'
    )

    def __init__(self, sections: Sequence[tuple[str, Sequence[tuple[str, str, str]]]]) -> None:
        super().__init__()
        parts = []
        for heading, items in sections:
            parts.append(f"<b>{html.escape(heading)}</b>")
            for kind, colour, label in items:
                cls = "gg-dot" if kind == "dot" else "gg-swatch"
                parts.append(
                    f'<div><span class="{cls}" style="background:{html.escape(colour)}"></span>{html.escape(label)}</div>'
                )
        self.body = "".join(parts)


class HiddenOnOpen(MacroElement):
    """Takes a layer off the map as the page opens (left to its layer-control checkbox): folium's
    FastMarkerCluster adds itself to the map whatever its `show` says."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.removeLayer({{ this.layer.get_name() }});
        {% endmacro %}"""
    )

    def __init__(self, layer: Any) -> None:
        super().__init__()
        self.layer = layer


class Registry(MacroElement):
    """Publishes the map and its named layers as window.geoGrid, for page scripts and browser tests."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        window.geoGrid = window.geoGrid || {layers: {}, data: {}};
        window.geoGrid.map = {{ this._parent.get_name() }};
        {% for key, el in this.layers.items() %}window.geoGrid.layers[{{ key|tojson }}] = {{ el.get_name() }};
        {% endfor %}{% for key, value in this.data.items() %}window.geoGrid.data[{{ key|tojson }}] = {{ value|tojson }};
        {% endfor %}{% endmacro %}"""
    )

    def __init__(self, layers: Mapping[str, Any], data: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.layers = dict(layers)
        self.data = dict(data or {})


class ZoomLabels(MacroElement):
    """Grid labels (code and name) that appear only when zoomed in far enough to read them."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        (function() {
          var map = {{ this._parent.get_name() }};
          var groups = {};
          var specs = {{ this.specs|tojson }};
          specs.forEach(function(spec) {
            var g = L.layerGroup();
            spec.labels.forEach(function(l) {
              L.marker([l[0], l[1]], {interactive: false, keyboard: false, icon: L.divIcon({
                className: 'gg-label ' + spec.level, html: l[2], iconSize: [160, 32], iconAnchor: [80, 16]})}).addTo(g);
            });
            groups[spec.level] = {group: g, minZoom: spec.min_zoom};
          });
          function update() {
            var z = map.getZoom();
            Object.keys(groups).forEach(function(k) {
              var s = groups[k];
              if (z >= s.minZoom) { if (!map.hasLayer(s.group)) s.group.addTo(map); }
              else if (map.hasLayer(s.group)) { map.removeLayer(s.group); }
            });
          }
          map.on('zoomend', update);
          map.whenReady(update);
        })();
        {% endmacro %}"""
    )

    def __init__(self, specs: Sequence[dict[str, Any]]) -> None:
        super().__init__()
        self.specs = list(specs)


def label_points(basemap: Basemap, geoms: Sequence[Any], texts: Sequence[str]) -> list[list[Any]]:
    """[lat, lon, html] per grid at a point inside it (escaped text, one line per part)."""
    pts = basemap.shift(shapely.point_on_surface(np.asarray(list(geoms), dtype=object)))
    return [
        [
            round(float(p.y), COORD_DECIMALS),
            round(float(p.x), COORD_DECIMALS),
            html.escape(t).replace("\n", "<br>"),
        ]
        for p, t in zip(pts, texts, strict=True)
    ]


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
