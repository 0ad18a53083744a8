"""HTML of the grid worker's phone pages: the open tasks (GET /m) and one task (GET /m/tasks/{id}).

Made for a phone held upright (from 360 px wide). No inline script or style: everything the page runs is
a file under /m/assets/ (and Leaflet from /maps/static/), under the console's Content-Security-Policy.
Data the scripts need (labels, the report id) travel as `data-` attributes of <body>.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from geo_grid import labels
from geo_grid.render.console.pages import LEAFLET_CSS, LEAFLET_JS, POLICY

__all__ = ["ASSET_TYPES", "POLICY", "asset_path", "task_html", "tasks_html"]

ASSET_DIR = Path(__file__).resolve().parents[2] / "static" / "field"
ASSETS_URL = "/m/assets"
ASSET_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


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
    js = ([LEAFLET_JS] if map_page else []) + [f"{ASSETS_URL}/common.js", f"{ASSETS_URL}/{script}"]
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
<h1>我的待办任务</h1>
<p id="summary" class="summary">正在读取任务…</p>
<ul id="tasks" class="task-list"></ul>
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
