"""The one clock: every "now" of the service, in Python and in SQL, comes from here.

Real time by default. `GEO_GRID_NOW` (Settings.now) sets the instant the clock reads when the process
configures it; from there it runs on at the normal pace, so that events keep their order. The same
offset is sent to every database connection (`geo_grid.clock_offset`), where the SQL function
`geo_grid_now()` (migration 0002) adds it to PostgreSQL's `now()`: Python and SQL agree on "now".
Tests fix the clock, so nothing they check depends on the day they run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_anchor: datetime | None = None
_offset = timedelta(0)


def configure(anchor: datetime | None) -> None:
    """Make the clock read `anchor` now and run on from there; None = real time. Configuring the same
    anchor again keeps the running clock (each app a test builds must not turn time back)."""
    global _anchor, _offset
    if anchor is not None and anchor.tzinfo is None:
        raise ValueError("the clock's anchor needs a UTC offset")
    if anchor == _anchor:
        return
    _anchor = anchor
    _offset = timedelta(0) if anchor is None else anchor - datetime.now(UTC)


def now() -> datetime:
    """The current instant (aware, UTC)."""
    return datetime.now(UTC) + _offset


def offset() -> timedelta:
    """How far the clock is from real time: what `geo_grid_now()` adds to the database's `now()`."""
    return _offset


def sql_offset() -> str:
    """The offset as a PostgreSQL interval literal for `SET geo_grid.clock_offset`."""
    return f"{_offset.total_seconds():.6f} seconds"
