"""What a month's assessment (考核) costs: GET /assessment's work (services/assessment.assess) for every unit
kind and the whole workbook (six sheets, twelve months of trend), on the sample and on 10^6 synthetic cases
made with generate_series in a scratch database (stages, dispatches, returns, rework, extensions, 挂账,
督办). Prints figures only.

    .venv/bin/python benchmarks/assessment.py [--cases 1000000] [--period 2026-10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from geo_grid import db  # noqa: E402
from geo_grid.embedded import EmbeddedCluster, find_pg_bin_dir, free_port  # noqa: E402
from geo_grid.reporting import DEPARTMENTS  # noqa: E402
from geo_grid.services import assessment as svc  # noqa: E402
from geo_grid.services.sample import load_sample  # noqa: E402
from geo_grid.settings import SAMPLE_DIR, Settings  # noqa: E402

WEIGHTS = Settings().assessment_weights


def _sql_array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


# 10^6 cases over the sample's year, on the sample's micro-grids: 3 % refused, 3 % open, 1 % parked, the rest
# closed (2 % 自办自结); a third go to a department. Every registered case has a register stage, a closed one
# a handle stage (80 % on time); 2 % are returned and dispatched again, 3 % reworked, 4 % extended, 2 %
# supervised.
SYNTHETIC = f"""
SELECT setseed(0.42);
CREATE TEMP TABLE syn AS
SELECT g, r, created, micro,
       CASE WHEN r < 0.03 THEN 'rejected' WHEN r < 0.06 THEN 'in_progress' WHEN r < 0.07 THEN 'parked'
            ELSE 'closed' END AS status,
       (r >= 0.07 AND r < 0.09) AS self_resolved,
       created + make_interval(mins => (10 + 200 * random())::int) AS accepted,
       created + make_interval(hours => (2 + 80 * random())::int) AS closed,
       created + interval '48 hours' AS due,
       (g % 3 = 0) AS to_department
FROM (SELECT g, random() AS r,
             timestamptz '2025-11-01 00:00+08' + random() * interval '365 days' AS created,
             (SELECT array_agg(code ORDER BY code) FROM grids WHERE level = 'micro')
               [1 + floor(random() * 652)::int] AS micro
      FROM generate_series(1, :n) g) x;

INSERT INTO reports (external_id, category, channel, status, created_at, updated_at, accepted_at, closed_at,
                     due_at, solved, rating, micro_code, tertiary_code, community_code, dispatch_kind,
                     dispatch_target, self_resolved)
SELECT 'SYN' || g, (SELECT array_agg(code ORDER BY code) FROM categories)[1 + g % 10], 'grid_phone', status, created, created,
       CASE WHEN status <> 'rejected' AND NOT self_resolved THEN accepted END,
       CASE WHEN status IN ('closed', 'rejected') THEN closed END, due,
       CASE WHEN status = 'closed' THEN r > 0.1 END,
       CASE WHEN status = 'closed' AND g % 4 = 0 THEN 1 + g % 5 END,
       micro, left(micro, 15), left(micro, 12),
       CASE WHEN status <> 'rejected' THEN CASE WHEN to_department THEN 'department' ELSE 'grid_team' END END,
       CASE WHEN status <> 'rejected'
            THEN CASE WHEN to_department THEN ({_sql_array(DEPARTMENTS)})[1 + g % {len(DEPARTMENTS)}] ELSE micro END
       END,
       self_resolved
FROM syn;
CREATE TEMP TABLE ids AS
SELECT r.id, s.* FROM reports r JOIN syn s ON r.external_id = 'SYN' || s.g;

INSERT INTO report_stages (report_id, stage, started_at, due_at, yellow_at, limit_value, limit_unit, ended_at,
                           on_time, unit_kind, unit_code)
SELECT id, 'register', accepted, accepted + interval '2 hours', accepted + interval '96 minutes', 2,
       'working_hours', accepted + interval '10 minutes', true, 'centre', '街道中心'
FROM ids WHERE status <> 'rejected' AND NOT self_resolved
UNION ALL
SELECT id, 'handle', accepted + interval '30 minutes', due, due - interval '8 hours', 2, 'working_days',
       CASE WHEN status = 'closed' THEN closed - interval '1 hour' END,
       CASE WHEN status = 'closed' THEN random() < 0.8 END, 'grid_team', micro
FROM ids WHERE status <> 'rejected' AND NOT self_resolved;

