"""The console's login page (GET /login): a plain HTML form in Chinese, no script at all. Its one style block
is allowed by its SHA-256 in the page's own Content-Security-Policy, so the page needs no 'unsafe-inline'."""

from __future__ import annotations

import base64
import hashlib
from html import escape

STYLE = (
    "body{font-family:sans-serif;background:#f4f6f8;margin:0}"
    "main{max-width:22rem;margin:10vh auto;background:#fff;padding:1.5rem;border-radius:8px;"
    "box-shadow:0 1px 4px rgba(0,0,0,.15)}"
    "h1{font-size:1.3rem;margin:0 0 1rem}label{display:block;margin:.8rem 0 .2rem}"
    "input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}"
    "button{margin-top:1.2rem;width:100%;padding:.6rem;font-size:1rem;background:#1f6feb;color:#fff;"
    "border:0;border-radius:4px}.error{color:#b42318;background:#fef3f2;padding:.5rem}"
    ".info{color:#05603a;background:#ecfdf3;padding:.5rem}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

# No script, no frames, forms post only here; the style block by its hash.
POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

MESSAGES = {
    "login_failed": ("error", "登录名或密码错误"),
    "account_locked": ("error", "登录失败次数过多，账号已暂时锁定，请稍后再试或联系管理员重置密码"),
    "csrf_failed": ("error", "页面已过期，请重新登录"),
    "logged_out": ("info", "已退出登录"),
    "session_ended": ("info", "会话已结束，请重新登录"),
}


def login_html(
    csrf: str,
    next_path: str,
    message: str | None = None,
    who: str | None = None,
    logout_csrf: str | None = None,
    place: str = "",
) -> str:
    """The form; `message` is a key of MESSAGES (from ?error= or ?info=), `who` the logged-in user if any
    (then a logout form too, carrying the session's CSRF token `logout_csrf`); `place` the name titles
    start with (the subdistrict's or the district's, services/subdistricts.py; empty: the product's)."""
    notice = ""
    if message in MESSAGES:
        kind, text = MESSAGES[message]
        notice = f'<p class="{kind}" role="alert" id="notice">{escape(text)}</p>'
    already = ""
    if who and logout_csrf:
        already = (
            f'<p class="info" id="who">当前已登录：{escape(who)}</p>'
            '<form method="post" action="/logout" id="logout-form">'
            f'<input type="hidden" name="csrf_token" value="{escape(logout_csrf)}">'
            '<button type="submit" id="logout">退出登录</button></form><hr>'
        )
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>登录 — {escape(place)}网格化治理</title><style>{STYLE}</style></head>
<body><main>
<h1>{escape(place)}网格化治理平台</h1>
{notice}{already}
<form method="post" action="/login" id="login-form">
<input type="hidden" name="csrf_token" value="{escape(csrf)}">
<input type="hidden" name="next" value="{escape(next_path)}">
<label for="login">登录名</label>
<input id="login" name="login" autocomplete="username" required maxlength="64" autofocus>
<label for="password">密码</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256">
<button type="submit">登录</button>
</form>
</main></body></html>
"""


def safe_next(value: str | None, default: str = "/session") -> str:
    """Where to go after login: a path of this site only (no `//host`, no scheme: no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(c) < 32 for c in value) or len(value) > 500:
        return default
    return value
