"""Directories of past (or draft) generations for `GET /lookup?at=…|generation=…`: built on demand from
the database and kept in a bounded LRU, so repeated questions about one past moment stay in memory.

What a public caller can make this cost is bounded: past indexes use a small raster (`max_cells`; exact
all the same, only more points take the exact test), and builds run one at a time (`build` holds a lock
and re-checks the cache), so N concurrent misses on one generation build it once, not N times.

A draft's grids change while it is edited: its entry is keyed by the draft's edit stamp
(repository/edit_stamps.py), so an edit — through this API or by another process — is seen at the next
lookup; the edit routes also `invalidate` it at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from geo_grid.db import transaction
from geo_grid.repository import edit_stamps
from geo_grid.services import grids as grid_service
from geo_grid.services.directory import GridDirectory, build

DEFAULT_SIZE = 8
DEFAULT_MAX_CELLS = 250_000

Stamp = tuple[object, ...] | None


class PastDirectories:
    """generation id → (edit stamp, GridDirectory), least recently used evicted first."""

    def __init__(self, size: int = DEFAULT_SIZE, max_cells: int = DEFAULT_MAX_CELLS) -> None:
        self.size = max(1, size)
        self.max_cells = max_cells
        self.builds = 0  # how many directories were built (a benchmark and the tests read it)
        self._cache: OrderedDict[int, tuple[Stamp, GridDirectory]] = OrderedDict()
        self._lock = threading.Lock()  # guards _cache
        self._build_lock = threading.Lock()  # one build at a time

    def identify(
        self, factory: sessionmaker[Session], at: datetime | None = None, generation: int | None = None
    ) -> tuple[int, Stamp]:
        """The generation `at`/`generation` names and, for a draft, its current edit stamp (one short query;
        other generations never change)."""
        with transaction(factory) as session:
            gen = grid_service.resolve_generation(session, at, generation)
            stamp = edit_stamps.grid_stamp(session, gen.id) if gen.status == "draft" else None
            return gen.id, stamp

    def cached(self, gen_id: int, stamp: Stamp) -> GridDirectory | None:
        with self._lock:
            hit = self._cache.get(gen_id)
            if hit is None or hit[0] != stamp:
                return None
            self._cache.move_to_end(gen_id)
            return hit[1]

    def build(self, factory: sessionmaker[Session], gen_id: int, stamp: Stamp) -> GridDirectory:
        """Build (or, when a concurrent caller just did, reuse) the directory and cache it."""
        with self._build_lock:
            hit = self.cached(gen_id, stamp)
            if hit is not None:
                return hit
            with transaction(factory) as session:
                directory = build(session, gen_id, max_cells=self.max_cells)
            self.builds += 1
            with self._lock:
                self._cache[gen_id] = (stamp, directory)
                self._cache.move_to_end(gen_id)
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
            return directory

    def resolve(
        self,
        factory: sessionmaker[Session],
        current: GridDirectory | None,
        at: datetime | None = None,
        generation: int | None = None,
    ) -> GridDirectory:
        """The directory of the generation `at`/`generation` names (the live one when it is that)."""
        gen_id, stamp = self.identify(factory, at, generation)
        if current is not None and current.generation_id == gen_id:
            return current
        return self.cached(gen_id, stamp) or self.build(factory, gen_id, stamp)

    def invalidate(self, gen_id: int) -> None:
        """Forget one generation (a draft that was just edited)."""
        with self._lock:
            self._cache.pop(gen_id, None)

    def clear(self) -> None:
        """Drop everything (after an activation a draft's directory may describe an active generation)."""
        with self._lock:
            self._cache.clear()