INSERT INTO report_events (report_id, kind, from_status, to_status, actor, data, at)
SELECT id, 'transition', 'registered', 'dispatched', 'bench',
       jsonb_build_object('kind', CASE WHEN to_department THEN 'department' ELSE 'grid_team' END,
                          'target', CASE WHEN to_department THEN 'dept' ELSE micro END),
       accepted + interval '20 minutes'
FROM ids WHERE status <> 'rejected' AND NOT self_resolved
UNION ALL
SELECT id, 'returned', 'dispatched', 'registered', 'bench', '{{"department": "城市管理"}}'::jsonb,
       accepted + interval '25 minutes' FROM ids WHERE to_department AND g % 50 = 1
UNION ALL
SELECT id, 'redispatch', NULL, NULL, 'bench', '{{"kind": "department", "target": "综合执法"}}'::jsonb,
       accepted + interval '28 minutes' FROM ids WHERE to_department AND g % 50 = 1
UNION ALL
SELECT id, 'rework', 'feedback', 'in_progress', 'bench', '{{}}'::jsonb, closed - interval '3 hours'
FROM ids WHERE status = 'closed' AND NOT self_resolved AND g % 33 = 2
UNION ALL
SELECT id, 'extension_approved', NULL, NULL, 'bench', '{{"hours": 24}}'::jsonb, accepted + interval '1 hour'
FROM ids WHERE status <> 'rejected' AND NOT self_resolved AND g % 25 = 3
UNION ALL
SELECT id, 'parked', 'in_progress', 'parked', 'bench', '{{"reason": "待资金"}}'::jsonb, accepted + interval '2 hours'
FROM ids WHERE status = 'parked';

INSERT INTO supervision_orders (report_id, kind, automatic, issued_by, target, issued_at)
SELECT id, CASE WHEN g % 2 = 0 THEN 'supervise' ELSE 'urge' END, g % 2 = 1, 'bench', '网格员',
       accepted + interval '3 hours'
FROM ids WHERE status <> 'rejected' AND NOT self_resolved AND g % 50 = 5;
ANALYZE;
"""


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def _run(label: str, url: str, period: str, repeat: int) -> None:
    engine = db.make_engine(url, pool_size=1)
    factory = db.make_session_factory(engine)
    with db.transaction(factory) as session:
        n = session.execute(text("SELECT count(*) FROM reports")).scalar_one()
        print(f"\n{label}: {n:,} reports; period {period}")
        for by in svc.UNIT_KINDS:
            seconds, a = _timed(lambda by=by: svc.assess(session, period, by, WEIGHTS, 10), repeat)
            ranked = sum(1 for u in a.units if u.ranked)
            print(
                f"  GET /assessment by={by:11s} {seconds * 1000:8.0f} ms  ({len(a.units)} units, {ranked} ranked)"
            )
        seconds, body = _timed(lambda: svc.workbook(session, period, WEIGHTS, 10), 1)
        print(f"  workbook (6 sheets, 12-month trends)   {seconds:8.2f} s   ({len(body) / 1024:.0f} KiB)")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="geo_grid_bench_"))
    cluster = EmbeddedCluster(data_dir, free_port(), find_pg_bin_dir(), durable=False)
    try:
        cluster.start()
        urls = {}
        for name in ("sample", "scratch"):
            url = urls[name] = cluster.ensure_database(f"geo_grid_{name}")
            db.upgrade(url)
            engine = db.make_engine(url, pool_size=1)
            with db.transaction(db.make_session_factory(engine)) as session:
                load_sample(session, SAMPLE_DIR, Settings().near_boundary_m)
            engine.dispose()
        _run("sample", urls["sample"], args.period, args.repeat)

        engine = db.make_engine(urls["scratch"], pool_size=1)
        t = time.perf_counter()
        with engine.begin() as conn:
            for statement in SYNTHETIC.split(";\n"):
                if statement.strip():
                    conn.execute(text(statement), {"n": args.cases})
        with engine.connect() as conn:
            stages, events = (conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                              for t in ("report_stages", "report_events"))  # fmt: skip
        engine.dispose()
        print(
            f"\nscratch: {args.cases:,} synthetic cases added in {time.perf_counter() - t:.0f} s "
            f"({stages:,} stages, {events:,} events)"
        )
        _run("sample + synthetic", urls["scratch"], args.period, args.repeat)
    finally:
        cluster.stop("immediate")
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
