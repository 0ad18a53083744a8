"""Deadlines as the service computes them, for tests that check stored ones: the categories table and the
work calendar of a database (geo_grid/services/categories.py, services/stages.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.orm import Session

from geo_grid import db
from geo_grid.services import categories as category_service
from geo_grid.services import stages as stage_service


@contextmanager
def session(url: str) -> Iterator[Session]:
    engine = db.make_engine(url, pool_size=1)
    try:
        with db.make_session_factory(engine)() as s:
            yield s
    finally:
        engine.dispose()


class Deadlines:
    """The categories and calendar of one database, read once."""

    def __init__(self, url: str) -> None:
        with session(url) as s:
            self.table = category_service.table(s)
            self.calendar = category_service.calendar(s)

    def overall_due(self, category: str, created: datetime) -> datetime:
        """`due_at` of a report: every stage's limit in turn from its creation."""
        return stage_service.overall_due(self.calendar, self.table.get(category), created)

    def response_hours(self, category: str) -> float:
        """The 受理 limit (natural hours): the response deadline of 响应率."""
        return self.table.limit(category, "accept").value
