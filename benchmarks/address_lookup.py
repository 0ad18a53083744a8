"""Benchmark the full address lookup in process: match + grid (lookup rule) + people, as the API answers.

    .venv/bin/python benchmarks/address_lookup.py [--database-url URL] [--seed 1] [--limit 0]

Without --database-url a throw-away PostgreSQL + PostGIS cluster is started in a temp dir, migrated and
loaded with the sample (as the tests do), and stopped at the end. The queries are the deterministic noisy
set of benchmarks/geocoding.py (one noise kind per standard address). Printed, per query set:

- AddressBook build (start-up / after an import: SQL for rows, courtyards, road segments, people + matcher);
- match only (AddressMatcher.match);
- full resolve (services.addresses.resolve: match → point → GridIndex placement → 微网格长/网格长/楼院长/路段长);
- full resolve + the API body (what GET /lookup/address serialises, public masking);
- POST /lookup/address/batch with 10,000 queries through the ASGI app (TestClient, JSON both ways).

Figures only; timing is never asserted.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: make geo_grid and the noisy query set importable
sys.path.insert(0, str(ROOT / "benchmarks"))

import geocoding as noisy  # noqa: E402  (benchmarks/geocoding.py: the noisy query generator)
from fastapi.testclient import TestClient  # noqa: E402

from benchmarks.support import embedded_postgis  # noqa: E402
from geo_grid import db  # noqa: E402
from geo_grid.api.app import create_app  # noqa: E402
from geo_grid.api.routers.addresses import resolution_body  # noqa: E402
from geo_grid.repository import addresses as address_repo  # noqa: E402
from geo_grid.services import addresses as address_service  # noqa: E402
from geo_grid.services.auth import PUBLIC  # noqa: E402
from geo_grid.services.directory import load_active  # noqa: E402
from geo_grid.settings import Settings  # noqa: E402


def queries(url: str, seed: int, limit: int) -> list[str]:
    engine = db.make_engine(url, pool_size=1)
    with db.make_session_factory(engine)() as session:
        rows = [
            {k: ("" if v is None else str(v)) for k, v in r.as_row().items()}
            for r in address_repo.all_rows(session)
        ]
    engine.dispose()
    rng = random.Random(seed)
    kinds = list(noisy.NOISES)
    sample = rows[:limit] if limit else rows
    return [
        noisy.NOISES[kinds[(i + rng.randrange(len(kinds))) % len(kinds)]](r, rng)[0]
        for i, r in enumerate(sample)
    ]


def rate(label: str, n: int, seconds: float) -> None:
    print(
        f"{label:<44}{n / seconds:>10,.0f} /s   {seconds * 1e6 / n:>7.0f} µs each   ({n} in {seconds:.2f} s)"
    )


def run(url: str, seed: int, limit: int) -> None:
    texts = queries(url, seed, limit)
    engine = db.make_engine(url, pool_size=2)
    factory = db.make_session_factory(engine)
    t0 = time.perf_counter()
    book = address_service.load(factory)
    build_s = time.perf_counter() - t0
    directory = load_active(factory)
    engine.dispose()
    assert directory is not None, "no active generation in this database"
    print(f"addresses: {len(book.points)}   queries: {len(texts)}   seed: {seed}")
    print(f"AddressBook build (start-up, after import): {build_s:.2f} s")

    t0 = time.perf_counter()
    for q in texts:
        book.matcher.match(q)
    rate("match only", len(texts), time.perf_counter() - t0)

    t0 = time.perf_counter()
    statuses: Counter[str] = Counter()
    with_people = 0
    for q in texts:
        res = address_service.resolve(book, directory, q)
        statuses[res.result.status] += 1
        with_people += bool(res.people.get("micro_grid_leader"))
    rate("full resolve (match + grid + people)", len(texts), time.perf_counter() - t0)

    t0 = time.perf_counter()
    for q in texts:
        resolution_body(address_service.resolve(book, directory, q), PUBLIC)
    rate("full resolve + API body (masked)", len(texts), time.perf_counter() - t0)
    n = len(texts)
    print(
        "statuses: "
        + ", ".join(f"{k} {v / n:.1%}" for k, v in sorted(statuses.items()))
        + f"   matched answers with a 微网格长: {with_people}/{statuses['matched']}"
    )

    batch = texts[: address_service.MAX_BATCH_QUERIES]
    with TestClient(create_app(Settings(database_url=url))) as client:
        t0 = time.perf_counter()
        r = client.post("/lookup/address/batch", json={"queries": batch})
        seconds = time.perf_counter() - t0
        assert r.status_code == 200, r.text
    rate(f"POST /lookup/address/batch ({len(batch)} queries, ASGI)", len(batch), seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an existing geo_grid database with the sample loaded")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N addresses (0 = all)")
    args = parser.parse_args(argv)
    if args.database_url:
        run(args.database_url, args.seed, args.limit)
        return 0
    with embedded_postgis() as url:
        run(url, args.seed, args.limit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
