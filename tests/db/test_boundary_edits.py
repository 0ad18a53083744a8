"""Edits on a draft over the API: each edit kind, ETags (428/412, a real concurrent conflict), validation
before storing (422 with reason and location), permissions and the audit log."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import shapely
from shapely.geometry import mapping, shape

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


def _read(client: Any, tokens: dict[str, str], path: str, **kw: Any) -> Any:
    """A read of a draft (or of the listing with drafts): a planner's (anyone else: 404, omitted)."""
    return client.get(path, headers=bearer(tokens["planner"]), **kw)


@pytest.fixture(scope="module")
def app_env(db_factory: Any, make_client: Any) -> Iterator[tuple[Any, dict[str, str]]]:
    """One database and app for the module: each test edits its own draft, discarded afterwards."""
    url = db_factory()
    tokens = create_tokens(url)
    with make_client(url) as client:
        yield client, tokens


@pytest.fixture
def env(app_env: tuple[Any, dict[str, str]]) -> Iterator[tuple[Any, dict[str, str], int]]:
    client, tokens = app_env
    drafts = [g["id"] for g in _read(client, tokens, "/generations").json() if g["status"] == "draft"]
    for gen in drafts:
        client.delete(f"/generations/{gen}", headers=bearer(tokens["planner"]))
    yield client, tokens, open_draft(client, tokens["planner"])


def test_only_planners_and_admins_edit(env) -> None:
    client, tokens, gen = env
    geom, tag = read(client, gen, A, tokens["planner"])
    body = {"geometry": mapping(geom)}
    r = client.put(f"/generations/{gen}/grids/{A}", json=body, headers={"If-Match": tag})
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
    r = client.put(f"/generations/{gen}/grids/{A}", json=body, headers=wh(tokens["dispatcher"], tag))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert client.post("/generations", headers=bearer(tokens["dispatcher"])).status_code == 403
    r = client.put(f"/generations/{gen}/grids/{A}", json=body, headers=wh(tokens["admin"], tag))
    assert r.status_code == 200, r.text
    # Reads of a draft are the planners' (anyone else: 404, as if it did not exist).
    assert _read(client, tokens, f"/generations/{gen}/validation").status_code == 200
    assert client.get(f"/generations/{gen}/validation").status_code == 404
    assert _read(client, tokens, f"/grids/{A}/history").status_code == 200


def test_one_draft_at_a_time(env) -> None:
    client, tokens, gen = env
    r = client.post("/generations", headers=bearer(tokens["planner"]))
    assert r.status_code == 409 and r.json()["detail"]["draft"] == gen
    assert client.delete(f"/generations/{gen}", headers=bearer(tokens["planner"])).status_code == 200
    assert _read(client, tokens, f"/generations/{gen}").json()["status"] == "retired"
    assert _read(client, tokens, f"/generations/{gen}").json()["activated_at"] is None


def test_replace_geometry_needs_current_etag(env) -> None:
    client, tokens, gen = env
    geom, tag = read(client, gen, A, tokens["planner"])
    smaller = geom.buffer(-0.00005)
    url = f"/generations/{gen}/grids/{A}"
    r = client.put(url, json={"geometry": mapping(smaller)}, headers=bearer(tokens["planner"]))
    assert r.status_code == 428 and r.json()["code"] == "precondition_required"
    r = client.put(url, json={"geometry": mapping(smaller)}, headers=wh(tokens["planner"], tag))
    assert r.status_code == 200, r.text
    new_tag = r.headers["ETag"]
    assert new_tag != tag and r.json()["grids"][0]["version"] == 2
    # A second planner still holding the old ETag is refused and told the current one.
    r = client.put(url, json={"geometry": mapping(geom)}, headers=wh(tokens["admin"], tag))
    assert r.status_code == 412 and r.json()["code"] == "precondition_failed"
    assert r.json()["detail"]["etag"] == new_tag
    stored, _ = read(client, gen, A, tokens["planner"])
    assert stored.equals(smaller)


