"""Styles, label zoom levels and the legend of the coverage map."""

from __future__ import annotations

from typing import Any

from geo_grid.render.common import Legend

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


def coverage_legend(with_problems: bool) -> Legend:
    """The coverage map's legend; the problems entry only when a draft's problems are drawn."""
    return Legend(
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
                        if with_problems
                        else []
                    ),
                ],
            ),
            (
                "说明",
                [("swatch", "transparent; border:none", f"放大至{TERTIARY_LABEL_ZOOM}级显示网格名称和编码")],
            ),
        ]
    )
