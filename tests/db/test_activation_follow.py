"""A running API follows an activation made by another process (the CLI) without a restart."""

from __future__ import annotations

import time

from geo_grid import db
from geo_grid.services import generations as generation_service
from geo_grid.settings import Settings


def test_running_service_swaps_to_a_generation_activated_elsewhere(make_client, db_url) -> None:
    with make_client(db_url, generation_poll_s=0.2) as client:
        assert client.get("/health").json()["active_generation"] == 1
        engine = db.make_engine(db_url, pool_size=1)
        factory = db.make_session_factory(engine)
        with db.transaction(factory) as session:  # what `geo-grid generations open` does
            draft = generation_service.open_draft(session, "cli-test").id
        with db.transaction(factory) as session:  # what `geo-grid generations activate N --commit` does
            generation_service.activate(session, draft, "cli-test", Settings().near_boundary_m)
        engine.dispose()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and client.get("/health").json()["active_generation"] != draft:
            time.sleep(0.2)
        assert client.get("/health").json()["active_generation"] == draft
        assert client.get("/lookup", params={"lon": 113.70, "lat": 34.76}).json()["generation"] == draft
