"""HTML of the grid worker's phone pages: the open tasks (GET /m), one task (GET /m/tasks/{id}) and 上报 of a
new problem (GET /m/report).

Made for a phone held upright (from 360 px wide). No inline script or style: everything the page runs is
a file under /m/assets/ (and Leaflet from /maps/static/), under the console's Content-Security-Policy.
Data the scripts need (labels, the report id) travel as `data-` attributes of <body>.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from pathlib import Path

from geo_grid import labels
from geo_grid.render.console.pages import ASSETS_URL as CONSOLE_ASSETS_URL
from geo_grid.render.console.pages import LEAFLET_CSS, LEAFLET_JS, POLICY

__all__ = ["ASSET_TYPES", "POLICY", "asset_path", "report_html", "task_html", "tasks_html"]

ASSET_DIR = Path(__file__).resolve().parents[2] / "static" / "field"
ASSETS_URL = "/m/assets"
ASSET_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# The staff pages' shared helpers: one file with the console's (geo_grid/static/console/common.js).
COMMON_JS = f"{CONSOLE_ASSETS_URL}/common.js"


def asset_path(name: str) -> Path | None:
    """The file behind /m/assets/{name}: a known type directly in ASSET_DIR, or None."""
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    path = ASSET_DIR / name
    return path if path.suffix in ASSET_TYPES and path.is_file() else None


def _labels() -> str:
    return json.dumps({"status": labels.STATUS_LABELS, "light": labels.LIGHT_LABELS}, ensure_ascii=False)


def _page(title: str, attrs: dict[str, str], main: str, script: str, map_page: bool) -> str:
    data = "".join(f' data-{k}="{escape(v, quote=True)}"' for k, v in attrs.items())
    css = ([LEAFLET_CSS] if map_page else []) + [f"{ASSETS_URL}/field.css"]
    js = ([LEAFLET_JS] if map_page else []) + [COMMON_JS, f"{ASSETS_URL}/{script}"]
    links = "".join(f'<link rel="stylesheet" href="{escape(h)}">' for h in css)
    tags = "".join(f'<script src="{escape(s)}" defer></script>' for s in js)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} — 网格手机终端</title>{links}{tags}</head>
<body{data}>
<header class="top"><a href="/m" class="brand">网格手机终端</a>
<span id="who" class="who"></span>
<form method="post" action="/logout" id="logout-form"><input type="hidden" name="csrf_token" id="logout-csrf">
<button type="submit" class="link">退出</button></form></header>
<div id="alert" class="alert" role="alert" hidden></div>
{main}
</body></html>
"""


def tasks_html() -> str:
    """GET /m: tasks.js asks for the phone's position, then fills the list from GET /m/tasks."""
    main = """<main class="tasks">
<p class="new-report"><a href="/m/report" id="new-report" class="button-link">＋ 上报问题</a></p>
<h1>我的待办任务</h1>
<p id="summary" class="summary">正在读取任务…</p>
<ul id="tasks" class="task-list"></ul>
<h2>我的上报</h2>
<p id="filed-summary" class="summary">正在读取…</p>
<ul id="filed" class="task-list filed"></ul>
</main>"""
    return _page("我的任务", {"labels": _labels()}, main, "tasks.js", map_page=False)


def task_html(report_id: int) -> str:
    """GET /m/tasks/{id}: task.js fills it from GET /m/tasks/{id}/detail and acts through the API."""
    main = """<main class="task">
<p class="back"><a href="/m">← 返回任务列表</a></p>
<h1 id="title">任务</h1>
<p id="badges" class="badges"></p>
<p id="description" class="description"></p>
<dl id="facts" class="facts"></dl>
<div id="map" class="map"></div>
<section class="actions">
<h2>处置</h2>
<div id="action-message" class="action-message" role="alert" hidden></div>
<label for="a-note">备注 / 处置情况</label>
<textarea id="a-note" rows="3" maxlength="1000"></textarea>
<div class="buttons">
<button type="button" id="arrive" class="action primary" data-action="arrival">到场</button>
<button type="button" id="save-note" class="action" data-action="note">保存备注</button>
</div>
<label for="photo" class="photo-label">处置后照片</label>
<input type="file" id="photo" accept="image/jpeg,image/png,image/webp" capture="environment">
<div id="photos" class="photos"></div>
<button type="button" id="feedback" class="action primary wide" data-action="feedback">办结反馈</button>
</section>
<h2>处理经过</h2>
<ol id="history" class="timeline"></ol>
</main>"""
    attrs = {"labels": _labels(), "report-id": str(report_id)}
    return _page(f"任务 {report_id}", attrs, main, "task.js", map_page=True)


def report_html(categories: Sequence[tuple[str, str]]) -> str:
    """GET /m/report: 上报 of a new problem — category, description, the place (the phone's position or a tap
    on the map), an optional photo. report.js files it through POST /reports (channel grid_phone), then
    the photo through POST /reports/{id}/photos. `categories`: (code, name) the worker may pick."""
    options = "".join(f'<option value="{escape(c)}">{escape(n)}</option>' for c, n in categories)
    main = f"""<main class="report-new">
<p class="back"><a href="/m">← 返回任务列表</a></p>
<h1>上报问题</h1>
<form id="report-form" class="actions" novalidate>
<label for="category">问题类别</label>
<select id="category" name="category" required><option value="">请选择</option>{options}</select>
<label for="description">问题描述</label>
<textarea id="description" name="description" rows="3" maxlength="4000" required></textarea>
<label>问题位置</label>
<div class="buttons"><button type="button" id="locate" class="action">使用当前位置</button></div>
<p id="location-status" class="summary">正在获取当前位置…（也可在地图上点选）</p>
<div id="map" class="map"></div>
<dl id="place" class="facts" hidden></dl>
<label for="photo" class="photo-label">现场照片（可选）</label>
<input type="file" id="photo" accept="image/jpeg,image/png,image/webp" capture="environment">
<div id="form-message" class="action-message" role="alert" hidden></div>
<button type="submit" id="submit" class="action primary wide">提交上报</button>
</form>
<section id="done" class="done" hidden>
<h2>已上报</h2>
<dl id="done-facts" class="facts"></dl>
<p id="done-photo" class="summary"></p>
<p><a href="/m">返回任务列表</a> · <a href="/m/report" id="again">继续上报</a></p>
</section>
</main>"""
    return _page("上报问题", {"labels": _labels()}, main, "report.js", map_page=True)
