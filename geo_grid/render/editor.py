"""The planner's editor page: a draft's boundaries and validation problems, a polygon to draw or edit
(Leaflet.draw through folium), submitted to the draft through the boundary API, GeoJSON in and out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import folium
from branca.element import Element, MacroElement
from folium.plugins import Draw
from jinja2 import Template

from geo_grid.render.assets import DEFAULT_ASSETS_URL
from geo_grid.render.basemap import Basemap
from geo_grid.render.common import (
    Legend,
    Registry,
    bounds_of,
    collection,
    feature,
    finish,
    geojson_layer,
    new_map,
    popup_table,
)
from geo_grid.render.coverage import display_shapes, problem_layer
from geo_grid.render.editor_js import EDITOR_JS, GCJ_JS, IDENTITY_JS, PANEL_HTML
from geo_grid.render.styles import PROBLEM_STYLE

# Leaflet.draw's own texts, in Chinese (it ships English only).
DRAW_LOCAL_JS = """
if (window.L && L.drawLocal) {
  L.drawLocal.draw.toolbar.buttons.polygon = '绘制多边形';
  L.drawLocal.draw.toolbar.buttons.rectangle = '绘制矩形';
  L.drawLocal.draw.toolbar.actions.text = '取消'; L.drawLocal.draw.toolbar.finish.text = '完成';
  L.drawLocal.draw.toolbar.undo.text = '撤销最后一点';
  L.drawLocal.draw.handlers.polygon.tooltip.start = '点击开始绘制';
  L.drawLocal.draw.handlers.polygon.tooltip.cont = '点击继续绘制';
  L.drawLocal.draw.handlers.polygon.tooltip.end = '点击第一个点闭合';
  L.drawLocal.edit.toolbar.buttons.edit = '编辑图形'; L.drawLocal.edit.toolbar.buttons.remove = '删除图形';
  L.drawLocal.edit.toolbar.actions.save.text = '保存'; L.drawLocal.edit.toolbar.actions.cancel.text = '取消';
  L.drawLocal.edit.toolbar.actions.clearAll.text = '全部清除';
}
"""


@dataclass
class EditorData:
    title: str
    generation: int
    status: str  # the generation's status (the page works on drafts; others are shown read-only)
    tertiary: list[dict[str, Any]]  # code, name, geom
    micro: list[dict[str, Any]]  # code, name, geom
    problems: dict[str, Any] | None = None
    grid_url: str = "/generations/{generation}/grids/{code}"
    put_url: str = "/generations/{generation}/grids/{code}"
    extra: dict[str, Any] = field(default_factory=dict)


class _EditorScript(MacroElement):
    _template = Template(
        """{% macro html(this, kwargs) %}{{ this.panel }}{% endmacro %}
        {% macro script(this, kwargs) %}{{ this.crs_js }}
        {{ this.js }}{% endmacro %}"""
    )

    def __init__(
        self,
        fmap: folium.Map,
        drawn: folium.FeatureGroup,
        grids: folium.GeoJson,
        config: dict[str, Any],
        gcj: bool,
    ) -> None:
        super().__init__()
        self.panel = PANEL_HTML
        self.crs_js = GCJ_JS if gcj else IDENTITY_JS
        self.js = (
            EDITOR_JS.replace("__MAP__", fmap.get_name())
            .replace("__DRAWN__", drawn.get_name())
            .replace("__GRIDS__", grids.get_name())
            .replace("__CONFIG__", json.dumps(config, ensure_ascii=False).replace("</", "<\\/"))
        )


def _grid_popup(g: dict[str, Any]) -> str:
    code = json.dumps(g["code"])
    button = f"<button type=\"button\" onclick='window.geoGrid.editGrid({code})'>编辑此网格</button>"
    return popup_table(g["name"], [("编码", g["code"])], button)


def build_editor_map(
    data: EditorData, basemap: Basemap | None = None, assets_url: str = DEFAULT_ASSETS_URL
) -> folium.Map:
    """The editor page as a folium.Map (the caller renders or saves it)."""
    basemap = basemap or Basemap()
    fmap = new_map(
        basemap, bounds_of([m["geom"] for m in data.micro] or [t["geom"] for t in data.tertiary]), data.title
    )
    fmap.get_root().header.add_child(Element(f"<script>{DRAW_LOCAL_JS}</script>"))  # type: ignore[attr-defined]
    tertiary_geoms = display_shapes(basemap, [t["geom"] for t in data.tertiary])
    tertiary = geojson_layer(
        collection(
            feature(g, {"code": t["code"], "name": t["name"]})
            for t, g in zip(data.tertiary, tertiary_geoms, strict=True)
        ),
        "三级网格",
        {"color": "#222222", "weight": 2.5, "fill": False, "className": "grid-tertiary"},
        popups=False,
    )
    # Not simplified: the planner edits the stored vertices, not a display version of them.
    micro = geojson_layer(
        collection(
            feature(basemap.shift(m["geom"]), {"code": m["code"], "name": m["name"], "popup": _grid_popup(m)})
            for m in data.micro
        ),
        "微网格（草稿）",
        {
            "color": "#2b83ba",
            "weight": 1,
            "fillColor": "#abd9e9",
            "fillOpacity": 0.25,
            "className": "grid-micro",
        },
    )
    micro.add_to(fmap)
    tertiary.add_to(fmap)
    layers: dict[str, Any] = {"micro": micro, "tertiary": tertiary}
    if data.problems is not None:
        problems = problem_layer(basemap, data.problems)
        problems.add_to(fmap)
        layers["problems"] = problems
    drawn = folium.FeatureGroup(name="正在编辑的图形")
    drawn.add_to(fmap)
    layers["drawn"] = drawn
    Draw(
        feature_group=drawn,
        show_geometry_on_click=False,
        draw_options={
            "polyline": False,
            "circle": False,
            "marker": False,
            "circlemarker": False,
            "polygon": {"allowIntersection": False, "showArea": True},
            "rectangle": True,
        },
        edit_options={"edit": True, "remove": True},
    ).add_to(fmap)
    folium.LayerControl(collapsed=False, position="bottomright").add_to(fmap)
    config = {
        "generation": data.generation,
        "codes": [m["code"] for m in data.micro] + [t["code"] for t in data.tertiary],
        "grid_url": data.grid_url,
        "put_url": data.put_url,
        "status": data.status,
    }
    _EditorScript(fmap, drawn, micro, config, basemap.crs == "gcj02").add_to(fmap)
    Legend(
        [
            (
                "图例",
                [
                    ("swatch", "#abd9e9", "微网格（草稿）"),
                    ("swatch", "#fff; border:2px solid #222", "三级网格边界"),
                    ("swatch", PROBLEM_STYLE["fillColor"], "校验问题（缺口/重叠等）"),
                    ("swatch", "#fff; border:3px solid #d7191c", "正在编辑的图形"),
                ],
            )
        ]
    ).add_to(fmap)
    n_problems = len((data.problems or {}).get("features", []))
    Registry(
        layers, {"counts": {"micro": len(data.micro), "tertiary": len(data.tertiary), "problems": n_problems}}
    ).add_to(fmap)
    return finish(fmap, assets_url)
