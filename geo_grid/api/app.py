"""The FastAPI application factory: `create_app(settings)`; its lifespan opens the engine and builds
the in-memory grid directory once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from geo_grid import __version__, clock
from geo_grid.api import errors, limits, openapi
from geo_grid.api.routers import ROUTERS
from geo_grid.api.security_headers import SecurityHeaders, page_policy_for
from geo_grid.db import make_engine, make_session_factory
from geo_grid.services.addresses import AddressBookHolder
from geo_grid.services.audit import AuditQueue
from geo_grid.services.directory import DirectoryHolder
from geo_grid.settings import Settings

DESCRIPTION = """未来路街道网格化基层治理 — grid-mapping service.

A place in, the grid chain (微网格 → 三级网格 → 社区) and its people out. Phones are masked unless the
caller holds a dispatcher-or-higher token (`Authorization: Bearer …`, see `geo-grid token create`).
Errors are JSON `{"code": "...", "message": "..."}`.
"""


async def _follow_changes(app: FastAPI, every_s: float) -> None:
    """Swap in a new generation when another process (e.g. `geo-grid generations activate --commit`)
    activated one, and a new address book after `geo-grid import addresses`; changes made through this
    API swap at once. While the database is down, keep serving from memory."""
    if every_s <= 0:
        return
    while True:
        await asyncio.sleep(every_s)
        try:
            await run_in_threadpool(app.state.directory.refresh_if_changed, app.state.session_factory)
            await run_in_threadpool(app.state.address_book.refresh_if_changed, app.state.session_factory)
        except Exception:  # the database is unreachable or restarting: try again next round
            continue


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    clock.configure(settings.now)
    if not settings.database_url:
        raise RuntimeError(
            "create_app needs settings.database_url (geo-grid up sets it for the embedded cluster)"
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(
            settings.database_url or "", settings.db_pool_size, settings.db_connect_timeout_s
        )
        app.state.engine = engine
        app.state.session_factory = make_session_factory(engine)
        app.state.token_cache = {}
        app.state.audit_queue = AuditQueue(app.state.session_factory, settings.audit_queue_max)
        app.state.directory = DirectoryHolder(None)
        app.state.directory.reload(app.state.session_factory)
        app.state.address_book = AddressBookHolder()  # the one AddressMatcher (services/addresses.py)
        app.state.address_book.reload(app.state.session_factory)
        watcher = asyncio.create_task(_follow_changes(app, settings.generation_poll_s))
        try:
            yield
        finally:
            watcher.cancel()
            await run_in_threadpool(app.state.audit_queue.close)
            limits.shutdown(app)  # the batch worker processes
            engine.dispose()

    app = FastAPI(
        title="geo_grid 网格化治理服务",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc come from routers/docs.py, with local assets instead of a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.add_middleware(SecurityHeaders, page_policy=page_policy_for(settings))
    errors.install(app)
    limits.install(app, settings)  # body-size and rate limits (api/limits.py)
    for router in ROUTERS:
        app.include_router(router)
    openapi.install(app, ROUTERS)  # each guarded route's role in the document
    return app
