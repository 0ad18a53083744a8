"""The change feed's listening end: one dedicated connection that LISTENs on `geo_grid_changes`
(migration 0008: triggers notify the name of each changed table when its transaction commits)."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import Engine

CHANNEL = "geo_grid_changes"


class ChangeListener:
    """A DBAPI connection of its own (not from the pool: it is held for the life of the process)."""

    def __init__(self, engine: Engine, connect_timeout_s: int) -> None:
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        cparams.update(connect_timeout=connect_timeout_s, application_name="geo_grid change feed")
        self._conn: Any = engine.dialect.loaded_dbapi.connect(*cargs, **cparams)
        self._conn.autocommit = True
        with self._conn.cursor() as cur:
            cur.execute(f"LISTEN {CHANNEL}")

    def fileno(self) -> int:
        return int(self._conn.fileno())

    def drain(self) -> set[str]:
        """The tables named by the notifications that have arrived (raises when the connection broke)."""
        self._conn.poll()
        tables = {n.payload for n in self._conn.notifies}
        self._conn.notifies.clear()
        return tables

    def close(self) -> None:
        with contextlib.suppress(Exception):  # already broken: nothing to release
            self._conn.close()
