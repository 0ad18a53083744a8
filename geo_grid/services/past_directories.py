"""Directories of past (or draft) generations for `GET /lookup?at=…|generation=…`: built on demand from
the database and kept in a small LRU, so repeated questions about one past moment stay in memory."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from geo_grid.db import transaction
from geo_grid.services import grids as grid_service
from geo_grid.services.directory import GridDirectory, build

DEFAULT_SIZE = 4


class PastDirectories:
    """generation id → GridDirectory, least recently used evicted first."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._cache: OrderedDict[int, GridDirectory] = OrderedDict()
        self._lock = threading.Lock()

    def resolve(
        self,
        factory: sessionmaker[Session],
        current: GridDirectory | None,
        at: datetime | None = None,
        generation: int | None = None,
    ) -> GridDirectory:
        """The directory of the generation `at`/`generation` names (the live one when it is that)."""
        with transaction(factory) as session:
            gen_id = grid_service.resolve_generation(session, at, generation).id
            if current is not None and current.generation_id == gen_id:
                return current
            with self._lock:
                hit = self._cache.get(gen_id)
                if hit is not None:
                    self._cache.move_to_end(gen_id)
                    return hit
            directory = build(session, gen_id)
        with self._lock:
            self._cache[gen_id] = directory
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return directory

    def clear(self) -> None:
        """Drop everything (after an activation a draft's directory may describe an active generation)."""
        with self._lock:
            self._cache.clear()