def test_concurrent_edits_with_the_same_etag_one_wins_one_gets_412(env) -> None:
    client, tokens, gen = env
    geom, tag = read(client, gen, A, tokens["planner"])
    shapes = [geom.buffer(-0.00003), geom.buffer(-0.00006)]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def edit(g: Any, token: str) -> None:
        barrier.wait()
        r = client.put(f"/generations/{gen}/grids/{A}", json={"geometry": mapping(g)}, headers=wh(token, tag))
        statuses.append(r.status_code)

    threads = [
        threading.Thread(target=edit, args=(g, t))
        for g, t in zip(shapes, (tokens["planner"], tokens["admin"]), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 412]
    assert read(client, gen, A, tokens["planner"])[1].endswith('-v2"')


def test_invalid_geometry_is_refused_with_reason_and_location(env) -> None:
    client, tokens, gen = env
    geom, tag = read(client, gen, A, tokens["planner"])
    x0, y0, x1, y1 = geom.bounds
    bowtie = {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]]}
    r = client.put(
        f"/generations/{gen}/grids/{A}", json={"geometry": bowtie}, headers=wh(tokens["planner"], tag)
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_boundary"
    detail = r.json()["detail"]
    assert detail["reason"] == "Self-intersection"
    lon, lat = detail["location"]
    assert lon == pytest.approx((x0 + x1) / 2, abs=1e-7) and lat == pytest.approx((y0 + y1) / 2, abs=1e-7)
    assert "lon" in r.json()["message"] and "Self-intersection" in r.json()["message"]
    assert read(client, gen, A, tokens["planner"])[1] == tag  # nothing stored
    r = client.put(
        f"/generations/{gen}/grids/{A}",
        json={"geometry": {"type": "Point", "coordinates": [1, 2]}},
        headers=wh(tokens["planner"], tag),
    )
    assert r.status_code == 422


def test_create_and_retire(env) -> None:
    client, tokens, gen = env
    geom, _ = read(client, gen, A, tokens["planner"])
    body = {
        "level": "micro",
        "parent_code": PARENT,
        "name": "新微网格",
        "geometry": mapping(geom.buffer(-0.0001)),
    }
    r = client.post(f"/generations/{gen}/grids", json=body, headers=bearer(tokens["planner"]))
    assert r.status_code == 201, r.text
    code = r.json()["grids"][0]["code"]
    assert code.startswith(PARENT) and len(code) == 18 and code > A
    _, tag = read(client, gen, code, tokens["planner"])
    r = client.delete(f"/generations/{gen}/grids/{code}", headers=wh(tokens["planner"], tag))
    assert r.status_code == 200 and r.json()["retired"] == [code]
    assert _read(client, tokens, f"/generations/{gen}/grids/{code}").status_code == 404
    # A tertiary grid with micro-grids cannot be retired.
    _, ptag = read(client, gen, PARENT, tokens["planner"])
    r = client.delete(f"/generations/{gen}/grids/{PARENT}", headers=wh(tokens["planner"], ptag))
    assert r.status_code == 409
    # The next new code is never the retired one again.
    r = client.post(f"/generations/{gen}/grids", json=body, headers=bearer(tokens["planner"]))
    assert r.json()["grids"][0]["code"] > code


def test_reparent_keeps_the_code(env) -> None:
    client, tokens, gen = env
    _, tag = read(client, gen, A, tokens["planner"])
    other = "410105012001002"
    r = client.post(
        f"/generations/{gen}/grids/{A}/reparent",
        json={"parent_code": other},
        headers=wh(tokens["planner"], tag),
    )
    assert r.status_code == 200, r.text
    props = _read(client, tokens, f"/generations/{gen}/grids/{A}").json()["properties"]
    assert props["parent_code"] == other and props["version"] == 2


def test_split_by_a_line(env) -> None:
    client, tokens, gen = env
    geom, tag = read(client, gen, A, tokens["planner"])
    r = client.post(
        f"/generations/{gen}/grids/{A}/split",
        json={"line": horizontal_line(geom)},
        headers=wh(tokens["planner"], tag),
    )
    assert r.status_code == 200, r.text
    kept, new = r.json()["grids"]
    assert kept["code"] == A and new["code"].startswith(PARENT) and new["code"] not in (A, B)
    g1, _ = read(client, gen, A, tokens["planner"])
    g2, _ = read(client, gen, new["code"], tokens["planner"])
    assert metric_area(g1) >= metric_area(g2) > 0
    assert shapely.union_all([g1, g2]).symmetric_difference(geom).area < 1e-14
    assert g1.intersection(g2).area < 1e-14
    # A line that misses the grid is refused.
    far = {"type": "LineString", "coordinates": [[100, 10], [100.1, 10]]}
    r = client.post(
        f"/generations/{gen}/grids/{A}/split", json={"line": far}, headers=wh(tokens["planner"], kept["etag"])
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_boundary"


def test_merge_adjacent_micro_grids(env) -> None:
    client, tokens, gen = env
    ga, ta = read(client, gen, A, tokens["planner"])
    gb, tb = read(client, gen, B, tokens["planner"])
    url = f"/generations/{gen}/merge"
    r = client.post(url, json={"codes": [A, B]}, headers=wh(tokens["planner"], ta))
    assert r.status_code == 412  # both ETags are needed
    r = client.post(
        url, json={"codes": [A, B], "name": "合并微网格"}, headers=wh(tokens["planner"], f"{ta}, {tb}")
    )
    assert r.status_code == 200, r.text
    assert r.json()["retired"] == [B]
    merged, _ = read(client, gen, A, tokens["planner"])
    assert merged.symmetric_difference(shapely.union_all([ga, gb])).area < 1e-14
    assert _read(client, tokens, f"/generations/{gen}/grids/{B}").status_code == 404
    # Not adjacent → refused.
    far = "410105012001002001"
    _, t1 = read(client, gen, A, tokens["planner"])
    _, t2 = read(client, gen, far, tokens["planner"])
    r = client.post(url, json={"codes": [A, far]}, headers=wh(tokens["planner"], f"{t1},{t2}"))
    assert r.status_code == 422


def test_move_shared_boundary_neighbour_gives_up_exactly_the_gain(env) -> None:
    client, tokens, gen = env
    ga, ta = read(client, gen, A, tokens["planner"])
    gb, _ = read(client, gen, B, tokens["planner"])
    piece = shared_edge_box(ga, gb).intersection(gb)
    new = shapely.union_all([ga, piece])
    r = client.post(
        f"/generations/{gen}/grids/{A}/move-boundary",
        json={"geometry": mapping(new)},
        headers=wh(tokens["planner"], ta),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert {g["code"] for g in body["grids"]} == {A, B} and body["gap"] is None
    na, _ = read(client, gen, A, tokens["planner"])
    nb, _ = read(client, gen, B, tokens["planner"])
    assert metric_area(gb) - metric_area(nb) == pytest.approx(metric_area(piece), abs=0.01)
    assert body["gained_m2"] == pytest.approx(metric_area(piece), abs=0.1)
    assert na.intersection(nb).area < 1e-14  # still no overlap
    assert shapely.union_all([na, nb]).symmetric_difference(shapely.union_all([ga, gb])).area < 1e-14
    v = _read(client, tokens, f"/generations/{gen}/validation").json()
    assert v["counts"]["error"] == 0, v["problems"][:3]


def test_move_shared_boundary_released_area_is_a_gap_or_goes_to_a_named_neighbour(env) -> None:
    client, tokens, gen = env
    ga, ta = read(client, gen, A, tokens["planner"])
    gb, _ = read(client, gen, B, tokens["planner"])
    cut = shared_edge_box(ga, gb).intersection(ga)
    smaller = ga.difference(cut)
    r = client.post(
        f"/generations/{gen}/grids/{A}/move-boundary",
        json={"geometry": mapping(smaller)},
        headers=wh(tokens["planner"], ta),
    )
    assert r.status_code == 200
    gap = r.json()["gap"]
    assert gap["area_m2"] == pytest.approx(metric_area(cut), abs=0.1)
    kinds = {p["kind"] for p in _read(client, tokens, f"/generations/{gen}/validation").json()["problems"]}
    assert "gap" in kinds
    # Give it back, then release the same area to B by name: the tiling is exact again.
    _, ta = read(client, gen, A, tokens["planner"])
    client.post(
        f"/generations/{gen}/grids/{A}/move-boundary",
        json={"geometry": mapping(ga)},
        headers=wh(tokens["planner"], ta),
    )
    _, ta = read(client, gen, A, tokens["planner"])
    r = client.post(
        f"/generations/{gen}/grids/{A}/move-boundary",
        json={"geometry": mapping(smaller), "release_to": B},
        headers=wh(tokens["planner"], ta),
    )
    assert r.status_code == 200, r.text
    assert r.json()["gap"] is None and r.json()["released_to"] == B
    nb, _ = read(client, gen, B, tokens["planner"])
    assert metric_area(nb) - metric_area(gb) == pytest.approx(metric_area(cut), abs=0.01)
    assert _read(client, tokens, f"/generations/{gen}/validation").json()["counts"]["error"] == 0


def test_every_change_is_in_the_audit_log_with_the_token_name(env) -> None:
    client, tokens, gen = env
    geom, tag = read(client, gen, A, tokens["planner"])
    client.put(
        f"/generations/{gen}/grids/{A}", json={"geometry": mapping(geom)}, headers=wh(tokens["planner"], tag)
    )
    log = _read(client, tokens, f"/generations/{gen}/audit").json()
    assert [e["action"] for e in log] == ["open_draft", "replace_geometry"]  # this draft's own log
    assert log[1]["actor"] == "test-planner" and log[1]["grid_code"] == A and log[1]["at"]
    assert shape(_read(client, tokens, f"/generations/{gen}/grids/{A}").json()["geometry"]).equals(geom)
