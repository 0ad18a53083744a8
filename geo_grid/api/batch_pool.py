"""Batches computed in worker processes, so that their CPU work (JSON parsing, 100,000 placements, 10,000
address matches, 30 MB of JSON out) never competes with single lookups for the server's GIL.

Threads were not enough: a Python thread parsing and building 100,000 result objects holds the GIL in
5 ms slices, and three of them cut the event loop's share so far that `GET /lookup` queued for seconds.
Workers run at a lower CPU priority (nice 10), so the server's own process is scheduled first.

A worker makes its own snapshot of the generation (and the address book) the first time it needs it,
keyed by the server's snapshot (`built_at`), so a reload in the server is followed. The grids' lookup
index is not rebuilt there: with several subdistricts the worker loads the index the server published in
its store (services/index_publication.py, `Settings.lookup_store_path()`), memory-mapped like every other
process (`held_index` says how the worker got it).
`api/limits.run_batch` bounds how many batches of each kind run at once (callers wait on the event loop).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
from fastapi.exceptions import RequestValidationError

from geo_grid.errors import GeoGridError

_CACHE: dict[str, tuple[Any, Any]] = {}  # in a worker process: "directory"/"book"/"engine" → (key, value)
_STORE: list[Path | None] = [None]  # in a worker process: the store of published lookup indexes


def new_pool(workers: int, store: Path | None = None) -> ProcessPoolExecutor:
    """`store`: where the server publishes its lookup index (the workers load it from there)."""
    # spawn, not fork: the server has threads (the pool, the database driver), which fork would copy half-way
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(store,),
    )


def shutdown(pool: ProcessPoolExecutor | None) -> None:
    """Stop the workers now (a running batch is abandoned: its caller is gone with the server)."""
    if pool is None:
        return
    processes = list(getattr(pool, "_processes", {}).values())  # no public API before Python 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        if p.is_alive():
            p.terminate()


class Workers:
    """One app's batch workers (a runtime part, api/runtime.py): the process pool, started at the first
    batch, and a limiter per batch kind (`concurrency` batches of each kind at once); `store`: where the
    app publishes its lookup index (`Settings.lookup_store_path()`), which the workers load."""

    def __init__(self, concurrency: int, store: Path | None = None) -> None:
        self.concurrency = max(1, concurrency)
        self.store = store
        self._pool: ProcessPoolExecutor | None = None
        self._limiters: dict[str, anyio.CapacityLimiter] = {}

    def limiter(self, kind: str) -> anyio.CapacityLimiter:
        # made on first use, on the event loop that serves the requests
        limiter = self._limiters.get(kind)
        if limiter is None:
            limiter = self._limiters[kind] = anyio.CapacityLimiter(self.concurrency)
        return limiter

    def pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = new_pool(2 * self.concurrency, self.store)
        return self._pool

    def discard_pool(self) -> None:
        """Forget a broken pool (a worker died, e.g. out of memory): a new one is started next time."""
        self._pool = None

    def shutdown(self) -> None:
        shutdown(self._pool)
        self._pool = None


def _init_worker(store: Path | None = None) -> None:
    """Lower priority, and exit with the server: a worker left behind by a killed server would otherwise
    finish its batch (minutes for a large address batch) for nobody."""
    _STORE[0] = store
    with contextlib.suppress(OSError):  # not permitted here: run at normal priority
        os.nice(10)
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def call(fn: Any, *args: Any) -> tuple[str, Any]:
    """Run `fn` in the worker; errors come back as data (exceptions with extra state do not pickle)."""
    try:
        return "ok", fn(*args)
    except RequestValidationError as exc:
        # Only what the 422 shows (pydantic's `input` may be the whole body, its `ctx` may not pickle).
        keep = ("loc", "msg", "type")
        return "invalid", [{k: e[k] for k in keep if k in e} for e in exc.errors()]
    except GeoGridError as exc:
        return "domain", (type(exc), exc.message, exc.detail)


def unwrap(answer: tuple[str, Any]) -> Any:
    """In the server: the worker's result, or its error raised again."""
    tag, value = answer
    if tag == "invalid":
        raise RequestValidationError(value)
    if tag == "domain":
        cls, message, detail = value
        raise cls(message, detail)
    return value


def _cached(name: str, key: Any, make: Any) -> Any:
    hit = _CACHE.get(name)
    if hit is None or hit[0] != key:
        hit = _CACHE[name] = (key, make())
    return hit[1]


def _factory(url: str) -> Any:
    from geo_grid.db import make_engine, make_session_factory

    return _cached("engine", url, lambda: make_session_factory(make_engine(url, 1)))


def _directory(url: str, generation_id: int | tuple[int, ...], built_at: datetime) -> Any:
    from geo_grid.db import transaction
    from geo_grid.services import directory

    def make() -> Any:
        with transaction(_factory(url)) as session:
            # The server's index, loaded from its store (built here only when it was never published).
            return directory.build(session, generation_id, store=_STORE[0])

    return _cached("directory", (url, generation_id, built_at), make)


def held_index() -> tuple[str, str | None] | None:
    """In a worker process: how its directory got the lookup index ("loaded" from the store, "built",
    "in_memory") and the index's name in the store; None before its first batch."""
    hit = _CACHE.get("directory")
    if hit is None:
        return None
    return hit[1].index_how, hit[1].index_name


def _book(url: str, built_at: datetime) -> Any:
    from geo_grid.db import transaction
    from geo_grid.services import addresses

    def make() -> Any:
        with transaction(_factory(url)) as session:
            return addresses.build(session)

    return _cached("book", (url, built_at), make)


def lookup_batch(
    url: str, generation_id: int | tuple[int, ...], built_at: datetime, raw: bytes, max_points: int
) -> bytes:
    from geo_grid.api.routers import lookup

    return lookup.compute_batch(raw, _directory(url, generation_id, built_at), max_points)


def address_batch(
    url: str,
    generation_id: int | tuple[int, ...],  # the directory's generations (GridDirectory.generation_ids)
    directory_built_at: datetime,
    book_built_at: datetime,
    raw: bytes,
    principal: Any,
    max_chars: int,
) -> bytes:
    from geo_grid.api.routers import addresses

    directory = _directory(url, generation_id, directory_built_at)
    return addresses.compute_batch(raw, _book(url, book_built_at), directory, principal, max_chars)
