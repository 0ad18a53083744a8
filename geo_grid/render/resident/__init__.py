"""The public resident pages (公众号群众端): GET /report and GET /track, in Chinese, phone-sized (360 px).

The HTML carries no inline script or style: its JavaScript and CSS are static files (geo_grid/static/resident/,
served under ASSETS_URL by api/routers/resident.py), Leaflet is the local copy the map pages use. What the
scripts need from the server (labels, tile layers, the basemap's coordinate system) is in data-* attributes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from geo_grid.labels import STAGE_LABELS, STATUS_LABELS
from geo_grid.render.basemap import Basemap

STATIC_DIR = Path(__file__).resolve().parents[2] / "static" / "resident"
ASSETS_URL = "/resident/assets"
LEAFLET_JS = "/maps/static/leaflet/dist/leaflet.js"
LEAFLET_CSS = "/maps/static/leaflet/dist/leaflet.css"
# Only these files are served from STATIC_DIR, with these content types.
ASSETS = {
    "resident.css": "text/css; charset=utf-8",
    "common.js": "text/javascript; charset=utf-8",
    "report.js": "text/javascript; charset=utf-8",
    "track.js": "text/javascript; charset=utf-8",
}
# Plain words for the events of a report's history, as the tracking page shows them.
EVENT_LABELS = {
    "reported": "已收到您的上报",
    "imported": "已登记",
    "transition": "状态变更",
    "redispatch": "重新派遣",
    "claim": "志愿者已认领",
    "move": "位置已更正",
    "rating": "已评价",
    "rework": "核查未通过，重新处置",
    "returned": "退回，重新派遣",
    "extension_requested": "申请延期",
    "extension_approved": "延期已批准",
    "extension_refused": "延期未批准",
    "parked": "暂时挂账",
    "unparked": "恢复处理",
    "supervision": "上级督办",
    "urge": "催办",
    "red_light": "超时提醒",
    "self_resolved": "网格员现场处置",
    "duplicate_suggested": "疑似重复上报",
    "duplicate_dismissed": "排除重复",
    "order_update": "工单更新",
}
# What each status means for the resident, in plain words.
STATUS_HINTS = {
    "reported": "已收到，等待街道中心受理",
    "accepted": "街道中心已受理，正在核实立案",
    "registered": "已立案，即将派遣处理",
    "dispatched": "已派遣给负责的网格或部门",
    "in_progress": "正在处置中",
    "feedback": "处置完毕，等待核查",
    "verified": "已核查，即将结案",
    "closed": "已结案，欢迎对处理结果进行评价",
    "rejected": "不予受理",
    "duplicate": "与已有上报重复，将随原上报一并处理",
    "parked": "暂时挂账，待条件具备后继续处理",
}


@dataclass(frozen=True)
class TileLayer:
    """One tile layer of the configured basemap, as Leaflet takes it."""

    url: str
    subdomains: str | Sequence[str] | None = None
    attribution: str = ""


@dataclass(frozen=True)
class MapSetup:
    """The small map: tile layers (none: a plain background with the community outlines) and the coordinate
    system a tap on it is in (gcj02 on a 高德 basemap, else wgs84)."""

    layers: tuple[TileLayer, ...] = ()
    crs: str = "wgs84"
    center: tuple[float, float] = (34.7640, 113.6980)  # 未来路街道 (lat, lon)


def _head(title: str, with_map: bool, place: str = "") -> str:
    """`place`: whose platform the title names (services/subdistricts.title_of; "" neutral)."""
    leaflet = f'<link rel="stylesheet" href="{LEAFLET_CSS}">' if with_map else ""
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} — {escape(place)}网格化治理</title>\n{leaflet}"
        f'<link rel="stylesheet" href="{ASSETS_URL}/resident.css">\n</head>\n'
    )


def _scripts(names: Iterable[str], with_map: bool) -> str:
    srcs = ([LEAFLET_JS] if with_map else []) + [f"{ASSETS_URL}/{n}" for n in names]
    return "".join(f'<script src="{s}" defer></script>' for s in srcs)


def _attr(value: object) -> str:
    return escape(json.dumps(value, ensure_ascii=False), quote=True)


def report_html(categories: Sequence[tuple[str, str]], map_setup: MapSetup, place: str = "") -> str:
    """GET /report: the form. `categories` are (code, Chinese name) of the categories a resident may pick."""
    options = "".join(f'<option value="{escape(c)}">{escape(n)}</option>' for c, n in categories)
    layers = [
        {"url": t.url, "subdomains": t.subdomains, "attribution": t.attribution} for t in map_setup.layers
    ]
    return f"""{_head("我要上报", True, place)}<body>
<header class="bar"><h1>我要上报</h1><a href="/track">查询进度</a></header>
<main id="report-page" data-layers="{_attr(layers)}" data-crs="{escape(map_setup.crs)}"
 data-center="{_attr(list(map_setup.center))}">
