"""Batch workers (api/batch_pool.py) load the lookup index the server published instead of building
their own (issue 15: at city scale a rebuild costs tens of seconds and a second copy of the index), and
answer exactly as the API process does."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson

from geo_grid import geometry as geo
from geo_grid.api import batch_pool
from geo_grid.api.routers import addresses as address_router
from geo_grid.api.routers import lookup as lookup_router
from geo_grid.api.runtime import runtime_of
from geo_grid.lookup_district import DistrictIndex
from geo_grid.services import lookup as lookup_service
from geo_grid.services.auth import PUBLIC
from tests.support import district
from tests.support.api import create_tokens


def _held(client: Any) -> set[tuple[str, str | None]]:
    """What the app's batch workers hold: (how their directory got its index, its name in the store)."""
    pool = runtime_of(client.app).batches.pool()
    answers = [pool.submit(batch_pool.held_index).result(timeout=60) for _ in range(8)]
    return {a for a in answers if a is not None}


def test_a_batch_worker_loads_the_published_index_and_answers_as_the_server(
    db_url: str, make_client: Any, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    tokens = create_tokens(db_url)
    with make_client(db_url, lookup_store_dir=store, batch_concurrency=1) as client:
        built = district.add_second_subdistrict(client, tokens["admin"], db_url, tmp_path)
        runtime = runtime_of(client.app)
        live = lookup_service.require(runtime.directory.current)
        assert isinstance(live.index, DistrictIndex) and live.index_name is not None
        assert (store / live.index_name).is_dir()  # published by the server

        # Points across both subdistricts and their shared border (vertices of the sample's outline).
        x0, y0, x1, y1 = built.sample_outline.bounds
        rng = random.Random(15)
        points = [
            [rng.uniform(x0 - 0.012, x1 + 0.012), rng.uniform(y0 - 0.012, y1 + 0.012)] for _ in range(3000)
        ]
        outline = max(geo.parts(built.sample_outline), key=lambda p: p.area)
        points += [[float(x), float(y)] for x, y in list(outline.exterior.coords)[::7]]
        raw = orjson.dumps({"points": points})
        r = client.post("/lookup/batch", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        here = lookup_router.compute_batch(raw, live, runtime.settings.max_batch_points)
        assert orjson.loads(r.content) == orjson.loads(here)
        assert {res["outside"] for res in orjson.loads(r.content)["results"]} == {True, False}

        # The worker did not build: it loaded the server's snapshot, by the same name.
        assert _held(client) == {("loaded", live.index_name)}

        # Address batches too (the worker's book, placed on the worker's directory), anonymous.
        queries = ["经三路158号院1号楼1单元", "民航路", "1号楼", "火星路99号", "经三路和纬五路交叉口"]
        body = orjson.dumps({"queries": queries})
        r = client.post(
            "/lookup/address/batch",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 200, r.text
        book = runtime.address_book.current
        assert book is not None
        mine = address_router.compute_batch(body, book, live, PUBLIC, runtime.settings.max_query_chars)
        assert orjson.loads(r.content) == orjson.loads(mine)
        assert _held(client) == {("loaded", live.index_name)}
