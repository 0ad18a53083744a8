"""Generations end to end: diff, activation (one transaction: retire, reassign with report events),
history and past-moment answers, and an activation while threads hammer the in-memory lookup."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import shapely
from shapely.geometry import mapping
from sqlalchemy import create_engine, text

from geo_grid import clock
from geo_grid.api.runtime import runtime_of
from geo_grid.services import lookup as lookup_service
from tests.support.api import bearer, create_tokens
from tests.support.boundary_support import (
    PARENT,
    A,
    B,
    horizontal_line,
    metric_area,
    open_draft,
    read,
    shared_edge_box,
)
from tests.support.boundary_support import write_headers as wh

C, D, E = "410105012002001001", "410105012001002001", "410105012001002002"


@pytest.fixture
def env(db_url: str, make_client: Any) -> Iterator[tuple[Any, dict[str, str], str]]:
    tokens = create_tokens(db_url)
    with make_client(db_url) as client:
        yield client, tokens, db_url


def _sql(url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(url)
    with engine.begin() as conn:
        result = conn.execute(text(sql), params)
        rows = list(result) if result.returns_rows else []
    engine.dispose()
    return rows


def _grow_a_into_b(client: Any, token: str, gen: int) -> Any:
    """Move A's boundary into B; returns the area that changes hands."""
    ga, ta = read(client, gen, A, token)
    gb, _ = read(client, gen, B, token)
    piece = shared_edge_box(ga, gb).intersection(gb)
    r = client.post(
        f"/generations/{gen}/grids/{A}/move-boundary",
        json={"geometry": mapping(shapely.union_all([ga, piece]))},
        headers=wh(token, ta),
    )
    assert r.status_code == 200, r.text
    return piece


def _add_things_at(url: str, lon: float, lat: float) -> None:
    point = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
    for ext, status in (("T-OPEN", "dispatched"), ("T-CLOSED", "closed")):
        _sql(
            url,
            f"""INSERT INTO reports (external_id, category, description, channel, status, geom, micro_code,
                                         tertiary_code, community_code)
                      VALUES (:ext, 'parking', '测试', 'grid_app', :status, {point}, :b, :p, '410105012001')""",
            ext=ext,
            status=status,
            lon=lon,
            lat=lat,
            b=B,
            p=PARENT,
        )
    _sql(
        url,
        f"INSERT INTO addresses (address_id, address, geom, micro_code) VALUES ('T-ADDR', '测试地址', {point}, :b)",
        lon=lon,
        lat=lat,
        b=B,
    )
    _sql(
        url,
        f"INSERT INTO facilities (facility_id, kind, name, geom, micro_code) VALUES ('T-FAC', 'charging', '测试桩', "
        f"{point}, :b)",
        lon=lon,
        lat=lat,
        b=B,
    )


def test_diff_lists_added_retired_reshaped_and_what_would_move(env) -> None:
    client, tokens, url = env
    planner = tokens["planner"]
    gen = open_draft(client, planner)
    piece = _grow_a_into_b(client, planner, gen)
    p = piece.representative_point()
    _add_things_at(url, p.x, p.y)
    gc, tc = read(client, gen, C, tokens["planner"])
    new_code = client.post(
        f"/generations/{gen}/grids/{C}/split", json={"line": horizontal_line(gc)}, headers=wh(planner, tc)
    ).json()["grids"][1]["code"]
    _, td = read(client, gen, D, tokens["planner"])
    _, te = read(client, gen, E, tokens["planner"])
    assert (
        client.post(
            f"/generations/{gen}/merge", json={"codes": [D, E]}, headers=wh(planner, f"{td},{te}")
        ).status_code
        == 200
    )
    diff = client.get(f"/generations/1/diff/{gen}", headers=bearer(planner)).json()
    assert [g["code"] for g in diff["added"]] == [new_code]
    assert [g["code"] for g in diff["retired"]] == [E]
    reshaped = {g["code"]: g for g in diff["reshaped"]}
    assert set(reshaped) == {A, B, C, D}
    assert reshaped[A]["area_change_m2"] == pytest.approx(metric_area(piece), abs=0.2)
    assert reshaped[B]["area_change_m2"] == pytest.approx(-metric_area(piece), abs=0.2)
    assert reshaped[D]["area_change_m2"] > 0 and reshaped[C]["area_change_m2"] < 0
    moves = diff["moves"]
    open_moves = [m for m in moves["reports"] if m["ref"] == "T-OPEN"]
    assert open_moves == [{"id": open_moves[0]["id"], "ref": "T-OPEN", "from_code": B, "to_code": A}]
    assert not [m for m in moves["reports"] if m["ref"] == "T-CLOSED"]  # closed reports do not move
    assert {"from_code": B, "to_code": A}.items() <= next(
        m for m in moves["addresses"] if m["id"] == "T-ADDR"
    ).items()
    assert any(m["ref"] == "测试桩" and m["to_code"] == A for m in moves["facilities"])


