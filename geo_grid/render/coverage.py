"""The coverage map: communities, tertiary grids (neighbours in distinct colours), micro-grids, people,
facilities, road segments, courtyards, a draft's validation problems; search and zoom-in labels."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import folium
import numpy as np
import shapely

from geo_grid.labels import ATTRIBUTE_LABELS as ATTRIBUTE_LABELS
from geo_grid.labels import FACILITY_LABELS as FACILITY_LABELS
from geo_grid.labels import PROBLEM_FIELDS, PROBLEM_KINDS
from geo_grid.render.assets import DEFAULT_ASSETS_URL
from geo_grid.render.basemap import Basemap
from geo_grid.render.colouring import colours_for
from geo_grid.render.common import (
    BIND_POPUP,
    Registry,
    ZoomLabels,
    bounds_of,
    collection,
    feature,
    finish,
    geojson_layer,
    label_points,
    new_map,
    popup_table,
    simplify_coverage,
)
from geo_grid.render.coverage_labels import (
    duty_popup,
    facility_popup,
    grid_popup,
    short_name,
)
from geo_grid.render.coverage_labels import people_rows as people_rows
from geo_grid.render.search import ApiGridSearch, GridSearch
from geo_grid.render.styles import (
    COMMUNITY_STYLE,
    COURTYARD_STYLE,
    FACILITY_STYLE,
    MICRO_LABEL_ZOOM,
    MICRO_STYLE,
    NO_LEADER_STYLE,
    PROBLEM_STYLE,
    ROAD_STYLE,
    TERTIARY_LABEL_ZOOM,
    WARNING_STYLE,
    coverage_legend,
)
from geo_grid.render.tiled import TiledGrids


@dataclass
class GridShape:
    """A grid to draw; `people` are already presented (phones masked for the caller as needed)."""

    code: str
    name: str
    level: str
    parent_code: str
    community_code: str
    geom: Any
    people: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class TileSource:
    """Where a tiled page gets its grids: the tile URL template ({layer}, {z}, {x}, {y}), one grid's JSON
    ({code}: its popup, people as privacy.py shows them to the caller), the search and the labels."""

    tile_url: str
    grid_url: str
    search_url: str
    label_url: str
    duty_url: str  # a road segment's or courtyard's popup ({kind}, {id})


@dataclass
class CoverageData:
    title: str
    communities: list[dict[str, Any]]  # code, name, geom
    tertiary: list[GridShape]
    micro: list[GridShape]
    facilities: list[dict[str, Any]] = field(
        default_factory=list
    )  # facility_id, kind, name, geom, attributes
    road_segments: list[dict[str, Any]] = field(default_factory=list)  # segment_id, road_name, geom, chiefs
    courtyards: list[dict[str, Any]] = field(default_factory=list)  # courtyard_id, name, geom, chiefs
    problems: dict[str, Any] | None = None  # a draft's validation problems as GeoJSON (kind, message)
    focus: str | None = None  # open zoomed on this grid code
    community_names: dict[str, str] = field(default_factory=dict)
    tiles: TileSource | None = None  # draw grids and communities from these tiles, not embedded


def display_shapes(basemap: Basemap, geoms: Sequence[Any]) -> list[Any]:
    return list(basemap.shift(np.asarray(simplify_coverage(geoms), dtype=object)))


def problem_layer(basemap: Basemap, problems: dict[str, Any]) -> folium.GeoJson:
    """A draft's validation problems: errors (gaps, overlaps …) in red, warnings in orange."""
    feats = []
    for f in problems.get("features", []):
        if not f.get("geometry"):
            continue
        props = f.get("properties") or {}
        geom = basemap.shift(shapely.geometry.shape(f["geometry"]))
        rows = [
            (PROBLEM_FIELDS.get(k, k), "、".join(map(str, v)) if isinstance(v, list) else str(v))
            for k, v in props.items()
            if v is not None and k in PROBLEM_FIELDS
        ]
        title = PROBLEM_KINDS.get(str(props.get("kind")), "校验问题")
        feats.append(feature(geom, {"severity": props.get("severity"), "popup": popup_table(title, rows)}))
    return folium.GeoJson(
        collection(feats),
        name=f"草稿校验问题（{len(feats)}）",
        style_function=lambda f: (
            PROBLEM_STYLE if f["properties"].get("severity") != "warning" else WARNING_STYLE
        ),
        marker=folium.CircleMarker(radius=7, fill=True, fill_opacity=0.8),
        on_each_feature=BIND_POPUP,
    )


