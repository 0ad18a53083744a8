"""The 12345 exchange's outbox: what the trigger costs a status change, and how fast one delivery pass
posts messages to a local webhook (one transaction and one signed POST per message). Prints figures.

    .venv/bin/python benchmarks/outbox_delivery.py [--reports 500] [--steps 4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from benchmarks.support import embedded_postgis  # noqa: E402
from geo_grid import db  # noqa: E402
from geo_grid.embedded import free_port  # noqa: E402
from geo_grid.services import exchange  # noqa: E402
from geo_grid.settings import Settings  # noqa: E402
from tests.support.webhook import Receiver  # noqa: E402


def _events(url: str, ids: list[int], steps: int) -> float:
    """Seconds to write `steps` status events for each report (one transaction per event, as the API)."""
    engine = db.make_engine(url, pool_size=1)
    sql = text("INSERT INTO report_events (report_id, kind, from_status, to_status, actor) "
               "VALUES (:r, 'transition', :a, :b, 'bench')")  # fmt: skip
    began = time.perf_counter()
    for step in range(steps):
        for rid in ids:
            with engine.begin() as conn:
                conn.execute(sql, {"r": rid, "a": f"s{step}", "b": f"s{step + 1}"})
    engine.dispose()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=500)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    receiver = Receiver(free_port())
    receiver.start()
    with embedded_postgis() as url:
        engine = db.make_engine(url, pool_size=2)
        factory = db.make_session_factory(engine)
        with db.transaction(factory) as session:
            exchange.add_source(session, "bench", receiver.url, "bench")
            ids = [int(i) for i in session.execute(text("SELECT id FROM reports ORDER BY id LIMIT :n"),
                                                   {"n": 2 * args.reports}).scalars()]  # fmt: skip
        plain, sourced = ids[: args.reports], ids[args.reports :]
        with engine.begin() as conn:
            conn.execute(text("UPDATE reports SET source = 'bench', external_id = 'B' || id WHERE id = ANY(:ids)"),
                         {"ids": sourced})  # fmt: skip
        n = args.reports * args.steps
        t_plain = _events(url, plain, args.steps)
        t_sourced = _events(url, sourced, args.steps)
        print(f"status events, one transaction each: {n} without a source {1000 * t_plain / n:.2f} ms/event, "
              f"{n} with a source (trigger enqueues) {1000 * t_sourced / n:.2f} ms/event")  # fmt: skip
        began = time.perf_counter()
        result = exchange.deliver_once(factory, Settings(database_url=url))
        took = time.perf_counter() - began
        print(f"one delivery pass: {result.delivered} messages in {took:.2f} s = {result.delivered / took:.0f} msg/s "
              f"(received {len(receiver.snapshot())})")  # fmt: skip
        engine.dispose()
    receiver.stop()


if __name__ == "__main__":
    main()
