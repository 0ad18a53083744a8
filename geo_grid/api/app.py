"""The FastAPI application factory: `create_app(settings)`; its lifespan builds the app's one runtime
(api/runtime.py: the engine, the in-memory snapshots, caches and workers) and closes it at exit."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from geo_grid import __version__, clock
from geo_grid.api import access_log, errors, limits, openapi
from geo_grid.api.lookup_fastpath import LookupFastPath
from geo_grid.api.routers import ROUTERS
from geo_grid.api.runtime import Runtime
from geo_grid.api.security_headers import SecurityHeaders, page_policy_for
from geo_grid.render.folium_preload import preload_folium
from geo_grid.settings import Settings

DESCRIPTION = """街道网格化基层治理 — grid-mapping service (the subdistricts of a district, one database).

A place in, the grid chain (微网格 → 三级网格 → 社区) and its people out. Phones are masked unless the
caller holds a dispatcher-or-higher token (`Authorization: Bearer …`, see `geo-grid token create`).
Errors are JSON `{"code": "...", "message": "..."}`.
"""


def app_from_environment() -> FastAPI:
    """The app of a worker process of `geo-grid up --workers N` (uvicorn calls it as a factory):
    its settings come from the GEO_GRID_ environment that `up` prepared."""
    return create_app(Settings())


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    clock.configure(settings.now)
    if not settings.database_url:
        raise RuntimeError(
            "create_app needs settings.database_url (geo-grid up sets it for the embedded cluster)"
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        preload_folium()  # first, while no request runs: the maps' folium without pandas (≈ 65 MiB)
        # The one runtime (api/runtime.py): engine, snapshots, caches, queues, batch workers.
        if settings.access_log:
            access_log.start()
        runtime = Runtime.open(settings)
        app.state.runtime = runtime
        # What lives as long as the process (modules, the runtime's snapshots) is taken out of the cyclic
        # collector's reach: a full collection over its ~500,000 objects paused a serving process for
        # 0.3–0.9 s now and then (the tail latency of GET /lookup). Garbage made later is collected as ever.
        gc.collect()
        gc.freeze()
        watcher = asyncio.create_task(runtime.follow_changes())
        sweeper = asyncio.create_task(runtime.sweep_periodically())
        try:
            yield
        finally:
            watcher.cancel()
            sweeper.cancel()
            await runtime.close()
            del app.state.runtime
            gc.unfreeze()  # what the runtime held can be collected again (several apps in one process: tests)
            if settings.access_log:
                access_log.stop()

    app = FastAPI(
        title="geo_grid 网格化治理服务",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc come from routers/docs.py, with local assets instead of a CDN
        redoc_url=None,
    )
    # Middleware, innermost first (each add_middleware wraps the ones before it). All pure ASGI.
    app.add_middleware(LookupFastPath)  # plain GET /lookup, public or token (api/lookup_fastpath.py)
    errors.install(app)  # the text guard (api/text_guard.py)
    limits.install(app, settings)  # body-size and rate limits (api/limits.py)
    # On every response, the refusals of the guards above too.
    app.add_middleware(SecurityHeaders, page_policy=page_policy_for(settings))
    if settings.access_log:
        app.add_middleware(access_log.AccessLog)  # outermost: times and logs every answer, refusals too
    for router in ROUTERS:
        app.include_router(router)
    openapi.install(app, ROUTERS)  # each guarded route's role in the document
    return app
