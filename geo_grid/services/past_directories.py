"""Directories of past (or draft) generations for `GET /lookup?at=…|generation=…`: built on demand from
the database and kept in a bounded LRU, so repeated questions about one past moment stay in memory.

What a public caller can make this cost is bounded: past indexes use a small raster (`max_cells`; exact
all the same, only more points take the exact test), and builds run one at a time (`build` holds a lock
and re-checks the cache), so N concurrent misses on one generation build it once, not N times.

With several subdistricts, `at=` names a moment of the whole district: the generation each subdistrict had
in force then (those that had one), held together in one directory, so that the point decides the
subdistrict as in the live lookup (the same tie rule on a border). `generation=` names one generation.

A draft's grids change while it is edited: its entry is keyed by the draft's edit stamp
(repository/edit_stamps.py), so an edit — through this API or by another process — is seen at the next
lookup; the edit routes also `invalidate` it at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from geo_grid.db import transaction
from geo_grid.errors import GenerationNotFound
from geo_grid.repository import edit_stamps
from geo_grid.repository import generations as generation_repo
from geo_grid.repository import subdistricts as subdistrict_repo
from geo_grid.services import grids as grid_service
from geo_grid.services.directory import GridDirectory, build

DEFAULT_SIZE = 8
DEFAULT_MAX_CELLS = 250_000

Stamp = tuple[object, ...] | None
Key = tuple[int, ...]  # the generations a directory holds, in id order (GridDirectory.generation_ids)


class PastDirectories:
    """generation ids → (edit stamp, GridDirectory), least recently used evicted first."""

    def __init__(self, size: int = DEFAULT_SIZE, max_cells: int = DEFAULT_MAX_CELLS) -> None:
        self.size = max(1, size)
        self.max_cells = max_cells
        self.builds = 0  # how many directories were built (a benchmark and the tests read it)
        self._cache: OrderedDict[Key, tuple[Stamp, GridDirectory]] = OrderedDict()
        self._lock = threading.Lock()  # guards _cache
        self._build_lock = threading.Lock()  # one build at a time

    def identify(
        self, factory: sessionmaker[Session], at: datetime | None = None, generation: int | None = None
    ) -> tuple[Key, Stamp]:
        """The generations `at` (one per subdistrict) or `generation` names and, for a draft, its current
        edit stamp (one short query; other generations never change)."""
        with transaction(factory) as session:
            if at is not None and generation is None:
                return in_force(session, at), None
            gen = grid_service.resolve_generation(session, at, generation)
            stamp = edit_stamps.grid_stamp(session, gen.id) if gen.status == "draft" else None
            return (gen.id,), stamp

    def cached(self, gen_id: Key, stamp: Stamp) -> GridDirectory | None:
        with self._lock:
            hit = self._cache.get(gen_id)
            if hit is None or hit[0] != stamp:
                return None
            self._cache.move_to_end(gen_id)
            return hit[1]

    def build(self, factory: sessionmaker[Session], gen_id: Key, stamp: Stamp) -> GridDirectory:
        """Build (or, when a concurrent caller just did, reuse) the directory and cache it."""
        with self._build_lock:
            hit = self.cached(gen_id, stamp)
            if hit is not None:
                return hit
            with transaction(factory) as session:
                directory = build(session, list(gen_id), max_cells=self.max_cells)
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
        if current is not None and current.generation_ids == gen_id:
            return current
        return self.cached(gen_id, stamp) or self.build(factory, gen_id, stamp)

    def invalidate(self, gen_id: int) -> None:
        """Forget one generation (a draft that was just edited)."""
        with self._lock:
            for key in [k for k in self._cache if gen_id in k]:
                self._cache.pop(key, None)

    def clear(self) -> None:
        """Drop everything (after an activation a draft's directory may describe an active generation)."""
        with self._lock:
            self._cache.clear()


def in_force(session: Session, at: datetime) -> Key:
    """The generation each subdistrict had in force at `at` (those that had one), in id order; 404 when
    none had any."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC)  # PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 allows
    found = [
        gen.id
        for sub in subdistrict_repo.list_all(session)
        if (gen := generation_repo.at(session, at, sub.code)) is not None
    ]
    if not found:
        raise GenerationNotFound(f"no boundaries were active at {at.isoformat()}")
    return tuple(sorted(found))
