"""Browser sessions of the web console: GET/POST /login, POST /logout, GET /session (services/accounts.py).

A form post from a browser (Accept: text/html) is answered by redirects (303); any other client gets JSON
(the session, or the error body). The login form carries its own CSRF token (double submit: a cookie of
the form and its hidden field), since there is no session yet.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from geo_grid.api.deps import PrincipalDep, SessionDep, SessionFactoryDep, SettingsDep
from geo_grid.api.schemas.common import ErrorBody, error_responses
from geo_grid.api.schemas.sessions import LogoutOut, SessionOut
from geo_grid.db import transaction
from geo_grid.errors import CsrfFailed, GeoGridError
from geo_grid.render import login_page
from geo_grid.repository import users as user_repo
from geo_grid.services import accounts, subdistricts
from geo_grid.services.auth import Principal
from geo_grid.settings import Settings

router = APIRouter(tags=["sessions"])

LOGIN_COOKIE_MAX_AGE_S = 3600


def _secure(request: Request, settings: Settings) -> bool:
    """Secure cookies when served over TLS (or behind a proxy that says so, if trusted)."""
    if request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return settings.trust_forwarded_proto and forwarded == "https"


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _client(request: Request) -> accounts.Client:
    ip = request.client.host if request.client else None
    return accounts.Client(ip=ip, user_agent=request.headers.get("user-agent"))


def _html_page(body: str, status: int = 200) -> HTMLResponse:
    headers = {"Content-Security-Policy": login_page.POLICY, "Cache-Control": "no-store"}
    return HTMLResponse(body, status_code=status, headers=headers)


@router.get(
    "/login",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "登录页"}},
    summary="The login form of the web console (HTML, Chinese, no script)",
)
def login_form(
    request: Request,
    settings: SettingsDep,
    principal: PrincipalDep,
    session: SessionDep,
    next: Annotated[str | None, Query(max_length=500, description="登录后转到的本站路径")] = None,
    error: Annotated[str | None, Query(max_length=40, description="上次登录失败的原因代码")] = None,
    info: Annotated[str | None, Query(max_length=40, description="提示代码（logged_out …）")] = None,
) -> HTMLResponse:
    """Sets the form's CSRF cookie (HttpOnly, SameSite=Strict, path /login) and its hidden field."""
    csrf = secrets.token_urlsafe(32)
    cookie = request.cookies.get(accounts.SESSION_COOKIE)
    who = principal.name if principal.user_id is not None and cookie else None
    logout_csrf = accounts.csrf_token(cookie) if who and cookie else None
    place = subdistricts.title_of(session, principal.subdistrict_code)
    page = login_page.login_html(csrf, login_page.safe_next(next), error or info, who, logout_csrf, place)
    response = _html_page(page)
    response.set_cookie(
        accounts.LOGIN_COOKIE, csrf, max_age=LOGIN_COOKIE_MAX_AGE_S, path="/login", httponly=True,
        samesite="strict", secure=_secure(request, settings),
    )  # fmt: skip
    return response