<form id="report-form" novalidate>
<label for="category">问题类别</label>
<select id="category" name="category" required><option value="">请选择</option>{options}</select>
<label for="description">问题描述</label>
<textarea id="description" name="description" rows="4" maxlength="4000" required
 placeholder="请描述您发现的问题，如时间、具体位置、现场情况"></textarea>
<fieldset><legend>问题位置</legend>
<button type="button" id="locate" class="secondary">使用我的当前位置</button>
<p class="hint">或在下方地图上点选位置：</p>
<div id="map" role="application" aria-label="点选问题位置的地图"></div>
<label for="address">或输入地址</label>
<div class="row"><input id="address" name="address" maxlength="300" placeholder="如：经三路158号院1号楼">
<button type="button" id="find-address" class="secondary">查找</button></div>
<div id="address-choices"></div>
<p id="location-status" class="hint" aria-live="polite">尚未选择位置</p>
</fieldset>
<label for="contact">联系方式（选填）</label>
<input id="contact" name="contact" maxlength="200" autocomplete="tel" placeholder="手机号，便于工作人员回访">
<p class="hint">联系方式只有街道工作人员可见。</p>
<label for="photo">现场照片（选填，1 张）</label>
<input type="file" id="photo" name="photo" accept="image/jpeg,image/png,image/webp">
<p class="hint">照片只有街道工作人员和您本人可见；受理前凭追踪码最多可补充 3 张。</p>
<p id="form-error" class="error" role="alert" hidden></p>
<button type="submit" id="submit">提交上报</button>
</form>
<section id="done" hidden>
<h2>上报成功</h2>
<p>上报编号：<strong id="done-id"></strong></p>
<p>追踪码：<strong id="done-code" class="code"></strong></p>
<p class="warn">追踪码只显示这一次，请截图或抄写保存。凭上报编号和追踪码可查询进度、结案后评价。</p>
<p id="done-photo" class="hint" aria-live="polite" hidden></p>
<p><a id="done-link" href="/track">查看处理进度</a>（收藏此链接，随时可查）</p>
</section>
</main>
{_scripts(["common.js", "report.js"], True)}
</body></html>
"""


def track_html(place: str = "") -> str:
    """GET /track: the lookup form; the report's progress and, once closed, the rating form."""
    labels = {"status": STATUS_LABELS, "stage": STAGE_LABELS, "event": EVENT_LABELS, "hint": STATUS_HINTS}
    return f"""{_head("上报进度查询", False, place)}<body>
<header class="bar"><h1>进度查询</h1><a href="/report">我要上报</a></header>
<main id="track-page" data-labels="{_attr(labels)}">
<form id="track-form" novalidate>
<label for="report-id">上报编号</label>
<input id="report-id" name="report_id" inputmode="numeric" pattern="[0-9]*" maxlength="19" required>
<label for="tracking-code">追踪码</label>
<input id="tracking-code" name="tracking_code" maxlength="100" autocomplete="off" required>
<button type="submit" id="track-submit">查询</button>
</form>
<p id="track-error" class="error" role="alert" hidden></p>
<section id="progress" hidden>
<h2>上报 <span id="p-id"></span>：<span id="p-category"></span></h2>
<p class="status">当前状态：<strong id="p-status"></strong></p>
<p id="p-hint"></p>
<p id="p-stage" class="hint"></p>
<h3>处理经过</h3>
<ol id="timeline"></ol>
<div id="rated" hidden><h3>您的评价</h3><p id="rated-text"></p></div>
<form id="rating-form" hidden novalidate>
<h3>评价处理结果</h3>
<fieldset class="stars"><legend>满意程度</legend>
<label><input type="radio" name="rating" value="1">1 很不满意</label>
<label><input type="radio" name="rating" value="2">2 不满意</label>
<label><input type="radio" name="rating" value="3">3 一般</label>
<label><input type="radio" name="rating" value="4">4 满意</label>
<label><input type="radio" name="rating" value="5">5 很满意</label>
</fieldset>
<label for="rating-comment">意见（选填）</label>
<textarea id="rating-comment" rows="3" maxlength="2000"></textarea>
<p id="rating-error" class="error" role="alert" hidden></p>
<button type="submit" id="rating-submit">提交评价</button>
</form>
</section>
</main>
{_scripts(["common.js", "track.js"], False)}
</body></html>
"""


def page_policy(img_sources: Iterable[str] = ()) -> str:
    """The pages' Content-Security-Policy: scripts and styles from this service only (no inline ones),
    images also from the basemap's tile hosts, requests only to this service."""
    img = " ".join(dict.fromkeys(["'self'", "data:", *img_sources]))
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src {img}; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def map_setup(basemap: Basemap) -> MapSetup:
    """The small map for `basemap`: the same tile layers the map pages add (none for the plain background)."""
    # As folium.TileLayer fills them in (subdomains "abc" unless given), without loading folium here.
    layers = [
        TileLayer(str(layer["tiles"]), layer.get("subdomains", "abc"), str(layer.get("attr") or ""))
        for layer in basemap.tile_layers()
    ]
    return MapSetup(layers=tuple(layers), crs=basemap.crs)