def _facilities(basemap: Basemap, facilities: Sequence[dict[str, Any]]) -> folium.GeoJson:
    """Polygons (the smart parking lot) and points in one layer; points drawn as circles."""
    feats = [
        feature(basemap.shift(f["geom"]), {"kind": f["kind"], "popup": facility_popup(f)}) for f in facilities
    ]
    return folium.GeoJson(
        collection(feats),
        name="设施（智慧停车场等）",
        style_function=lambda _f: FACILITY_STYLE,
        marker=folium.CircleMarker(radius=6, fill=True, fill_color="#ffffff", fill_opacity=1, weight=3),
        on_each_feature=BIND_POPUP,
    )


def _line_or_area(
    basemap: Basemap, items: Sequence[dict[str, Any]], name_key: str, title: str, role: str
) -> dict[str, Any]:
    feats = []
    for it in items:
        codes = {"micro_code": it.get("micro_code"), "tertiary_code": it.get("tertiary_code")}
        popup = duty_popup(title, role, it[name_key], it.get("chiefs") or [], codes)
        feats.append(feature(basemap.shift(it["geom"]), {"popup": popup}))
    return collection(feats)


def build_coverage_map(
    data: CoverageData, basemap: Basemap | None = None, assets_url: str = DEFAULT_ASSETS_URL
) -> folium.Map:
    """The coverage map as a folium.Map (the caller renders or saves it)."""
    basemap = basemap or Basemap()
    all_geoms = [g.geom for g in data.micro] or [g.geom for g in data.tertiary]
    focus = next((g for g in data.tertiary + data.micro if g.code == data.focus), None)
    bounds = bounds_of([focus.geom] if focus else all_geoms)
    fmap = new_map(basemap, bounds, data.title)
    if data.tiles is not None:
        return _tiled_coverage(fmap, data, data.tiles, basemap, focus, assets_url)

    communities = folium.GeoJson(
        collection(
            feature(
                basemap.shift(c["geom"]),
                {
                    "code": c["code"],
                    "name": c["name"],
                    "popup": popup_table(c["name"], [("编码", c["code"])]),
                },
            )
            for c in data.communities
            if c.get("geom") is not None
        ),
        name="社区",
        style_function=lambda _f: COMMUNITY_STYLE,
        on_each_feature=None,
    )
    tertiary_geoms = display_shapes(basemap, [g.geom for g in data.tertiary])
    colours = colours_for([g.geom for g in data.tertiary])
    tertiary = geojson_layer(
        collection(
            feature(
                geom,
                {
                    "code": g.code,
                    "name": g.name,
                    "fill": colour,
                    "popup": grid_popup(g, data.community_names.get(g.community_code)),
                },
            )
            for g, geom, colour in zip(data.tertiary, tertiary_geoms, colours, strict=True)
        ),
        "三级网格",
        lambda f: {
            "color": "#444444",
            "weight": 1.6,
            "fillColor": f["properties"]["fill"],
            "fillOpacity": 0.55,
            "className": "grid-tertiary",
        },
    )
    micro_geoms = display_shapes(basemap, [g.geom for g in data.micro])
    micro = geojson_layer(
        collection(
            feature(
                geom,
                {
                    "code": g.code,
                    "name": g.name,
                    "popup": grid_popup(g, data.community_names.get(g.community_code)),
                },
            )
            for g, geom in zip(data.micro, micro_geoms, strict=True)
        ),
        "微网格",
        MICRO_STYLE,
    )
    leaderless = [
        (g, geom)
        for g, geom in zip(data.micro, micro_geoms, strict=True)
        if not any(p.get("role") == "micro_grid_leader" for p in g.people)
    ]
    no_leader = geojson_layer(
        collection(
            feature(
                geom,
                {
                    "code": g.code,
                    "name": g.name,
                    "popup": popup_table(g.name, [("编码", g.code), ("提示", "未配备微网格长")]),
                },
            )
            for g, geom in leaderless
        ),
        f"无微网格长的微网格（{len(leaderless)}）",
        NO_LEADER_STYLE,
    )
    roads = geojson_layer(
        _line_or_area(basemap, data.road_segments, "road_name", "路段", "路段长"),
        "路段长负责路段",
        ROAD_STYLE,
        show=False,
    )
    courts = geojson_layer(
        _line_or_area(basemap, data.courtyards, "name", "楼院", "楼院长"),
        "楼院长负责楼院",
        COURTYARD_STYLE,
        show=False,
    )
    layers: dict[str, Any] = {
        "communities": communities,
        "tertiary": tertiary,
        "micro": micro,
        "no_leader": no_leader,
    }
    for layer in (tertiary, micro, communities, no_leader):
        layer.add_to(fmap)
    facilities = _facilities(basemap, data.facilities)
    facilities.add_to(fmap)
    layers["facilities"] = facilities
    roads.add_to(fmap)
    courts.add_to(fmap)
    layers.update(roads=roads, courtyards=courts)
    if data.problems is not None:
        problems = problem_layer(basemap, data.problems)
        problems.add_to(fmap)
        layers["problems"] = problems
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)

    tertiary_names = {g.code: g.name for g in data.tertiary}
    ZoomLabels(
        [
            {
                "level": "tertiary",
                "min_zoom": TERTIARY_LABEL_ZOOM,
                "labels": label_points(
                    basemap, [g.geom for g in data.tertiary], [f"{g.name}\n{g.code}" for g in data.tertiary]
                ),
            },
            {
                "level": "micro",
                "min_zoom": MICRO_LABEL_ZOOM,
                "labels": label_points(
                    basemap,
                    [g.geom for g in data.micro],
                    [f"{short_name(g, tertiary_names)}\n{g.code}" for g in data.micro],
                ),
            },
        ]
    ).add_to(fmap)
    entries = []
    for g, geom in list(zip(data.tertiary, tertiary_geoms, strict=True)) + list(
        zip(data.micro, micro_geoms, strict=True)
    ):
        x0, y0, x1, y1 = (round(float(v), 6) for v in geom.bounds)
        entries.append([g.code, g.name, [y0, x0, y1, x1]])
    GridSearch(entries, ["micro", "tertiary"]).add_to(fmap)
    coverage_legend(data.problems is not None).add_to(fmap)
    Registry(
        layers,
        {"counts": {"tertiary": len(data.tertiary), "micro": len(data.micro), "no_leader": len(leaderless)}},
    ).add_to(fmap)
    if focus is not None:
        _focus_on_load(fmap, focus.code)
    return finish(fmap, assets_url)