@router.post(
    "/login",
    response_model=SessionOut,
    responses={
        303: {"description": "浏览器表单：登录成功转到 next，失败回到 /login?error=…"},
        **error_responses(401, 403, 422, 423),
    },
    summary="Log in (form post): opens a browser session (HttpOnly cookie)",
)
async def login(
    request: Request,
    settings: SettingsDep,
    factory: SessionFactoryDep,
    login: Annotated[str, Form(max_length=64, description="登录名")],
    password: Annotated[str, Form(max_length=256, description="密码")],
    csrf_token: Annotated[str, Form(max_length=100, description="登录页表单中的 CSRF 令牌")] = "",
    next: Annotated[str, Form(max_length=500, description="登录后转到的本站路径")] = "",
) -> Any:
    """`login_failed` (401) for an unknown login, a wrong password or a disabled account alike;
    `account_locked` (423) after `GEO_GRID_LOGIN_MAX_FAILURES` failures within the window; `csrf_failed`
    (403) without the form's token. Every attempt is in the audit log."""
    html = _wants_html(request)
    target = login_page.safe_next(next)
    expected = request.cookies.get(accounts.LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf_token):
        return _refuse(CsrfFailed("登录表单已过期或缺少 CSRF 令牌：请重新打开登录页"), html, target)

    def attempt() -> accounts.LoginOutcome:
        with transaction(factory) as session:  # committed even when the login fails (attempts, lockout)
            return accounts.login(session, settings, login, password, _client(request))

    outcome = await run_in_threadpool(attempt)
    if outcome.error is not None or outcome.token is None or outcome.user is None:
        return _refuse(outcome.error or CsrfFailed("登录失败"), html, target)
    response: Response
    if html:
        response = RedirectResponse(target, status_code=303)
    else:
        user = outcome.user
        body = SessionOut(
            authenticated=True, via="session", role=user.role, name=accounts.actor_label(user),
            user_id=user.id, login=user.login, display_name=user.display_name, person_id=user.person_id,
            sees_personal_data=Principal(user.role, user.login).sees_personal_data,
            csrf_token=accounts.csrf_token(outcome.token),
        )  # fmt: skip
        response = Response(body.model_dump_json(), media_type="application/json")
    response.set_cookie(
        accounts.SESSION_COOKIE, outcome.token, max_age=int(settings.session_max_age_s), path="/",
        httponly=True, samesite="lax", secure=_secure(request, settings),
    )  # fmt: skip
    response.delete_cookie(accounts.LOGIN_COOKIE, path="/login")
    response.headers["Cache-Control"] = "no-store"
    return response


def _refuse(error: GeoGridError, html: bool, target: str) -> Response:
    if not html:
        raise error
    params = {"error": error.code, **({"next": target} if target != "/session" else {})}
    return RedirectResponse("/login?" + urlencode(params), status_code=303)


@router.post(
    "/logout",
    response_model=LogoutOut,
    responses={303: {"description": "浏览器表单：转到 /login"}, **error_responses(403)},
    summary="Log out: ends the browser session (needs its CSRF token)",
)
def logout(request: Request, session: SessionDep, settings: SettingsDep, principal: PrincipalDep) -> Any:
    """The session ends in the database (audited `logout`) and its cookie is cleared."""
    cookie = request.cookies.get(accounts.SESSION_COOKIE)
    ended = (
        principal.user_id is not None and cookie is not None and accounts.logout(session, cookie) is not None
    )
    response: Response
    if _wants_html(request):
        response = RedirectResponse("/login?info=logged_out", status_code=303)
    else:
        response = Response(LogoutOut(logged_out=ended).model_dump_json(), media_type="application/json")
    response.delete_cookie(accounts.SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=_secure(request, settings))  # fmt: skip
    return response


@router.get(
    "/session",
    response_model=SessionOut,
    responses={200: {"model": SessionOut}, 422: {"model": ErrorBody}},
    summary="Who am I: the session's user and CSRF token (or the token's role, or the public)",
)
def who_am_i(request: Request, session: SessionDep, settings: SettingsDep, principal: PrincipalDep) -> Any:
    cookie = request.cookies.get(accounts.SESSION_COOKIE)
    base: dict[str, Any] = {
        "role": principal.role, "name": principal.name, "sees_personal_data": principal.sees_personal_data,
    }  # fmt: skip
    if principal.user_id is not None and cookie:
        found = user_repo.session_with_user(session, accounts.hash_token(cookie))
        if found is not None:
            ws, user = found
            return SessionOut(
                authenticated=True, via="session", user_id=user.id, login=user.login,
                display_name=user.display_name, person_id=user.person_id,
                csrf_token=accounts.csrf_token(cookie), expires_at=ws.expires_at,
                idle_expires_at=accounts.idle_deadline(ws, settings), **base,
            )  # fmt: skip
    if principal.token_id is not None:
        return SessionOut(authenticated=True, via="token", **base)
    out = Response(SessionOut(authenticated=False, via=None, **base).model_dump_json(),
                   media_type="application/json")  # fmt: skip
    if cookie:  # an ended session: the browser may forget its cookie
        out.delete_cookie(accounts.SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                          secure=_secure(request, settings))  # fmt: skip
    return out
