"""GET /grids/{code}/stats: every count and each rate's numerator/denominator against a direct count of
the sample's reports, the roll-up micro → tertiary → community → subdistrict, and periods."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from geo_grid import db, reporting
from tests.support.deadlines import Deadlines

COMMUNITY = "410105012004"
TERTIARY = COMMUNITY + "003"


@pytest.fixture(scope="module")
def rows(ro_db_url: str) -> Iterator[list[dict[str, Any]]]:
    engine = db.make_engine(ro_db_url, pool_size=1)
    with engine.connect() as conn:
        sql = """SELECT status, category, created_at, accepted_at, closed_at, solved, rating, micro_code,
                        tertiary_code, community_code FROM reports"""
        out = [dict(r._mapping) for r in conn.execute(text(sql))]
    engine.dispose()
    deadlines = Deadlines(ro_db_url)  # the categories table and work calendar, computed in Python
    for r in out:
        r["response_h"] = deadlines.response_hours(r["category"])
        r["due"] = deadlines.overall_due(r["category"], r["created_at"])
    yield out


def _expected(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The definitions, written out independently of the SQL."""
    handled = [r for r in rows if r["status"] not in ("rejected", "duplicate")]
    in_time = [
        r for r in handled
        if r["accepted_at"] is not None
        and r["accepted_at"] <= r["created_at"] + timedelta(hours=r["response_h"])
    ]  # fmt: skip
    rated = [r for r in rows if r["rating"] is not None]
    closed = [
        (r["closed_at"] - r["created_at"]).total_seconds() / 3600 for r in rows if r["status"] == "closed"
    ]
    return {
        "total": len(rows),
        "response_rate": (len(in_time), len(handled)),
        "resolution_rate": (sum(1 for r in handled if r["status"] == "closed" and r["solved"]), len(handled)),
        "satisfaction_rate": (sum(1 for r in rated if r["rating"] >= 4), len(rated)),
        "median": statistics.median(closed) if closed else None,
        "by_status": dict(Counter(r["status"] for r in rows)),
        "by_category": dict(Counter(r["category"] for r in rows)),
    }


def _check(got: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    exp = _expected(rows)
    assert got["total"] == exp["total"]
    for rate in ("response_rate", "resolution_rate", "satisfaction_rate"):
        assert (got[rate]["numerator"], got[rate]["denominator"]) == exp[rate], rate
        n, d = exp[rate]
        assert got[rate]["rate"] == (round(n / d, 4) if d else None)
    if exp["median"] is None:
        assert got["median_hours_to_close"] is None
    else:
        assert got["median_hours_to_close"] == pytest.approx(exp["median"], abs=0.01)


@pytest.mark.parametrize(
    ("code", "column"),
    [
        ("410105012", None),
        (COMMUNITY, "community_code"),
        (TERTIARY, "tertiary_code"),
        (TERTIARY + "005", "micro_code"),
    ],
)
def test_stats_match_direct_counts(
    client: TestClient, rows: list[dict[str, Any]], code: str, column: str | None
) -> None:
    r = client.get(f"/grids/{code}/stats")
    assert r.status_code == 200, r.text
    got = r.json()
    mine = [x for x in rows if column is None or x[column] == code]
    assert mine
    _check(got, mine)
    exp = _expected(mine)
    assert got["by_status"] == exp["by_status"] and got["by_category"] == exp["by_category"]
    assert got["level"] == {None: "subdistrict", "community_code": "community", "tertiary_code": "tertiary",
                            "micro_code": "micro"}[column]  # fmt: skip
    # Roll-up: the children's numbers add up to the parent's (the subdistrict's include the outside ones).
    if column != "micro_code":
        children = got["children"]
        assert children
        assert sum(c["total"] for c in children) == got["total"]
        assert sum(c["overdue"] for c in children) == got["overdue"]
        for rate in ("response_rate", "resolution_rate", "satisfaction_rate"):
            for part in ("numerator", "denominator"):
                assert sum(c[rate][part] for c in children) == got[rate][part]
        child_column = {
            None: "community_code",
            "community_code": "tertiary_code",
            "tertiary_code": "micro_code",
        }[column]
        for c in children[:3]:
            _check(c, [x for x in mine if x[child_column] == c["code"]])
    else:
        assert got["children"] == []


def test_subdistrict_children_include_outside(client: TestClient, rows: list[dict[str, Any]]) -> None:
    got = client.get("/grids/410105012/stats").json()
    outside = [c for c in got["children"] if c["code"] is None]
    assert len(outside) == 1 and outside[0]["level"] == "outside" and outside[0]["name"] == "街道中心"
    assert outside[0]["total"] == sum(1 for r in rows if r["community_code"] is None) > 0
    assert len(got["children"]) == 12 and got["name"] == "未来路街道"


def test_period_and_overdue(client: TestClient, rows: list[dict[str, Any]]) -> None:
    since, until = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    got = client.get(
        f"/grids/{COMMUNITY}/stats", params={"since": since.isoformat(), "until": until.isoformat()}
    ).json()
    mine = [r for r in rows if r["community_code"] == COMMUNITY and since <= r["created_at"] < until]
    _check(got, mine)
    # Overdue at the end of the period: open then (in the data as stored) and past the resolution deadline.
    open_ = [r for r in mine if r["status"] not in reporting.TERMINAL and r["status"] != "parked"]
    late = [r for r in open_ if r["due"] < until]
    assert got["overdue"] == len(late)
    assert datetime.fromisoformat(got["overdue_as_of"]) == until


def test_bad_codes(client: TestClient) -> None:
    assert client.get("/grids/410105012999/stats").status_code == 404
    assert client.get("/grids/12345/stats").status_code == 422
    assert client.get("/grids/410105012/stats", params={"since": "2026-02-01T00:00:00Z",
                                                          "until": "2026-01-01T00:00:00Z"}).status_code == 422  # fmt: skip
