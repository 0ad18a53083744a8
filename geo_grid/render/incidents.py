"""The incident map: reports as clustered markers coloured by state (overdue marked) or, in a second layer
to toggle, by the light of their current stage (绿灯 / 黄灯 / 红灯), a heat map, and a choropleth of open
reports per micro-grid (Fisher–Jenks classes, `jenkspy`). With many reports (ReportTiles) the markers and the
choropleth come from the vector tiles instead (render/tiled.py TiledReports) and there is no heat map."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import folium
import numpy as np
from branca.element import Element
from folium.plugins import FastMarkerCluster, HeatMap

from geo_grid.render.assets import DEFAULT_ASSETS_URL
from geo_grid.render.basemap import Basemap
from geo_grid.render.common import (
    HiddenOnOpen,
    Legend,
    Registry,
    bounds_of,
    collection,
    feature,
    finish,
    geojson_layer,
    new_map,
    popup_table,
    simplify_coverage,
)
from geo_grid.render.tiled import TiledReports

STATUS_COLOURS = {
    "reported": "#d7191c",
    "accepted": "#fdae61",
    "registered": "#fee08b",
    "dispatched": "#abd9e9",
    "in_progress": "#2c7bb6",
    "feedback": "#5e3c99",
    "verified": "#1a9850",
    "closed": "#9e9e9e",
    "rejected": "#616161",
    "duplicate": "#d0d0d0",
    "parked": "#8c510a",
}
# The light of the current stage (README "Case handling (数字城管)"); no light: not in a stage.
LIGHT_COLOURS = {"green": "#1a9641", "yellow": "#fdd835", "red": "#d7191c"}
NO_LIGHT_COLOUR = "#bdbdbd"
LIGHT_LABELS = {"green": "绿灯（期限内）", "yellow": "黄灯（临近期限）", "red": "红灯（已超期）"}
CLASS_COLOURS = ("#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026")
ZERO_COLOUR = "#f7f7f7"
OVERDUE_COLOUR = "#b2182b"

_CSS = """
<style>
  .gg-report { width: 14px; height: 14px; border-radius: 50%; border: 2px solid #fff; box-shadow: 0 0 2px #000; }
  .gg-report.overdue { border: 3px solid #b2182b; width: 16px; height: 16px; position: relative; }
  .gg-report.overdue::after { content: '!'; position: absolute; top: -14px; left: 4px; color: #b2182b;
    font-weight: 900; font-size: 13px; text-shadow: 0 0 2px #fff; }
</style>
"""

# Markers are created in the browser from compact rows [lat, lon, status, overdue, popup]: thousands of
# folium.Marker objects would each cost ~0.5 kB of generated JavaScript.
_MARKER_CALLBACK = """function (row) {
  var icon = L.divIcon({className: '', iconSize: [16, 16], iconAnchor: [8, 8],
    html: '<div class="gg-report s-' + row[2] + (row[3] ? ' overdue' : '') + '" style="background:' + row[5] + '"></div>'});
  var marker = L.marker(new L.LatLng(row[0], row[1]), {icon: icon, title: row[6]});
  marker.bindPopup(row[4], {maxWidth: 360});
  return marker;
}"""


@dataclass(frozen=True)
class ReportTiles:
    """Where a tiled incident page gets its reports and what it states of them (counted by the server)."""

    tile_url: str  # GET /tiles/reports/{z}/{x}/{y}.mvt with the page's filter as its query
    micro_tile_url: str  # the micro-grids of the choropleth
    popup_url: str  # GET /maps/popups/reports/{id}
    single_min_zoom: int  # the tiles carry single reports from this zoom on, counts per cell below it
    total: int
    overdue: int
    red: int
    statuses: tuple[str, ...]


@dataclass
class IncidentData:
    title: str
    reports: list[
        dict[str, Any]
    ]  # id, category, status, created_at, micro_code, lon, lat, overdue, responsible
    micro: list[dict[str, Any]]  # code, name, geom: the micro-grids for the choropleth
    open_counts: dict[str, int] = field(default_factory=dict)  # micro code → open reports
    status_labels: dict[str, str] = field(default_factory=dict)
    category_labels: dict[str, str] = field(default_factory=dict)
    stage_labels: dict[str, str] = field(default_factory=dict)
    report_url: str = "/reports/{id}"  # link in the popup to the report in the API
    console_url: str = "/console/reports/{id}"  # and to its page in the 街道中心 console (dispatchers)
    note: str = ""  # e.g. "已隐藏30天前结案的上报"
    tiles: ReportTiles | None = None  # draw the reports and the choropleth from vector tiles


def classify(counts: Sequence[int], k: int = 5) -> tuple[list[int], list[float]]:
    """Class (0 = no open report, 1..k) per value and the classes' upper bounds.

    Fisher–Jenks natural breaks (exact: the classes with the least squared deviation from their means;
    `jenkspy`, a small compiled library) over the non-zero counts; with fewer distinct values than
    classes, one class per value.
    """
    values = np.asarray(counts, dtype=float)
    positive = values[values > 0]
    if positive.size == 0:
        return [0] * len(values), []
    k = min(k, len(np.unique(positive)))
    # Imported here: only this map needs it. (mapclassify, used before, brought scipy, scikit-learn and
    # pandas, ≈ 146 MiB, into the API process: README "Scaling", one API process's memory.)
    import jenkspy

    bins = (
        [float(b) for b in jenkspy.jenks_breaks(positive, n_classes=k)[1:]]
        if k > 1
        else [float(positive.max())]
    )
    classes = [0 if v <= 0 else int(np.searchsorted(bins, v)) + 1 for v in values]
    return classes, [float(b) for b in bins]


def _classes(data: IncidentData) -> tuple[list[int], list[str], list[tuple[str, str, str]]]:
    """Open reports per micro-grid, its fill colour, and the legend of the classes."""
    counts = [data.open_counts.get(m["code"], 0) for m in data.micro]
    classes, bins = classify(counts)
    fills = [ZERO_COLOUR if c == 0 else CLASS_COLOURS[min(c - 1, len(CLASS_COLOURS) - 1)] for c in classes]
    legend = [("swatch", ZERO_COLOUR, "0")]
    low = 1
    for i, b in enumerate(bins):
        hi = int(b)
        legend.append(
            ("swatch", CLASS_COLOURS[min(i, len(CLASS_COLOURS) - 1)], f"{low}–{hi}" if hi > low else f"{hi}")
        )
        low = hi + 1
    return counts, fills, legend


def _choropleth(basemap: Basemap, data: IncidentData) -> tuple[folium.GeoJson, list[tuple[str, str, str]]]:
    geoms = basemap.shift(np.asarray(simplify_coverage([m["geom"] for m in data.micro]), dtype=object))
    counts, fills, legend = _classes(data)
    feats = []
    for m, geom, n, colour in zip(data.micro, geoms, counts, fills, strict=True):
        popup = popup_table(m["name"], [("编码", m["code"]), ("未办结上报", str(n))])
        feats.append(feature(geom, {"code": m["code"], "fill": colour, "popup": popup}))
    layer = geojson_layer(
        collection(feats),
        "各微网格未办结上报（分级设色）",
        lambda f: {
            "color": "#777777",
            "weight": 0.5,
            "fillColor": f["properties"]["fill"],
            "fillOpacity": 0.7,
            "className": "grid-micro",
        },
    )
    return layer, legend


def report_popup(r: dict[str, Any], data: IncidentData) -> str:
    """A report's popup: category, time, state, grid, stage, responsible, links (no free text)."""
    created = r["created_at"]
    when = created.strftime("%Y-%m-%d %H:%M") if hasattr(created, "strftime") else str(created)
    rows = [
        ("类别", data.category_labels.get(r["category"], r["category"])),
        ("时间", when),
        (
            "状态",
            data.status_labels.get(r["status"], r["status"]) + ("（已逾期）" if r.get("overdue") else ""),
        ),
        ("网格", f"{r.get('grid_name') or ''} {r.get('micro_code') or '网格外'}".strip()),
    ]
    if r.get("stage"):
        light = LIGHT_LABELS.get(r.get("light") or "", "")
        rows.append(("阶段", f"{data.stage_labels.get(r['stage'], r['stage'])} {light}".strip()))
    rows += [
        ("责任人", r.get("responsible") or "街道中心"),
    ]
    url = html.escape(data.report_url.format(id=r["id"]))
    console = html.escape(data.console_url.format(id=r["id"]))
    link = (f'<div><a href="{url}" target="_blank">查看上报详情</a> · '
            f'<a class="gg-console" href="{console}" target="_blank">在受理台处理</a></div>')  # fmt: skip
    return popup_table(f"上报 {r.get('external_id') or r['id']}", rows, link)


def build_incident_map(
    data: IncidentData, basemap: Basemap | None = None, assets_url: str = DEFAULT_ASSETS_URL
) -> folium.Map:
    """The incident map as a folium.Map (the caller renders or saves it)."""
    basemap = basemap or Basemap()
    if data.tiles is not None:
        return _tiled_incident_map(data, data.tiles, basemap, assets_url)
    bounds = bounds_of([m["geom"] for m in data.micro])
    overdue = sum(1 for r in data.reports if r.get("overdue"))
    title = f"{data.title}（显示{len(data.reports)}条，逾期{overdue}条）"
    fmap = new_map(basemap, bounds, title)
    fmap.get_root().header.add_child(Element(_CSS))  # type: ignore[attr-defined]

    choropleth, class_legend = _choropleth(basemap, data)
    choropleth.add_to(fmap)

    lon = np.array([float(r["lon"]) for r in data.reports])
    lat = np.array([float(r["lat"]) for r in data.reports])
    slon, slat = basemap.shift_lonlat(lon, lat) if len(lon) else (lon, lat)
    rows = []
    for r, x, y in zip(data.reports, np.atleast_1d(slon), np.atleast_1d(slat), strict=True):
        label = data.status_labels.get(r["status"], r["status"])
        rows.append(
            [
                round(float(y), 6),
                round(float(x), 6),
                r["status"],
                bool(r.get("overdue")),
                report_popup(r, data),
                STATUS_COLOURS.get(r["status"], "#000000"),
                label,
            ]
        )
    cluster = FastMarkerCluster(
        rows,
        callback=_MARKER_CALLBACK,
        name="上报（聚合）",
        disableClusteringAtZoom=18,
        spiderfyOnMaxZoom=True,
    )
    cluster.add_to(fmap)
    light_rows = [
        [
            *row[:5],
            LIGHT_COLOURS.get(r.get("light") or "", NO_LIGHT_COLOUR),
            LIGHT_LABELS.get(r.get("light") or "", row[6]),
        ]
        for row, r in zip(rows, data.reports, strict=True)
    ]
    lights = FastMarkerCluster(
        light_rows,
        callback=_MARKER_CALLBACK,
        name="上报（按红黄绿灯）",
        show=False,
        disableClusteringAtZoom=18,
        spiderfyOnMaxZoom=True,
    )
    lights.add_to(fmap)
    HiddenOnOpen(lights).add_to(fmap)  # before the layer control, so that its checkbox starts unticked
    heat = HeatMap(
        [[r[0], r[1]] for r in rows], name="热力图", show=False, radius=18, blur=15, min_opacity=0.3
    )
    heat.add_to(fmap)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)

    present = [s for s in STATUS_COLOURS if any(r["status"] == s for r in data.reports)]
    _legend(data, present, class_legend).add_to(fmap)
    Registry(
        {"reports": cluster, "lights": lights, "choropleth": choropleth, "heat": heat},
        {
            "counts": {
                "reports": len(rows),
                "overdue": overdue,
                "micro": len(data.micro),
                "red": sum(1 for r in data.reports if r.get("light") == "red"),
            }
        },  # fmt: skip
    ).add_to(fmap)
    return finish(fmap, assets_url)


def _legend(data: IncidentData, present: list[str], class_legend: list[tuple[str, str, str]]) -> Legend:
    present = present or list(STATUS_COLOURS)[:7]
    sections = [
        (
            "上报状态",
            [("dot", STATUS_COLOURS[s], data.status_labels.get(s, s)) for s in present]
            + [("dot", f"#fff; border:3px solid {OVERDUE_COLOUR}", "逾期（红圈 !）")],
        ),
        (
            "阶段红黄绿灯（图层“上报（按红黄绿灯）”）",
            [("dot", LIGHT_COLOURS[k], v) for k, v in LIGHT_LABELS.items()]
            + [("dot", NO_LIGHT_COLOUR, "不在办理阶段")],
        ),
        ("未办结上报数（自然断点分级）", class_legend),
    ]
    notes = [data.note] if data.note else []
    if data.tiles is not None:
        notes.append(
            f"上报较多，按矢量瓦片显示：{data.tiles.single_min_zoom}级以下为每格聚合数（红圈：含逾期），"
            f"放大到{data.tiles.single_min_zoom}级显示单条；不显示热力图"
        )
    if notes:
        sections.append(("说明", [("swatch", "transparent; border:none", n) for n in notes]))
    return Legend(sections)


def _tiled_incident_map(
    data: IncidentData, tiles: ReportTiles, basemap: Basemap, assets_url: str
) -> folium.Map:
    """The incident map of a district or city: reports (clustered counts when zoomed out, single reports
    zoomed in) and the choropleth from the vector tiles; popups from the API; only the micro-grids' open
    counts and fills are embedded (code → [count, colour], grids with open reports only)."""
    bounds = bounds_of([m["geom"] for m in data.micro])
    title = f"{data.title}（显示{tiles.total}条，逾期{tiles.overdue}条）"
    fmap = new_map(basemap, bounds, title)
    fmap.get_root().header.add_child(Element(_CSS))  # type: ignore[attr-defined]
    counts, fills, class_legend = _classes(data)
    control = folium.LayerControl(collapsed=False, position="topright")
    control.add_to(fmap)
    TiledReports(
        tiles.tile_url,
        tiles.micro_tile_url,
        tiles.popup_url,
        tiles.single_min_zoom,
        {m["code"]: [n, fill] for m, n, fill in zip(data.micro, counts, fills, strict=True) if n > 0},
        {"status": STATUS_COLOURS, "light": LIGHT_COLOURS, "no_light": NO_LIGHT_COLOUR,
         "zero": ZERO_COLOUR, "overdue": OVERDUE_COLOUR},
        {"status": data.status_labels, "light": LIGHT_LABELS},
        {"choropleth": "各微网格未办结上报（分级设色）", "reports": "上报（聚合）", "lights": "上报（按红黄绿灯）"},
        control,
    ).add_to(fmap)  # fmt: skip
    present = [s for s in STATUS_COLOURS if s in tiles.statuses]
    _legend(data, present, class_legend).add_to(fmap)
    counts_out = {
        "reports": tiles.total,
        "overdue": tiles.overdue,
        "micro": len(data.micro),
        "red": tiles.red,
    }
    Registry({}, {"counts": counts_out, "tiled": True}).add_to(fmap)
    return finish(fmap, assets_url)
