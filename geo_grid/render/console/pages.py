"""HTML of the dispatcher's console: the 受理台 work queue and one report's page.

No inline script or style: everything the page runs is a file under /console/assets/ (and Leaflet from
/maps/static/), so the pages' Content-Security-Policy allows scripts and styles from this site only.
Data the scripts need (labels, the report id) travel as `data-` attributes of <body>.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from geo_grid import labels
from geo_grid.render.assets import DEFAULT_ASSETS_URL

ASSET_DIR = Path(__file__).resolve().parents[2] / "static" / "console"
ASSETS_URL = "/console/assets"
ASSET_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
LEAFLET_JS = f"{DEFAULT_ASSETS_URL}/leaflet/dist/leaflet.js"
LEAFLET_CSS = f"{DEFAULT_ASSETS_URL}/leaflet/dist/leaflet.css"

# Scripts, styles, images, fetches and the event stream: this site only; nothing inline, no frames.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def asset_path(name: str) -> Path | None:
    """The file behind /console/assets/{name}: a known type directly in ASSET_DIR, or None."""
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    path = ASSET_DIR / name
    return path if path.suffix in ASSET_TYPES and path.is_file() else None


def _labels() -> dict[str, Any]:
    return {
        "status": labels.STATUS_LABELS,
        "channel": labels.CHANNEL_LABELS,
        "stage": labels.STAGE_LABELS,
        "light": labels.LIGHT_LABELS,
        "dispatch_kind": labels.DISPATCH_KIND_LABELS,
        "event": labels.EVENT_LABELS,
    }


def _page(
    title: str, body_attrs: dict[str, str], main: str, scripts: list[str], map_page: bool, place: str = ""
) -> str:
    """`place`: whose platform the title names (services/subdistricts.title_of; "" neutral)."""
    attrs = "".join(f' data-{k}="{escape(v, quote=True)}"' for k, v in body_attrs.items())
    css = [LEAFLET_CSS] if map_page else []
    css.append(f"{ASSETS_URL}/console.css")
    js = ([LEAFLET_JS] if map_page else []) + [f"{ASSETS_URL}/{s}" for s in scripts]
    links = "".join(f'<link rel="stylesheet" href="{escape(h)}">' for h in css)
    tags = "".join(f'<script src="{escape(s)}" defer></script>' for s in js)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} — {escape(place)}网格化治理</title>{links}{tags}</head>
<body{attrs}>
<header class="top"><a href="/console" class="brand">街道中心 · 受理台</a>
<span id="who" class="who"></span>
<form method="post" action="/logout" id="logout-form"><input type="hidden" name="csrf_token" id="logout-csrf">
<button type="submit" class="link">退出登录</button></form></header>
<div id="alert" class="alert" role="alert" hidden></div>
{main}
</body></html>
"""


def queue_html(place: str = "") -> str:
    """GET /console: tabs (with counts), filters and the queue; queue.js fills them from GET /reports."""
    main = """<main class="queue">
<nav id="tabs" class="tabs" aria-label="按状态"></nav>
<form id="filters" class="filters">
<label>类别 <select id="f-category"><option value="">全部</option></select></label>
<label>渠道 <select id="f-channel"><option value="">全部</option></select></label>
<label>社区 <select id="f-community"><option value="">全部</option></select></label>
<span id="live" class="live" title="新上报推送">● 实时</span>
</form>
<p id="summary" class="summary"></p>
<table id="queue" class="queue-table"><thead><tr><th>编号</th><th>灯</th><th>状态</th><th>阶段剩余</th>
<th>类别</th><th>渠道</th><th>社区 / 网格</th><th>上报时间</th><th>描述</th></tr></thead><tbody></tbody></table>
</main>"""
    return _page("受理台", {"labels": json.dumps(_labels(), ensure_ascii=False)}, main,
                 ["common.js", "queue.js"], map_page=False, place=place)  # fmt: skip


def report_html(report_id: int, place: str = "") -> str:
    """GET /console/reports/{id}: report.js fills it from GET /reports/{id} and acts through the API."""
    main = """<main class="report">
<section class="head"><h1 id="title">上报</h1><p id="badges" class="badges"></p></section>
<div class="cols">
<section class="left">
<h2>描述</h2><p id="description" class="description"></p>
<dl id="facts" class="facts"></dl>
<h2>照片</h2><div id="photos" class="photos"><span class="muted">无照片</span></div>
<h2>位置与网格</h2><div id="map" class="map"></div>
<h2>疑似重复</h2><div id="duplicate" class="duplicate"><span class="muted">无</span></div>
<h2>负责人</h2><table id="people" class="people"><tbody></tbody></table>
</section>
<section class="right">
<h2>操作</h2>
<div id="action-message" class="action-message" role="alert" hidden></div>
<div class="inputs">
<label>备注 / 理由 <textarea id="a-note" rows="2" maxlength="1000"></textarea></label>
<label>重复的原上报编号 <input id="a-duplicate-of" inputmode="numeric"></label>
<label>派遣部门（空则按类别） <input id="a-target" maxlength="100"></label>
<label>时长（小时：延期、督办） <input id="a-hours" type="number" min="1" max="720" value="4"></label>
<label>挂账复核日期 <input id="a-review" type="date"></label>
</div>
<div id="actions" class="actions"></div>
<h2>处理经过</h2><ol id="history" class="timeline"></ol>
</section>
</div>
</main>"""
    attrs = {"labels": json.dumps(_labels(), ensure_ascii=False), "report-id": str(report_id)}
    return _page(f"上报 {report_id}", attrs, main, ["common.js", "report.js"], map_page=True, place=place)


def generations_html(place: str = "") -> str:
    """GET /console/generations: the planner's boundary generations — list, open a draft, its validation
    report and its changes against the active boundaries, activate it after a confirmation that says what
    will be reassigned (generations.js, through the /generations API)."""
    main = """<main class="generations">
<h1>边界代次</h1>
<div id="action-message" class="action-message" role="alert" hidden></div>
<p><button id="open-draft" type="button">新建草稿（复制现行边界）</button>
<label>备注 <input id="draft-note" maxlength="200"></label></p>
<table id="generations" class="queue-table"><thead><tr><th>代次</th><th>状态</th><th>备注</th><th>创建</th>
<th>启用</th><th>网格数</th><th>操作</th></tr></thead><tbody></tbody></table>
<section id="draft" class="draft" hidden>
<h2 id="draft-title">草稿</h2>
<p><a id="draft-editor" href="#">在编辑器中修改边界</a> · <a id="draft-coverage" href="#">覆盖图</a></p>
<h3>校验</h3><p id="validation" class="summary"></p><ul id="problems" class="problems"></ul>
<h3>与现行代次相比</h3><p id="diff" class="summary"></p>
<p><button id="activate" type="button">启用此草稿…</button>
<button id="discard" type="button" class="link">放弃此草稿</button></p>
<div id="confirm" class="confirm" hidden><p id="confirm-text"></p>
<button id="confirm-yes" type="button">确认启用</button> <button id="confirm-no" type="button">取消</button></div>
</section>
</main>"""
    attrs = {"labels": json.dumps(_labels(), ensure_ascii=False)}
    return _page("边界代次", attrs, main, ["common.js", "generations.js"], map_page=False, place=place)
