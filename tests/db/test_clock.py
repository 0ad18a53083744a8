"""One clock for Python and SQL, fixed by the test setup; the sample demo does not age."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from geo_grid import clock, db
from geo_grid.services.sample import load_sample, time_shift
from geo_grid.settings import SAMPLE_DIR, Settings
from tests.support.clock import TEST_NOW

pytestmark = pytest.mark.db

ANCHOR = datetime.fromisoformat(TEST_NOW)


@pytest.fixture
def restore_clock() -> Iterator[None]:
    yield
    clock.configure(None)
    clock.configure(ANCHOR)


def test_the_suite_runs_on_its_fixed_clock_not_the_wall_clock() -> None:
    assert abs(clock.now() - ANCHOR) < timedelta(hours=2)  # the suite's clock started at TEST_NOW
    assert Settings().now == ANCHOR  # and every app and command the tests start reads it


def test_sql_and_python_read_the_same_clock(ro_db_url: str, restore_clock: None) -> None:
    engine = db.make_engine(ro_db_url, pool_size=1)
    try:
        for anchor in (
            ANCHOR + timedelta(days=1),
            ANCHOR + timedelta(days=365),
            ANCHOR - timedelta(days=3000),
        ):
            clock.configure(anchor)
            with engine.connect() as conn:  # the same pooled connection learns the new offset
                sql_now = conn.execute(text("SELECT geo_grid_now()")).scalar_one()
            assert abs(sql_now - clock.now()) < timedelta(seconds=5)
            assert abs(sql_now - anchor) < timedelta(seconds=5)
    finally:
        engine.dispose()


def test_a_new_report_is_stamped_by_the_clock(
    db_url: str, make_client: Callable[..., Any], restore_clock: None
) -> None:
    later = ANCHOR + timedelta(days=400)
    clock.configure(later)
    with make_client(db_url, now=later) as client:
        r = client.post(
            "/reports",
            json={
                "category": "parking",
                "channel": "hotline",
                "description": "时钟测试",
                "lon": 113.6925,
                "lat": 34.7601,
            },
        )
        assert r.status_code == 201, r.text
        created = datetime.fromisoformat(r.json()["created_at"])
        history = client.get(f"/reports/{r.json()['id']}").json()["history"]
    assert abs(created - later) < timedelta(minutes=5)
    assert all(abs(datetime.fromisoformat(e["at"]) - later) < timedelta(minutes=5) for e in history)


def test_sample_shift_whole_days_newest_report_in_the_last_day() -> None:
    reports = [{"created_at": "2026-10-31T22:38:39+08:00"}, {"created_at": "2025-11-01T00:14:04+08:00"}]
    assert time_shift(reports, None) == timedelta(0)
    for now in (
        datetime.fromisoformat("2026-11-30T09:00:00+08:00"),
        datetime.fromisoformat("2026-10-31T22:38:39+08:00"),
        datetime.fromisoformat("2031-02-03T23:59:00+08:00"),
        datetime.fromisoformat("2020-01-01T00:00:00+08:00"),
    ):
        shift = time_shift(reports, now)
        assert shift % timedelta(days=1) == timedelta(0)
        assert now - timedelta(days=1) < datetime.fromisoformat(reports[0]["created_at"]) + shift <= now


def _demo_world(empty_db_factory: Callable[[], str], make_client: Callable[..., Any], now: datetime) -> Any:
    """What a new user sees: the sample loaded as `geo-grid up` loads it, on a clock reading `now`."""
    clock.configure(now)
    url = empty_db_factory()
    db.upgrade(url)
    engine = db.make_engine(url, pool_size=1)
    with db.transaction(db.make_session_factory(engine)) as session:
        load_sample(session, SAMPLE_DIR, 10.0, now)
    engine.dispose()
    with make_client(url, now=now) as client:
        overdue = client.get("/reports", params={"overdue": "true", "limit": 1}).json()["total"]
        page = client.get("/maps/incidents").text
        stats = client.get("/grids/410105012/stats").json()
    shown = re.search(r"显示(\d+)条，逾期(\d+)条", page)
    assert shown is not None
    keep = ("by_status", "by_category", "children")
    return overdue, shown.groups(), {k: stats[k] for k in keep}


@pytest.mark.slow
def test_moving_the_clock_a_year_changes_nothing_a_user_sees(
    empty_db_factory: Callable[[], str], make_client: Callable[..., Any], restore_clock: None
) -> None:
    today = _demo_world(empty_db_factory, make_client, ANCHOR)
    next_year = _demo_world(empty_db_factory, make_client, ANCHOR + timedelta(days=365))
    assert today == next_year
    assert int(today[1][0]) > 0 and int(today[1][1]) > 0  # a live day: reports shown, some overdue
