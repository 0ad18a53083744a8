"""The app's runtime: everything a running service holds besides its code, built once by the lifespan
(api/app.py), kept as `app.state.runtime` and handed to routes by the typed dependencies of api/deps.py
(`RuntimeDep`, `DirectoryDep`, …); pure ASGI middleware reads it with `runtime_of(scope["app"])`.

It is also the one place that decides when the in-memory snapshots are rebuilt (see "When snapshots
refresh" below): routes report what they changed, the runtime decides what that means for memory.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import anyio
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp

from geo_grid import clock
from geo_grid.api.batch_pool import Workers
from geo_grid.db import make_engine, make_session_factory, transaction
from geo_grid.errors import ServiceUnavailable
from geo_grid.services import addresses as address_service
from geo_grid.services import directory as directory_service
from geo_grid.services import stages as stage_service
from geo_grid.services.addresses import AddressBook
from geo_grid.services.audit import AuditQueue
from geo_grid.services.auth import Principal
from geo_grid.services.directory import GridDirectory
from geo_grid.services.past_directories import PastDirectories
from geo_grid.services.snapshots import SnapshotHolder
from geo_grid.settings import Settings

# token hash → (principal, validated_at, next_check_at), monotonic seconds (api/deps.principal_for_token)
TokenCache = dict[str, tuple[Principal, float, float]]


@dataclass(frozen=True, slots=True, eq=False)
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    directory: SnapshotHolder[GridDirectory]  # the live generation (services/directory.py)
    address_book: SnapshotHolder[AddressBook]  # the one AddressMatcher (services/addresses.py)
    past_directories: PastDirectories  # GET /lookup?at=…|generation=… (services/past_directories.py)
    audit_queue: AuditQueue  # audited reads, written in batches (services/audit.py)
    batches: Workers  # batch worker processes and their limiters (api/batch_pool.py, api/limits.py)
    past_build_limiter: anyio.CapacityLimiter  # past directories are built one at a time
    token_cache: TokenCache = field(default_factory=dict)  # shared by deps and the rate limiter

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        """Connect and load the snapshots (call on the event loop that will serve the requests: the
        limiters belong to it)."""
        engine = make_engine(
            settings.database_url or "", settings.db_pool_size, settings.db_connect_timeout_s
        )
        factory = make_session_factory(engine)
        runtime = cls(
            settings=settings,
            engine=engine,
            session_factory=factory,
            directory=directory_service.directory_holder(),
            address_book=address_service.address_book_holder(),
            past_directories=PastDirectories(settings.past_directories_cache, settings.past_index_max_cells),
            audit_queue=AuditQueue(factory, settings.audit_queue_max),
            batches=Workers(settings.batch_concurrency),
            past_build_limiter=anyio.CapacityLimiter(1),
        )
        try:
            runtime.directory.reload(factory)
            runtime.address_book.reload(factory)
        except BaseException:
            engine.dispose()
            raise
        return runtime

    async def close(self) -> None:
        await run_in_threadpool(self.audit_queue.close)  # writes what is still queued
        self.batches.shutdown()
        self.engine.dispose()

    # -- When snapshots refresh: the one place. ---------------------------------------------------------
    # A snapshot is rebuilt aside and swapped whole (services/snapshots.py); while the database is down a
    # refresh fails and the old snapshot keeps serving.

    def after_activation(self) -> GridDirectory | None:
        """A generation was activated through this API (its transaction has committed): swap the live
        directory now, and drop the past directories (a cached draft may be the active one now)."""
        new = self.directory.reload(self.session_factory)
        self.past_directories.clear()
        return new

    def after_draft_edit(self, generation_id: int) -> None:
        """A draft's grids were edited: forget its cached directory (its edit stamp would also tell)."""
        self.past_directories.invalidate(generation_id)

    def after_address_import(self) -> AddressBook:
        """Addresses were imported (POST /lookup/address/reload after `geo-grid import addresses`):
        build the new book aside and swap it in; lookups answer from the old one meanwhile."""
        book = self.address_book.reload(self.session_factory)
        if book is None:  # address_book_holder always builds a book; never expected
            raise ServiceUnavailable("the standard address table is not loaded yet")
        return book

    def refresh_changed(self) -> None:
        """Follow other processes (`geo-grid generations activate --commit`, `geo-grid import addresses`):
        rebuild whichever snapshot's version probe moved. Raises while the database is unreachable."""
        if self.directory.refresh_if_changed(self.session_factory):
            self.past_directories.clear()
        self.address_book.refresh_if_changed(self.session_factory)

    def sweep(self) -> None:
        """Record what time has done to the cases: red lights with their automatic 催办, parked cases
        back on their review date (services/stages.py; also `geo-grid sweep`)."""
        with transaction(self.session_factory) as session:
            stage_service.sweep(session, clock.now())

    async def follow_changes(self) -> None:
        """The background poll, every `generation_poll_s` seconds (0: never); changes made through this
        API swap at once (above). While the database is down, keep serving from memory. The sweep runs
        in the same task every `sweep_every_s` seconds (0: never)."""
        every_s = self.settings.generation_poll_s
        sweep_s = self.settings.sweep_every_s
        if every_s <= 0:
            return
        last_sweep = time.monotonic()
        while True:
            await asyncio.sleep(min(every_s, sweep_s) if sweep_s > 0 else every_s)
            try:
                await run_in_threadpool(self.refresh_changed)
                if sweep_s > 0 and time.monotonic() - last_sweep >= sweep_s:
                    last_sweep = time.monotonic()
                    await run_in_threadpool(self.sweep)
            except Exception:  # the database is unreachable or restarting: try again next round
                continue


def runtime_of(app: ASGIApp) -> Runtime:
    """The runtime of a FastAPI app whose lifespan has started (pure ASGI middleware: `scope["app"]`)."""
    runtime = getattr(getattr(app, "state", None), "runtime", None)
    if not isinstance(runtime, Runtime):
        raise ServiceUnavailable("服务正在启动，请稍后重试")
    return runtime