def _focus_on_load(fmap: folium.Map, code: str) -> None:
    fmap.get_root().script.add_child(  # type: ignore[attr-defined]
        folium.Element(
            f"window.addEventListener('load', function() {{ window.geoGrid.focus({json.dumps(code)}); }});"
        )
    )


def _others(fmap: folium.Map, data: CoverageData, basemap: Basemap) -> dict[str, Any]:
    """The layers a tiled page embeds: facilities and a draft's problems."""
    layers: dict[str, Any] = {"facilities": _facilities(basemap, data.facilities)}
    if data.problems is not None:
        layers["problems"] = problem_layer(basemap, data.problems)
    for layer in layers.values():
        layer.add_to(fmap)
    return layers


def _tiled_coverage(
    fmap: folium.Map,
    data: CoverageData,
    tiles: TileSource,
    basemap: Basemap,
    focus: GridShape | None,
    assets_url: str,
) -> folium.Map:
    """The coverage map of a district or city: grids and communities from the vector tiles, their popups
    and the search from the API; only the tertiary grids' colours are embedded (code → colour)."""
    colours = colours_for([g.geom for g in data.tertiary])
    leaderless = sum(not any(p.get("role") == "micro_grid_leader" for p in g.people) for g in data.micro)
    layers = _others(fmap, data, basemap)
    control = folium.LayerControl(collapsed=False, position="topright")
    control.add_to(fmap)
    TiledGrids(
        tiles.tile_url,
        tiles.grid_url,
        tiles.label_url,
        tiles.duty_url,
        {g.code: colour for g, colour in zip(data.tertiary, colours, strict=True)},
        {
            "tertiary": "三级网格",
            "micro": "微网格",
            "communities": "社区",
            "no_leader": f"无微网格长的微网格（{leaderless}）",
            "roads": "路段长负责路段",
            "courtyards": "楼院长负责楼院",
        },
        control,
    ).add_to(fmap)
    ApiGridSearch(tiles.search_url).add_to(fmap)
    coverage_legend(data.problems is not None).add_to(fmap)
    counts = {"tertiary": len(data.tertiary), "micro": len(data.micro), "no_leader": leaderless}
    Registry(layers, {"counts": counts, "tiled": True}).add_to(fmap)
    if focus is not None:
        _focus_on_load(fmap, focus.code)
    return finish(fmap, assets_url)
