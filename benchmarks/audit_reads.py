"""What auditing reads costs: GET /lookup (answered from memory) and GET /reports/{id} timed in-process,
public (not audited) vs a dispatcher token (each read queued for the audit log). Prints figures only.

    .venv/bin/python benchmarks/audit_reads.py [--n 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402

from benchmarks.support import embedded_postgis  # noqa: E402
from geo_grid import db  # noqa: E402
from geo_grid.api.app import create_app  # noqa: E402
from geo_grid.api.runtime import runtime_of  # noqa: E402
from geo_grid.services.auth import create_token  # noqa: E402
from geo_grid.settings import Settings  # noqa: E402


def _time(client: TestClient, path: str, n: int, headers: dict[str, str]) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(path, headers=headers)
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.text
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    with embedded_postgis() as url:
        engine = db.make_engine(url, pool_size=1)
        with db.transaction(db.make_session_factory(engine)) as session:
            token = create_token(session, "dispatcher", "bench")
        engine.dispose()
        with TestClient(create_app(Settings(database_url=url))) as client:
            for path in ("/lookup?lon=113.6925&lat=34.7601", "/reports/1"):
                for who, headers in (("public", {}), ("dispatcher", {"Authorization": f"Bearer {token}"})):
                    _time(client, path, 50, headers)  # warm up
                    ms = _time(client, path, args.n, headers)
                    p95 = statistics.quantiles(ms, n=100)[94]
                    print(
                        f"{path:34s} {who:10s} n={args.n}  median {statistics.median(ms):.2f} ms  p95 {p95:.2f} ms"
                    )
            queue = runtime_of(client.app).audit_queue
            t = time.perf_counter()
            queue.flush()
            print(
                f"audit queue after the runs: {len(queue)} rows left, final flush {(time.perf_counter() - t) * 1000:.1f} ms"
            )


if __name__ == "__main__":
    main()
