"""The background audit writer's CPU per row, in process: the batched ORM insert it used
(`session.execute(insert(AuditEntry), rows)`), a Core executemany on the table, COPY in text format, and
one INSERT … SELECT from a JSON document (`repository.audit.add_many_json`, what
services/audit.AuditQueue.flush writes with: the cheapest here). CPU seconds of this process
(time.process_time: the client side, which holds the GIL in the server), so the figures hold on a shared
machine; the wall time per row (PostgreSQL's own work included, inflated by the load) for reference.
Prints figures only.

    .venv/bin/python benchmarks/audit_writer.py [--rows 1000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson  # noqa: E402
import psycopg2.extensions  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from benchmarks.support import embedded_postgis  # noqa: E402
from geo_grid import clock, db  # noqa: E402
from geo_grid.models import AuditEntry  # noqa: E402
from geo_grid.repository import audit as audit_repo  # noqa: E402


def _rows(n: int) -> list[dict[str, Any]]:
    """Rows as the audit queue holds them (api/audit_rule._entry of a token's GET /lookup)."""
    return [
        {
            "at": clock.now(),
            "actor": "hotline",
            "actor_token_id": None,
            "actor_user_id": None,
            "action": "read_personal",
            "subject": f"/lookup?lon=113.69{i % 100:02d}&lat=34.7601",
            "detail": {"method": "GET", "path": "/lookup", "query": f"lon=113.69{i % 100:02d}&lat=34.7601"},
        }
        for i in range(n)
    ]


def _orm(session: Session, rows: list[dict[str, Any]]) -> None:
    defaults = {"grid_code": None, "subject": None, "detail": {}}
    session.execute(insert(AuditEntry), [{**defaults, **r} for r in rows])


def _core(session: Session, rows: list[dict[str, Any]]) -> None:
    defaults = {"grid_code": None, "subject": None, "detail": {}}
    session.execute(insert(AuditEntry.__table__), [{**defaults, **r} for r in rows])


# COPY's text format: a backslash, tab, newline or carriage return inside a value is written escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_SQL = (
    "COPY audit_log (at, actor, actor_token_id, actor_user_id, action, subject, grid_code, detail) FROM STDIN"
)


def _copy_field(value: str | int | None) -> str:
    return "\\N" if value is None else str(value).translate(_COPY_ESCAPES)


def _copy(session: Session, rows: list[dict[str, Any]]) -> None:
    """One COPY (text format) of rows with their time; the ones without through `add_many`."""
    timed = [r for r in rows if r.get("at") is not None]
    untimed = [r for r in rows if r.get("at") is None]
    if untimed:
        audit_repo.add_many(session, untimed)
    if not timed:
        return
    lines = []
    for r in timed:
        detail = orjson.dumps(r.get("detail") or {}, option=orjson.OPT_NON_STR_KEYS).decode()
        fields = (
            r["at"].isoformat(),
            r["actor"],
            r.get("actor_token_id"),
            r.get("actor_user_id"),
            r["action"],
            r.get("subject"),
            r.get("grid_code"),
            detail,
        )
        lines.append("\t".join(map(_copy_field, fields)))
    buffer = io.StringIO("\n".join(lines) + "\n")
    dbapi = cast(psycopg2.extensions.connection, session.connection().connection.dbapi_connection)
    with dbapi.cursor() as cursor:  # the session's connection: in its transaction
        cursor.copy_expert(_COPY_SQL, buffer)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1000, help="rows per batch (one flush)")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    writers: dict[str, Callable[[Session, list[dict[str, Any]]], None]] = {
        "ORM insert (before)": _orm,
        "Core insert executemany": _core,
        "COPY (text format)": _copy,
        "INSERT from JSON": audit_repo.add_many_json,
    }
    with embedded_postgis() as url:
        engine = db.make_engine(url, pool_size=1)
        factory = db.make_session_factory(engine)
        cpu: dict[str, list[float]] = {name: [] for name in writers}
        wall: dict[str, list[float]] = {name: [] for name in writers}
        for rnd in range(args.rounds + 2):
            for name, write in writers.items():  # interleaved, so that load changes touch all alike
                rows = _rows(args.rows)
                t, w = time.process_time(), time.perf_counter()
                with db.transaction(factory) as session:
                    write(session, rows)
                if rnd >= 2:  # two warm-up rounds
                    cpu[name].append((time.process_time() - t) / args.rows * 1e6)
                    wall[name].append((time.perf_counter() - w) / args.rows * 1e6)
        base = statistics.median(cpu["ORM insert (before)"])
        print(f"{args.rows} rows per batch, {args.rounds} batches each; CPU µs per row (this process)")
        for name, us in cpu.items():
            med = statistics.median(us)
            print(
                f"  {name:24s} median {med:6.2f}  min {min(us):6.2f}  ({med / base:.2f}× the ORM insert)"
                f"   wall median {statistics.median(wall[name]):6.2f} µs/row"
            )
        engine.dispose()


if __name__ == "__main__":
    main()
