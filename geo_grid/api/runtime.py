"""The app's runtime: everything a running service holds besides its code, built once by the lifespan
(api/app.py), kept as `app.state.runtime` and handed to routes by the typed dependencies of api/deps.py
(`RuntimeDep`, `DirectoryDep`, …); pure ASGI middleware reads it with `runtime_of(scope["app"])`.

It is also the one place that decides when the in-memory snapshots are rebuilt (see "When snapshots
refresh" below): routes report what they changed, the runtime decides what that means for memory.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from geo_grid.repository.change_feed import ChangeListener
from geo_grid.services import addresses as address_service
from geo_grid.services import directory as directory_service
from geo_grid.services import stages as stage_service
from geo_grid.services.addresses import AddressBook
from geo_grid.services.audit import AuditQueue
from geo_grid.services.auth import Principal
from geo_grid.services.directory import GridDirectory
from geo_grid.services.exchange import OutboxWorker
from geo_grid.services.past_directories import PastDirectories
from geo_grid.services.snapshots import SnapshotHolder
from geo_grid.settings import Settings

# token hash → (principal, validated_at, next_check_at), monotonic seconds (api/deps.principal_for_token)
TokenCache = dict[str, tuple[Principal, float, float]]
# The tables the address book is built from (services/addresses.build): a change there may rebuild it.
ADDRESS_BOOK_TABLES = frozenset({"addresses", "facilities", "courtyards", "road_segments", "communities"})
# While the change feed's connection is down: how often to try listening again.
LISTEN_RETRY_S = 5.0


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
    outbox: (
        OutboxWorker  # delivers the 12345 exchange's outbox to the sources' webhooks (services/exchange.py)
    )
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
            directory=directory_service.directory_holder(settings.lookup_store_path()),
            address_book=address_service.address_book_holder(),
            past_directories=PastDirectories(settings.past_directories_cache, settings.past_index_max_cells),
            audit_queue=AuditQueue(factory, settings.audit_queue_max),
            batches=Workers(settings.batch_concurrency, settings.lookup_store_path()),
            past_build_limiter=anyio.CapacityLimiter(1),
            outbox=OutboxWorker(factory, settings),
        )
        try:
            runtime.directory.reload(factory)
            runtime.address_book.reload(factory)
        except BaseException:
            engine.dispose()
            raise
        runtime.outbox.start()
        return runtime

    async def close(self) -> None:
        await run_in_threadpool(self.outbox.stop)  # the message in flight is finished and committed
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

    def refresh_changed(self, tables: frozenset[str] | None = None) -> None:
        """Follow other processes (`geo-grid generations activate --commit`, `geo-grid import addresses`):
        rebuild whichever snapshot's version probe moved. `tables`: the tables the change feed named;
        None: not known (a poll, or the feed was down), so look at everything. Raises while the database
        is unreachable."""
        generations = tables is None or "generations" in tables
        if generations and self.directory.refresh_if_changed(self.session_factory):
            self.past_directories.clear()
        if tables is None or not tables.isdisjoint(ADDRESS_BOOK_TABLES):
            self.address_book.refresh_if_changed(self.session_factory)

    def sweep(self) -> None:
        """Record what time has done to the cases: red lights with their automatic 催办, parked cases
        back on their review date (services/stages.py; also `geo-grid sweep`)."""
        with transaction(self.session_factory) as session:
            stage_service.sweep(session, clock.now())

    async def follow_changes(self) -> None:
        """Follow changes made by other processes. First the change feed (LISTEN on the notifications
        the database sends when a generation, an address or a token changes; migration 0008): they reach
        this process within a moment. Then a poll every `generation_poll_s` seconds (0: never), which is
        also the fallback while the feed is down. The database down: keep serving from memory."""
        every_s = self.settings.generation_poll_s
        listener: ChangeListener | None = None
        next_listen = 0.0
        try:
            while True:
                if listener is None and time.monotonic() >= next_listen:
                    listener = await run_in_threadpool(self._listen)
                    next_listen = time.monotonic() + LISTEN_RETRY_S
                    if listener is not None:
                        await self._follow(None)  # catch up on what changed while nobody listened
                        continue
                if listener is None:
                    await asyncio.sleep(min(every_s, LISTEN_RETRY_S) if every_s > 0 else LISTEN_RETRY_S)
                    if every_s > 0:
                        await self._follow(None)
                    continue
                try:
                    tables = await _notified(listener, every_s if every_s > 0 else None)
                except Exception:  # the feed's connection broke (database restarting): poll, listen again
                    listener.close()
                    listener, next_listen = None, 0.0  # at once; then every LISTEN_RETRY_S
                    continue
                await self._follow(tables)
        finally:
            if listener is not None:
                listener.close()

    async def sweep_periodically(self) -> None:
        """The sweep (red lights, automatic 催办, parked cases back on their review date) every
        `sweep_every_s` seconds (0: never), in the background; a failed round waits for the next."""
        every_s = self.settings.sweep_every_s
        if every_s <= 0:
            return
        while True:
            await asyncio.sleep(every_s)
            with contextlib.suppress(Exception):  # the database unreachable or restarting
                await run_in_threadpool(self.sweep)

    def _listen(self) -> ChangeListener | None:
        try:
            return ChangeListener(self.engine, self.settings.db_connect_timeout_s)
        except Exception:  # unreachable now; the caller tries again later and polls meanwhile
            return None

    async def _follow(self, tables: frozenset[str] | None) -> None:
        if tables is not None and "api_tokens" in tables:
            self.token_cache.clear()  # a token was revoked or created elsewhere: ask the database again
        # The database unreachable or restarting: the next change or poll retries.
        with contextlib.suppress(Exception):
            await run_in_threadpool(self.refresh_changed, tables)


async def _notified(listener: ChangeListener, timeout_s: float | None) -> frozenset[str] | None:
    """The tables named by the next notifications, or None when `timeout_s` passed without any."""
    loop = asyncio.get_running_loop()
    readable: asyncio.Future[None] = loop.create_future()
    fd = listener.fileno()

    def wake() -> None:
        if not readable.done():
            readable.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await asyncio.wait_for(readable, timeout_s)
    except TimeoutError:
        return None
    finally:
        loop.remove_reader(fd)
    return frozenset(listener.drain())


def runtime_of(app: ASGIApp) -> Runtime:
    """The runtime of a FastAPI app whose lifespan has started (pure ASGI middleware: `scope["app"]`)."""
    runtime = getattr(getattr(app, "state", None), "runtime", None)
    if not isinstance(runtime, Runtime):
        raise ServiceUnavailable("服务正在启动，请稍后重试")
    return runtime