def test_activation_reassigns_open_work_and_keeps_history(env) -> None:
    client, tokens, url = env
    planner = tokens["planner"]
    before = clock.now()
    gen = open_draft(client, planner)
    piece = _grow_a_into_b(client, planner, gen)
    p = piece.representative_point()
    _add_things_at(url, p.x, p.y)
    assert client.get("/lookup", params={"lon": p.x, "lat": p.y}).json()["micro"]["code"] == B
    time.sleep(0.01)
    r = client.post(f"/generations/{gen}/activate", headers=bearer(planner))
    assert r.status_code == 200, r.text
    assert r.json()["moved"]["reports"] >= 1 and r.json()["previous"] == 1
    # The live lookup was swapped; the past is still answerable.
    assert client.get("/lookup", params={"lon": p.x, "lat": p.y}).json()["micro"]["code"] == A
    past = client.get("/lookup", params={"lon": p.x, "lat": p.y, "at": before.isoformat()}).json()
    assert past["micro"]["code"] == B and past["generation"] == 1
    assert (
        client.get("/lookup", params={"lon": p.x, "lat": p.y, "generation": 1}).json()["micro"]["code"] == B
    )
    # Open report moved with an event; the closed one kept the grid that handled it.
    rows = {
        r.external_id: r.micro_code
        for r in _sql(url, "SELECT external_id, micro_code FROM reports WHERE external_id LIKE 'T-%'")
    }
    assert rows == {"T-OPEN": A, "T-CLOSED": B}
    events = _sql(
        url,
        """SELECT e.kind, e.actor, e.data FROM report_events e JOIN reports r ON r.id = e.report_id
                          WHERE r.external_id = 'T-OPEN'""",
    )
    assert [(e.kind, e.actor) for e in events] == [("reassign", "test-planner")]
    assert (
        events[0].data["from_micro"] == B
        and events[0].data["to_micro"] == A
        and events[0].data["generation"] == gen
    )
    assert _sql(url, "SELECT micro_code FROM addresses WHERE address_id = 'T-ADDR'")[0].micro_code == A
    assert _sql(url, "SELECT micro_code FROM facilities WHERE facility_id = 'T-FAC'")[0].micro_code == A
    # Generations list who and when; the old one is retired exactly when the new one became active.
    gens = {g["id"]: g for g in client.get("/generations").json()}
    assert gens[1]["status"] == "retired" and gens[gen]["status"] == "active"
    assert gens[gen]["activated_by"] == "test-planner" and gens[1]["retired_at"] == gens[gen]["activated_at"]
    # History of A: two versions, the second reshaped; GET /grids?at= gives the old shape.
    history = client.get(f"/grids/{A}/history").json()
    assert [v["generation"] for v in history["versions"]] == [1, gen]
    assert (
        history["versions"][1]["shape_changed"]
        and history["versions"][1]["area_m2"] > history["versions"][0]["area_m2"]
    )
    assert {"move_boundary", "activate"} & {a["action"] for a in history["audit"]} == {"move_boundary"}
    old = client.get(f"/grids/{A}", params={"at": before.isoformat()}).json()
    assert old["properties"]["version"] == 1
    # An activated generation cannot be activated or edited again.
    assert client.post(f"/generations/{gen}/activate", headers=bearer(planner)).status_code == 409
    _, tag = read(client, gen, A, tokens["planner"])
    r = client.put(
        f"/generations/{gen}/grids/{A}",
        json={"geometry": mapping(read(client, gen, A, tokens["planner"])[0])},
        headers=wh(planner, tag),
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"


def test_activation_under_concurrent_lookups_no_error_no_wrong_answer(env) -> None:
    client, tokens, _ = env
    planner = tokens["planner"]
    gen = open_draft(client, planner)
    piece = _grow_a_into_b(client, planner, gen)
    ga, _ = read(client, 1, A, tokens["planner"])
    gc, _ = read(client, 1, C, tokens["planner"])
    moving = piece.representative_point()
    # point → the answers allowed: old generation's, new generation's.
    points = {
        (moving.x, moving.y): (B, A),
        (ga.representative_point().x, ga.representative_point().y): (A, A),
        (gc.representative_point().x, gc.representative_point().y): (C, C),
    }
    holder = runtime_of(client.app).directory
    stop = threading.Event()
    wrong: list[Any] = []
    errors: list[BaseException] = []
    seen: dict[str, set[int]] = {"direct": set(), "http": set()}

    def hammer_direct() -> None:
        try:
            while not stop.is_set():
                directory = holder.current
                for (x, y), (old, new) in points.items():
                    placed = lookup_service.place(directory, x, y)
                    expected = old if directory.generation_id == 1 else new
                    if placed.micro is None or placed.micro.code != expected:
                        wrong.append((directory.generation_id, x, y, placed.micro))
                seen["direct"].add(directory.generation_id)
        except BaseException as exc:  # noqa: BLE001 - any failure is the finding
            errors.append(exc)

    def hammer_http() -> None:
        try:
            while not stop.is_set():
                for (x, y), (old, new) in points.items():
                    r = client.get("/lookup", params={"lon": x, "lat": y})
                    body = r.json()
                    if r.status_code != 200 or body["micro"]["code"] != (
                        old if body["generation"] == 1 else new
                    ):
                        wrong.append(("http", r.status_code, body))
                    seen["http"].add(body.get("generation"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=hammer_direct) for _ in range(2)] + [
        threading.Thread(target=hammer_http)
    ]
    for t in threads:
        t.start()
    while not (seen["direct"] and seen["http"]):
        time.sleep(0.01)
    r = client.post(f"/generations/{gen}/activate", headers=bearer(planner))
    deadline = time.monotonic() + 30
    while not ({gen} <= seen["direct"] and {gen} <= seen["http"]) and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    for t in threads:
        t.join()
    assert r.status_code == 200, r.text
    assert errors == [] and wrong == []
    assert seen["direct"] == {1, gen} and seen["http"] == {1, gen}


def test_cli_generations_open_validate_activate(db_url, monkeypatch, tmp_path) -> None:
    from typer.testing import CliRunner

    from geo_grid.cli import app as cli_app

    runner = CliRunner()
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", db_url)
    assert (
        runner.invoke(cli_app, ["generations", "open", "--actor", "cli-test"]).output.strip()
        == "opened draft 2"
    )
    out = tmp_path / "problems.geojson"
    result = runner.invoke(cli_app, ["generations", "validate", "2", "-o", str(out)])
    assert result.exit_code == 0 and '"error": 0' in result.output and out.exists()
    dry = runner.invoke(cli_app, ["generations", "activate", "2"])
    assert dry.exit_code == 0 and '"would_activate": 2' in dry.output
    assert "draft" in runner.invoke(cli_app, ["generations", "list"]).output
    done = runner.invoke(cli_app, ["generations", "activate", "2", "--commit", "--actor", "cli-test"])
    assert done.exit_code == 0, done.output
    listing = runner.invoke(cli_app, ["generations", "list"]).output.splitlines()
    assert "retired" in listing[0] and "active" in listing[1]
