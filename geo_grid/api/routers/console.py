"""The 街道中心 web console (issue 13): the 受理台 work queue, a report's page, their static assets and the
event stream that tells an open queue about new reports. The pages are shells (geo_grid/render/console/);
their scripts read and act through the JSON API with the browser session and its CSRF token."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from geo_grid.api.deps import DispatcherDep, PrincipalDep, SessionFactoryDep
from geo_grid.api.schemas.common import error_responses
from geo_grid.api.staff_pages import staff_page
from geo_grid.db import transaction
from geo_grid.errors import NotFound
from geo_grid.render.console import pages
from geo_grid.repository import console as console_repo
from geo_grid.repository.scope import EVERYTHING, Scope
from geo_grid.services import subdistricts
from geo_grid.services.auth import Principal

router = APIRouter(tags=["console"])

EVENTS_POLL_S = 1.0  # how often an open stream looks for new reports
EVENTS_MAX_S = 30.0  # one stream's life; the browser reconnects by itself (EventSource, `retry`): a server
# that stops waits for open streams (uvicorn's graceful shutdown), so they must end soon
EVENTS_HEARTBEAT_S = 15.0  # a comment line now and then keeps proxies from closing an idle stream
EVENTS_MAX_IDS = 100  # ids named by one event at most

HTML_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "控制台页面（HTML）"},
    303: {"description": "未登录的浏览器（Accept: text/html）：转到 /login?next=…"},
    **error_responses(401, 403, 422),
}


def _page(request: Request, principal: Principal, body: str, role: str = "dispatcher") -> Response:
    return staff_page(request, principal, body, role, pages.POLICY)


def _place(factory: sessionmaker[Session], principal: Principal) -> str:
    """Whose platform a page's title names: the caller's subdistrict, else the only one, else the district."""
    with transaction(factory) as session:
        return subdistricts.title_of(session, principal.subdistrict_code)


@router.get(
    "/console",
    response_class=HTMLResponse,
    responses=HTML_RESPONSES,
    summary="街道中心受理台: the dispatcher's work queue (HTML; dispatcher or admin, via the session)",
)
def queue_page(request: Request, principal: PrincipalDep, factory: SessionFactoryDep) -> Response:
    return _page(request, principal, pages.queue_html(_place(factory, principal)))


@router.get(
    "/console/reports/{report_id}",
    response_class=HTMLResponse,
    responses=HTML_RESPONSES,
    summary="One report's page of the console: details, map, history and the allowed actions (HTML)",
)
def report_page(
    request: Request,
    principal: PrincipalDep,
    report_id: Annotated[int, Path(ge=1, le=2_147_483_647, description="上报编号")],
    factory: SessionFactoryDep,
) -> Response:
    return _page(request, principal, pages.report_html(report_id, _place(factory, principal)))


@router.get(
    "/console/generations",
    response_class=HTMLResponse,
    responses=HTML_RESPONSES,
    summary="The planner's boundary generations: list, open a draft, validation, diff, activate (HTML)",
)
def generations_page(request: Request, principal: PrincipalDep, factory: SessionFactoryDep) -> Response:
    return _page(request, principal, pages.generations_html(_place(factory, principal)), role="planner")


@router.get("/console/assets/{name}", include_in_schema=False, response_class=FileResponse)
def asset(name: str) -> FileResponse:
    """The console's own scripts and styles (geo_grid/static/console/)."""
    path = pages.asset_path(name)
    if path is None:
        raise NotFound(f"没有控制台资源文件 {name}")
    return FileResponse(path, media_type=pages.ASSET_TYPES[path.suffix],
                        headers={"Cache-Control": "no-cache"})  # fmt: skip


def _newest(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as session:
        return console_repo.newest_report_id(session)


def _after(factory: sessionmaker[Session], after_id: int, access: Scope) -> list[int]:
    with transaction(factory) as session:
        return console_repo.report_ids_after(session, after_id, EVENTS_MAX_IDS, access)


async def report_events(
    request: Request,
    factory: sessionmaker[Session],
    last_id: int | None,
    max_s: float = EVENTS_MAX_S,
    access: Scope = EVERYTHING,
) -> AsyncIterator[str]:
    """`event: report` with `{"ids": [...]}` (new reports in the caller's scope, oldest first) and `id:` the
    newest of them, so a reconnecting browser (Last-Event-ID) misses nothing; ends after `max_s` or when
    the client goes."""
    loop = asyncio.get_running_loop()
    started = last_beat = loop.time()
    last = last_id if last_id is not None else await run_in_threadpool(_newest, factory)
    yield f"retry: 1000\nid: {last}\n\n"
    while loop.time() - started < max_s and not await request.is_disconnected():
        await asyncio.sleep(EVENTS_POLL_S)
        ids = await run_in_threadpool(_after, factory, last, access)
        if ids:
            last = ids[-1]
            yield f"id: {last}\nevent: report\ndata: {json.dumps({'ids': ids})}\n\n"
        elif loop.time() - last_beat >= EVENTS_HEARTBEAT_S:
            last_beat = loop.time()
            yield ": 心跳\n\n"


@router.get(
    "/console/events",
    include_in_schema=False,  # a never-ending text/event-stream, not a JSON contract
    response_class=StreamingResponse,
    summary="Server-sent events of the console: a `report` event when reports are created (dispatcher)",
)
async def events(
    request: Request,
    principal: DispatcherDep,
    factory: SessionFactoryDep,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> StreamingResponse:
    last = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    stream = report_events(request, factory, last, access=principal.scope)
    return StreamingResponse(stream, media_type="text/event-stream",
                             headers=headers)  # fmt: skip
