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

from geo_grid.render.assets import DEFAULT_ASSETS_URL
from geo_grid.render.basemap import Basemap
from geo_grid.render.colouring import colours_for
from geo_grid.render.common import (
    BIND_POPUP,
    Legend,
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
from geo_grid.render.search import GridSearch

COMMUNITY_STYLE: dict[str, Any] = {
    "color": "#333333",
    "weight": 3,
    "fill": False,
    "dashArray": "6 4",
    "className": "grid-community",
}
MICRO_STYLE: dict[str, Any] = {"color": "#555555", "weight": 0.8, "fillOpacity": 0, "className": "grid-micro"}
NO_LEADER_STYLE: dict[str, Any] = {
    "color": "#e66101",
    "weight": 2,
    "fillColor": "#e66101",
    "fillOpacity": 0.45,
    "className": "grid-noleader",
}
PROBLEM_STYLE: dict[str, Any] = {
    "color": "#d7191c",
    "weight": 2,
    "fillColor": "#d7191c",
    "fillOpacity": 0.6,
    "className": "grid-problem",
}
WARNING_STYLE: dict[str, Any] = {
    "color": "#fd8d3c",
    "weight": 2,
    "fillColor": "#fd8d3c",
    "fillOpacity": 0.5,
    "dashArray": "4 3",
    "className": "grid-problem",
}
PROBLEM_KINDS = {
    "gap": "缺口",
    "overlap": "重叠",
    "outside_parent": "超出上级网格",
    "missing_parent": "缺少上级网格",
    "invalid_geometry": "无效几何",
    "sliver": "碎片",
    "no_micro_grid_leader": "未配备微网格长",
    "no_grid_leader": "未配备网格长",
}
PROBLEM_FIELDS = {
    "kind": "类型",
    "severity": "级别",
    "codes": "网格",
    "area_m2": "面积（m²）",
    "message": "说明",
}
ROAD_STYLE: dict[str, Any] = {"color": "#2b83ba", "weight": 4, "opacity": 0.8, "className": "road-segment"}
COURTYARD_STYLE: dict[str, Any] = {
    "color": "#7b3294",
    "weight": 1,
    "fillColor": "#c2a5cf",
    "fillOpacity": 0.5,
    "className": "courtyard",
}
FACILITY_STYLE: dict[str, Any] = {
    "color": "#1a9641",
    "weight": 2,
    "fillColor": "#a6d96a",
    "fillOpacity": 0.6,
    "className": "facility",
}
TERTIARY_LABEL_ZOOM = 16
MICRO_LABEL_ZOOM = 18

FACILITY_LABELS = {
    "parking": "智慧停车场",
    "charging_station": "充电站",
    "service_center": "党群服务中心",
    "school": "学校",
    "health_center": "社区卫生服务中心",
    "police_station": "派出所",
}
ATTRIBUTE_LABELS = {
    "capacity": "容量",
    "car_spaces": "机动车位",
    "non_motor_spaces": "非机动车位",
    "charging_piles": "充电桩",
    "area_mu": "面积（亩）",
}


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


def people_rows(people: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    rows = []
    for p in people:
        role = p.get("duty") or p.get("role_label") or p.get("role") or ""
        rows.append((str(role), f"{p.get('name', '')} {p.get('phone') or ''}".strip()))
    return rows


def _grid_popup(g: GridShape, community: str | None) -> str:
    level = "三级网格" if g.level == "tertiary" else "微网格"
    rows = [("编码", g.code), ("层级", level)]
    if community:
        rows.append(("社区", community))
    rows += people_rows(g.people) or [("人员", "（未配备）")]
    return popup_table(g.name, rows)


def _short(g: GridShape, parent_names: dict[str, str]) -> str:
    """A micro-grid's name without its tertiary grid's (康复社区第1网格第1微网格 → 第1微网格)."""
    parent = parent_names.get(g.parent_code, "")
    return g.name.removeprefix(parent) if parent and g.name != parent else g.name


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


def _number(v: Any) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _facility_popup(f: dict[str, Any]) -> str:
    rows = [("类型", FACILITY_LABELS.get(f["kind"], f["kind"]))]
    for k, v in (f.get("attributes") or {}).items():
        if k in ATTRIBUTE_LABELS and v is not None:
            rows.append((ATTRIBUTE_LABELS[k], _number(v)))
    if f.get("micro_code"):
        rows.append(("所在微网格", f["micro_code"]))
    return popup_table(f["name"], rows)


def _facilities(basemap: Basemap, facilities: Sequence[dict[str, Any]]) -> folium.GeoJson:
    """Polygons (the smart parking lot) and points in one layer; points drawn as circles."""
    feats = [
        feature(basemap.shift(f["geom"]), {"kind": f["kind"], "popup": _facility_popup(f)})
        for f in facilities
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
        rows = [(role, "、".join(it.get("chiefs") or []) or "（未配备）")]
        for key, label in (("micro_code", "微网格"), ("tertiary_code", "三级网格")):
            if it.get(key):
                rows.append((label, it[key]))
        feats.append(
            feature(basemap.shift(it["geom"]), {"popup": popup_table(f"{title}：{it[name_key]}", rows)})
        )
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
                    "popup": _grid_popup(g, data.community_names.get(g.community_code)),
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
                    "popup": _grid_popup(g, data.community_names.get(g.community_code)),
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
                    [f"{_short(g, tertiary_names)}\n{g.code}" for g in data.micro],
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
    Legend(
        [
            (
                "图例",
                [
                    ("swatch", "#ffffff; border:3px dashed #333", "社区边界"),
                    ("swatch", "#8dd3c7", "三级网格（相邻异色）"),
                    ("swatch", "#ffffff", "微网格边界"),
                    ("swatch", NO_LEADER_STYLE["fillColor"], "无微网格长的微网格"),
                    ("swatch", FACILITY_STYLE["fillColor"], "设施（智慧停车场等）"),
                    ("swatch", ROAD_STYLE["color"], "路段长负责路段"),
                    ("swatch", COURTYARD_STYLE["fillColor"], "楼院长负责楼院"),
                    *(
                        [("swatch", PROBLEM_STYLE["fillColor"], "草稿校验问题（缺口/重叠）")]
                        if data.problems is not None
                        else []
                    ),
                ],
            ),
            (
                "说明",
                [("swatch", "transparent; border:none", f"放大至{TERTIARY_LABEL_ZOOM}级显示网格名称和编码")],
            ),
        ]
    ).add_to(fmap)
    Registry(
        layers,
        {"counts": {"tertiary": len(data.tertiary), "micro": len(data.micro), "no_leader": len(leaderless)}},
    ).add_to(fmap)
    if focus is not None:
        fmap.get_root().script.add_child(  # type: ignore[attr-defined]
            folium.Element(
                f"window.addEventListener('load', function() {{ window.geoGrid.focus({json.dumps(focus.code)}); }});"
            )
        )
    return finish(fmap, assets_url)
