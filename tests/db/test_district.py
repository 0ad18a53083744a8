"""Several subdistricts in one database (issue 15, the data side): the sample (未来路街道, 410105012) and a
neighbour around it (tests/support/district.py). Lookups and reports near and on the shared border go to
the right subdistrict; an import or an activation of one leaves the other's rows as they were; validation
reports overlaps with and gaps against the neighbour's boundaries."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely
from sqlalchemy import text as sa_text

from geo_grid import db
from geo_grid import geometry as geo
from geo_grid.api.runtime import runtime_of
from geo_grid.errors import OtherSubdistrict, SubdistrictRequired
from geo_grid.io.boundaries import ImportedLayer
from geo_grid.repository import rules
from geo_grid.services import addresses as address_service
from geo_grid.services import communities as community_service
from geo_grid.services import lookup as lookup_service
from tests.support import district
from tests.support.accounts import create_token
from tests.support.api import bearer, create_tokens
from tests.support.report_helpers import interior_point
from tests.support.sql import query, scalar

SAMPLE = "410105012"


@pytest.fixture
def env(db_url: str, make_client: Any, tmp_path: Path) -> Iterator[tuple[Any, dict[str, str], str, Any]]:
    tokens = create_tokens(db_url)
    with make_client(db_url) as client:
        # The district level's admin brings the neighbour in (a subdistrict's planner may not: below).
        built = district.add_second_subdistrict(client, tokens["admin"], db_url, tmp_path)
        yield client, tokens, db_url, built


def _truth(url: str, lon: float, lat: float) -> str | None:
    """PostGIS, the ground truth: the subdistrict of the active micro-grid covering the point (smallest
    code on a shared edge or vertex)."""
    return scalar(
        url,
        """SELECT gen.subdistrict_code FROM grids g JOIN generations gen ON gen.id = g.generation_id
           WHERE gen.status = 'active' AND g.level = 'micro'
             AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))
           ORDER BY g.code LIMIT 1""",
        x=lon,
        y=lat,
    )


def _border_vertex(built: district.District) -> tuple[float, float]:
    """A vertex of the sample's outline (shared exactly by a grid on each side)."""
    coords = list(_outline(built).exterior.coords)
    x, y = coords[len(coords) // 3]
    return float(x), float(y)


def _outline(built: district.District) -> Any:
    """The sample's outline as one polygon (its largest part)."""
    return max(geo.parts(built.sample_outline), key=lambda p: p.area)


def _near_border(url: str, built: district.District) -> dict[str, tuple[float, float]]:
    """Points ≈ 3 m from a border vertex, one on each side (which side: PostGIS says)."""
    x, y = _border_vertex(built)
    d = 3 / 100_000  # ≈ 3 m
    out: dict[str, tuple[float, float]] = {}
    for dx, dy in ((d, 0), (-d, 0), (0, d), (0, -d), (d, d), (-d, -d), (d, -d), (-d, d)):
        sub = _truth(url, x + dx, y + dy)
        if sub is not None:
            out.setdefault(sub, (x + dx, y + dy))
    assert set(out) == {SAMPLE, district.CODE}
    return out


def test_lookups_on_both_sides_of_and_on_the_border_name_the_subdistrict(env) -> None:
    client, _, url, built = env
    body = client.get("/generations").json()
    assert {g["subdistrict_code"] for g in body if g["status"] == "active"} == {SAMPLE, district.CODE}
    # Both subdistricts' active generations are live: one answer names each.
    for sub, (x, y) in _near_border(url, built).items():
        r = client.get("/lookup", params={"lon": x, "lat": y})
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["subdistrict"]["code"] == sub
        assert answer["micro"]["code"].startswith(sub)
        gen = scalar(
            url, "SELECT id FROM generations WHERE subdistrict_code = :s AND status = 'active'", s=sub
        )
        assert answer["generation"] == gen
    name = client.get(
        "/lookup",
        params={
            "lon": built.micro[district.TERTIARY + "001"].representative_point().x,
            "lat": built.micro[district.TERTIARY + "001"].representative_point().y,
        },
    )
    assert name.json()["subdistrict"] == {"code": district.CODE, "name": district.NAME}
    # On the border itself: both cover it, the tie rule gives the smallest code (the sample's).
    x, y = _border_vertex(built)
    on = client.get("/lookup", params={"lon": x, "lat": y}).json()
    assert on["on_boundary"] is True and on["subdistrict"]["code"] == SAMPLE == _truth(url, x, y)
    # Grids: a code names its subdistrict; a listing names one (or a community of one), else it is of
    # the whole district (tests/db/test_district_listings.py).
    code = district.TERTIARY + "001"
    assert client.get(f"/grids/{code}").json()["properties"]["code"] == code
    assert client.get(f"/grids/{SAMPLE}001001001").status_code == 200
    assert len(client.get("/grids", params={"limit": 5}).json()["generations"]) == 2
    listed = client.get("/grids", params={"subdistrict": district.CODE, "level": "micro", "limit": 10}).json()
    assert sorted(f["properties"]["code"] for f in listed["features"]) == sorted(built.micro)
    assert client.get("/grids", params={"community": SAMPLE + "001", "limit": 1}).status_code == 200
    # Outside both: the nearest grid's subdistrict.
    x0, y0, _, _ = built.sample_outline.bounds
    far = client.get("/lookup", params={"lon": x0 - 0.02, "lat": y0 - 0.02}).json()
    assert far["outside"] is True and far["subdistrict"]["code"] == district.CODE


def test_the_live_directory_agrees_with_postgis_across_both_subdistricts(env) -> None:
    client, _, url, built = env
    directory = lookup_service.require(runtime_of(client.app).directory.current)
    assert set(directory.generations) == {SAMPLE, district.CODE}
    x0, y0, x1, y1 = built.sample_outline.bounds
    rng = random.Random(15)
    points = [(rng.uniform(x0 - 0.012, x1 + 0.012), rng.uniform(y0 - 0.012, y1 + 0.012)) for _ in range(300)]
    points += [(float(x), float(y)) for x, y in list(_outline(built).exterior.coords)[::7]]  # border vertices
    for x, y in points:
        p = lookup_service.place(directory, x, y)
        mine = directory.subdistrict_of(p.micro)
        assert (mine.code if mine else None) == _truth(url, x, y), (x, y)


def test_reports_near_the_border_go_to_the_right_subdistrict(env) -> None:
    client, tokens, url, built = env
    for sub, (x, y) in _near_border(url, built).items():
        r = client.post("/reports", json={"category": "noise", "channel": "hotline", "lon": x, "lat": y})
        assert r.status_code == 201, r.text
        stored = query(
            url, "SELECT subdistrict_code, micro_code FROM reports WHERE id = :id", id=r.json()["id"]
        )[0]
        assert stored.subdistrict_code == sub and stored.micro_code.startswith(sub)
    # Outside every grid, beside the neighbour: its 街道中心 answers.
    x0, y0, _, _ = built.sample_outline.bounds
    r = client.post(
        "/reports", json={"category": "noise", "channel": "hotline", "lon": x0 - 0.02, "lat": y0 - 0.02}
    )
    assert r.status_code == 201, r.text
    assert (
        scalar(url, "SELECT subdistrict_code FROM reports WHERE id = :id", id=r.json()["id"]) == district.CODE
    )


def _rows(url: str, sub: str) -> dict[str, list[Any]]:
    """Everything of a subdistrict an import or an activation could touch, row by row."""
    return {
        "grids": query(
            url,
            """SELECT g.id, g.generation_id, g.code, g.version, ST_AsBinary(g.geom) FROM grids g
               JOIN generations gen ON gen.id = g.generation_id WHERE gen.subdistrict_code = :s ORDER BY g.id""",
            s=sub,
        ),
        "generations": query(
            url,
            "SELECT id, status, retired_at FROM generations WHERE subdistrict_code = :s ORDER BY id",
            s=sub,
        ),
        "reports": query(
            url,
            """SELECT id, micro_code, tertiary_code, community_code, outside, near_boundary, updated_at,
                      subdistrict_code FROM reports WHERE subdistrict_code = :s ORDER BY id""",
            s=sub,
        ),
        "events": query(
            url,
            "SELECT e.id FROM report_events e JOIN reports r ON r.id = e.report_id WHERE r.subdistrict_code = :s ORDER BY e.id",
            s=sub,
        ),
        "addresses": query(
            url,
            "SELECT id, micro_code, community_code FROM addresses WHERE subdistrict_code = :s ORDER BY id",
            s=sub,
        ),
        "facilities": query(
            url,
            "SELECT id, micro_code, updated_at FROM facilities WHERE subdistrict_code = :s ORDER BY id",
            s=sub,
        ),
    }


def _session(url: str) -> Any:
    return db.transaction(db.make_session_factory(db.make_engine(url, pool_size=1)))


def test_an_import_and_an_activation_of_one_leave_the_other_untouched(env, tmp_path: Path) -> None:
    client, tokens, url, built = env
    planner = tokens["admin"]  # district level: acts on both subdistricts
    # The neighbour gets reports and addresses of its own.
    for geom in built.micro.values():
        p = geom.representative_point()
        r = client.post("/reports", json={"category": "noise", "channel": "hotline", "lon": p.x, "lat": p.y})
        assert r.status_code == 201, r.text
    rows = [
        {"address_id": f"D2-{i}", "address": f"第二路{i}号", "road": "第二路", "number": f"{i}号",
         "courtyard": None, "building": None, "unit": None, "community_code": district.COMMUNITY,
         "lon": g.representative_point().x, "lat": g.representative_point().y}
        for i, g in enumerate(built.micro.values(), start=1)
    ]  # fmt: skip
    with _session(url) as session:
        with pytest.raises(SubdistrictRequired):  # several subdistricts: the import must say which
            address_service.import_rows(session, rows)
        with pytest.raises(OtherSubdistrict):  # the sample's community is not the neighbour's
            address_service.import_rows(
                session, [{**rows[0], "community_code": SAMPLE + "001"}], subdistrict=district.CODE
            )
    with _session(url) as session:  # a community of the sample is not the neighbour's
        layer = ImportedLayer("tertiary", [{"code": SAMPLE + "001", "name": "x", "parent_code": "-",
                                            "geom": built.micro[sorted(built.micro)[0]]}], "EPSG:4326", None)  # fmt: skip
        with pytest.raises(OtherSubdistrict):
            community_service.import_layer(session, layer, "test", district.CODE)
    with _session(url) as session:
        summary = address_service.import_rows(session, rows, replace_all=True, subdistrict=district.CODE)
    assert summary.deleted == 0 and summary.outside == 0  # --replace deleted none of the sample's
    assert scalar(url, "SELECT count(*) FROM addresses WHERE subdistrict_code = :s", s=SAMPLE) > 0
    neighbour_before, sample_before = _rows(url, district.CODE), _rows(url, SAMPLE)
    assert neighbour_before["reports"] and neighbour_before["addresses"]

    # 1. The sample: a new draft must name its subdistrict; its micro layer re-imported; activated.
    r = client.post("/generations", json={"note": "x"}, headers=bearer(planner))
    assert r.status_code == 422 and r.json()["code"] == "subdistrict_required"
    sample_micro = Path(__file__).resolve().parents[2] / "sample_boundaries" / "micro_grids.geojson"
    r = district.upload(client, planner, sample_micro, level="micro", subdistrict=SAMPLE)
    assert r.status_code == 201, r.text
    gen = r.json()["generation"]
    assert r.json()["replaced"] == 652
    r = district.upload(client, planner, sample_micro, level="micro", subdistrict=district.CODE)
    assert r.status_code == 422 and r.json()["code"] == "other_subdistrict"  # the sample's codes
    r = client.post(f"/generations/{gen}/activate", headers=bearer(planner))
    assert r.status_code == 200, r.text
    assert _rows(url, district.CODE) == neighbour_before  # row by row
    assert (
        client.get("/lookup", params={"lon": rows[0]["lon"], "lat": rows[0]["lat"]}).json()["subdistrict"][
            "code"
        ]
        == district.CODE
    )

    # 2. The neighbour: two of its micro-grids merged, the others as they were; activated. Its reports
    # and addresses in the merged grid move; the sample's rows stay as they were.
    sample_before = _rows(url, SAMPLE)
    codes = sorted(built.micro)
    to_move = {
        table: scalar(url, f"SELECT count(*) FROM {table} r WHERE r.micro_code = :c{extra}", c=codes[1])
        for table, extra in (("reports", f" AND {rules.is_open('r')}"), ("addresses", ""))
    }
    assert to_move["reports"] >= 1 and to_move["addresses"] >= 1
    merged = {codes[0]: shapely.union_all([built.micro[codes[0]], built.micro[codes[1]]])}
    merged.update({c: built.micro[c] for c in codes[2:]})
    layer = district.write_layer(tmp_path / "merged.geojson", merged, district.TERTIARY)
    r = district.upload(client, planner, layer, level="micro", subdistrict=district.CODE)
    assert r.status_code == 201, r.text
    r = client.post(f"/generations/{r.json()['generation']}/activate", headers=bearer(planner))
    assert r.status_code == 200, r.text
    moved = r.json()["moved"]
    assert moved["reports"] == to_move["reports"] and moved["addresses"] == to_move["addresses"]
    assert _rows(url, SAMPLE) == sample_before
    assert scalar(url, "SELECT micro_code FROM addresses WHERE address_id = 'D2-2'") == codes[0]


def test_validation_reports_overlaps_with_and_gaps_against_the_neighbour(env, tmp_path: Path) -> None:
    client, tokens, url, built = env
    codes = sorted(built.micro)
    metre = 1 / 100_000
    changed = dict(built.micro)
    changed[codes[0]] = built.micro[codes[0]].buffer(8 * metre)  # reaches into the sample
    changed[codes[3]] = built.micro[codes[3]].buffer(-6 * metre)  # leaves a sliver along the border
    layer = district.write_layer(tmp_path / "flawed.geojson", changed, district.TERTIARY)
    r = district.upload(client, tokens["planner"], layer, level="micro", subdistrict=district.CODE)
    assert r.status_code == 403  # the sample's planner (issue 15: access scope) works on the sample only
    r = district.upload(client, tokens["admin"], layer, level="micro", subdistrict=district.CODE)
    assert r.status_code == 201, r.text
    report = client.get(
        f"/generations/{r.json()['generation']}/validation", headers=bearer(tokens["admin"])
    ).json()
    across = [p for p in report["problems"] if "subdistrict" in p["message"]]
    overlaps = [p for p in across if p["kind"] == "overlap"]
    gaps = [p for p in across if p["kind"] == "gap"]
    assert overlaps and all(p["codes"][0] == codes[0] and p["codes"][1].startswith(SAMPLE) for p in overlaps)
    assert sum(p["area_m2"] for p in overlaps) > 100
    assert gaps and all(p["codes"] == [SAMPLE] for p in gaps)
    # The unchanged neighbour validates clean across the border.
    with _session(url) as session:
        from geo_grid.services import validation

        clean = validation.report(session, built.generation)
    assert not [p for p in clean.problems if p.severity == "error"]


def test_the_command_line_brings_in_a_second_subdistrict(db_url: str, monkeypatch, tmp_path: Path) -> None:
    """The README's steps: subdistrict row, communities, first import, activation; commands that need
    a subdistrict ask for it once there are two."""
    from typer.testing import CliRunner

    from geo_grid.cli import app

    monkeypatch.setenv("GEO_GRID_DATABASE_URL", db_url)
    runner = CliRunner()
    ring, micro = district.ring_grids(district.sample_outline(db_url))
    csv = tmp_path / "subdistricts.csv"
    csv.write_text(
        "code,name,district_code,district_name,city_code,city_name,province_code,province_name\n"
        f"{district.CODE},{district.NAME},410105,金水区,410100,郑州市,410000,河南省\n",
        encoding="utf-8",
    )
    steps = [
        ["subdistricts", "import", str(csv)],
        ["import", "communities", str(district.write_layer(tmp_path / "c.geojson", {district.COMMUNITY: ring}, "-")),
         "--subdistrict", district.CODE],
        ["import", "boundaries", str(district.write_layer(tmp_path / "t.geojson", {district.TERTIARY: ring}, district.COMMUNITY)),
         "--level", "tertiary", "--subdistrict", district.CODE],
    ]  # fmt: skip
    for args in steps:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output, result.exception)
    gen = scalar(db_url, "SELECT id FROM generations WHERE subdistrict_code = :s", s=district.CODE)
    micro_file = district.write_layer(tmp_path / "m.geojson", micro, district.TERTIARY)
    result = runner.invoke(
        app, ["import", "boundaries", str(micro_file), "--level", "micro", "--generation", str(gen)]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["generations", "activate", str(gen), "--commit"])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["generations", "list"]).output
    assert f"{district.CODE}  active" in listed and f"{SAMPLE}  active" in listed
    refused = runner.invoke(app, ["generations", "open"])
    assert refused.exit_code != 0 and "subdistrict" in refused.output
    opened = runner.invoke(app, ["generations", "open", "--subdistrict", district.CODE])
    assert opened.exit_code == 0, opened.output


def test_a_synthetic_district_loads_tiled_exactly(empty_db_factory, monkeypatch) -> None:
    """`geo-grid load-sample --synthetic-district 3`: three subdistricts whose drafts validate without an
    error (their shared borders neither overlap nor leave a gap), every row of its subdistrict, every
    address and report where PostGIS puts it."""
    from typer.testing import CliRunner

    from geo_grid.cli import app
    from geo_grid.services import validation

    url = empty_db_factory()
    db.upgrade(url)
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", url)
    result = CliRunner().invoke(
        app,
        [
            "load-sample",
            "--synthetic-district",
            "3",
            "--micro-per-subdistrict",
            "60",
            "--reports-per-subdistrict",
            "5",
        ],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    subs = [r[0] for r in query(url, "SELECT code FROM subdistricts ORDER BY code")]
    assert len(subs) == 3
    for table in ("communities", "people", "addresses", "reports"):
        per = dict(query(url, f"SELECT subdistrict_code, count(*) FROM {table} GROUP BY 1"))
        assert set(per) == set(subs) and min(per.values()) > 0, table
    # Reports and addresses sit in the micro-grid PostGIS covers them with, of their own subdistrict.
    wrong = scalar(
        url,
        """SELECT count(*) FROM (SELECT r.micro_code, r.subdistrict_code, m.code FROM reports r
           LEFT JOIN LATERAL (SELECT g.code FROM grids g JOIN generations gen ON gen.id = g.generation_id
               WHERE gen.status = 'active' AND g.level = 'micro' AND ST_Covers(g.geom, r.geom)
               ORDER BY g.code LIMIT 1) m ON true) x
           WHERE x.micro_code IS DISTINCT FROM x.code OR x.subdistrict_code <> left(x.code, 9)""",
    )
    assert wrong == 0
    with _session(url) as session:
        for gen in (r[0] for r in query(url, "SELECT id FROM generations ORDER BY id")):
            errors = [p for p in validation.report(session, gen).problems if p.severity == "error"]
            assert errors == [], errors[:3]


def test_the_district_index_is_published_once_and_an_activation_rebuilds_one_part(
    db_url: str, make_client: Any, tmp_path: Path, caplog: Any, monkeypatch: Any
) -> None:
    """With several subdistricts the live index is a DistrictIndex: published to the store by the first
    process and loaded by the next; activating one subdistrict rebuilds only its part (`replace`)."""
    from geo_grid.lookup_district import DistrictIndex

    store = tmp_path / "store"
    tokens = create_tokens(db_url)
    caplog.set_level("INFO", logger="geo_grid.services.directory")
    with make_client(db_url, lookup_store_dir=store) as first:
        built = district.add_second_subdistrict(first, tokens["admin"], db_url, tmp_path)
        index = lookup_service.require(runtime_of(first.app).directory.current).index
        assert isinstance(index, DistrictIndex) and set(index.subdistrict_codes) == {SAMPLE, district.CODE}
        published = [p.name for p in store.iterdir() if p.is_dir()]
        assert len(published) == 1 and ": built in" in caplog.text
        caplog.clear()
        with make_client(db_url, lookup_store_dir=store) as second:  # another worker or replica
            again = lookup_service.require(runtime_of(second.app).directory.current).index
            assert f"lookup index {published[0][:12]}: loaded" in caplog.text
            x0, y0, x1, y1 = built.sample_outline.bounds
            rng = random.Random(4)
            xs = [rng.uniform(x0 - 0.01, x1 + 0.01) for _ in range(2000)]
            ys = [rng.uniform(y0 - 0.01, y1 + 0.01) for _ in range(2000)]
            assert list(again.locate_many(xs, ys)) == list(index.locate_many(xs, ys))

        # The neighbour with two micro-grids merged, in a new generation: only its part is built.
        def no_full_build(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("an activation of one subdistrict must not rebuild the whole index")

        monkeypatch.setattr(DistrictIndex, "build", classmethod(no_full_build))
        codes = sorted(built.micro)
        merged = {codes[0]: shapely.union_all([built.micro[codes[0]], built.micro[codes[1]]])}
        merged.update({c: built.micro[c] for c in codes[2:]})
        layer = district.write_layer(tmp_path / "again.geojson", merged, district.TERTIARY)
        r = district.upload(first, tokens["admin"], layer, level="micro", subdistrict=district.CODE)
        assert r.status_code == 201, r.text
        r = first.post(f"/generations/{r.json()['generation']}/activate", headers=bearer(tokens["admin"]))
        assert r.status_code == 200, r.text
        live = lookup_service.require(runtime_of(first.app).directory.current)
        assert live.generations[district.CODE] != built.generation and isinstance(live.index, DistrictIndex)
        assert codes[1] not in live.index.codes and codes[0] in live.index.codes
        for x, y in zip(xs[:300], ys[:300], strict=True):
            p = lookup_service.place(live, x, y)
            mine = live.subdistrict_of(p.micro)
            assert (mine.code if mine else None) == _truth(db_url, x, y), (x, y)


def test_coverage_maps_draw_the_asked_subdistrict(env) -> None:
    """With several subdistricts a coverage page is of one: the one asked for, the caller's own, or the
    grid's (a grid's code names its subdistrict); with neither, the whole district (tests/db/test_maps_district.py)."""
    client, tokens, _, built = env
    neighbour = sorted(built.micro)[0]
    r = client.get("/maps/coverage", headers=bearer(tokens["admin"]))  # district level: the whole district
    assert r.status_code == 200 and neighbour in r.text and f"{SAMPLE}001001001" in r.text
    page = client.get("/maps/coverage", params={"subdistrict": district.CODE}).text
    assert neighbour in page and f"{SAMPLE}001001001" not in page
    mine = client.get("/maps/coverage", headers=bearer(tokens["dispatcher"])).text  # the caller's own
    assert f"{SAMPLE}001001001" in mine and neighbour not in mine
    r = client.get(f"/maps/grids/{neighbour}")
    assert r.status_code == 200 and neighbour in r.text


def test_cases_of_either_subdistrict_run_on_their_own_working_hours(env) -> None:
    """With several subdistricts each case's stage deadlines come from its own subdistrict's working hours
    (work_periods), not from "the only subdistrict" (which no longer exists)."""
    client, tokens, url, built = env
    with _session(url) as session:  # the neighbour works 09:00–17:00 without a break
        session.execute(
            sa_text(
                "INSERT INTO work_periods (subdistrict_code, start, \"end\") VALUES (:s, '09:00', '17:00')"
            ),
            {"s": district.CODE},
        )
    due = {}
    for sub, (lon, lat) in _near_border(url, built).items():
        r = client.post("/reports", json={"category": "noise", "channel": "hotline", "lon": lon, "lat": lat})
        assert r.status_code == 201, r.text
        rid = r.json()["id"]
        assert scalar(url, "SELECT subdistrict_code FROM reports WHERE id = :i", i=rid) == sub
        r = client.post(
            f"/reports/{rid}/transitions", json={"to": "accepted"}, headers=bearer(tokens["admin"])
        )
        assert r.status_code == 200, r.text
        due[sub] = scalar(url, "SELECT stage_due_at FROM reports WHERE id = :i", i=rid)
    assert set(due) == {SAMPLE, district.CODE}
    assert None not in due.values() and due[SAMPLE] != due[district.CODE]  # 08:30/14:30 vs 09:00 starts


def test_incident_maps_are_of_one_subdistrict(env) -> None:
    client, tokens, _, _ = env
    r = client.get("/maps/incidents", headers=bearer(tokens["admin"]))  # district level: the whole district
    assert r.status_code == 200 and "金水区事件地图" in r.text
    r = client.get("/maps/incidents", params={"subdistrict": district.CODE}, headers=bearer(tokens["admin"]))
    assert r.status_code == 200 and f"{district.NAME}事件地图" in r.text
    r = client.get("/maps/incidents", headers=bearer(tokens["dispatcher"]))  # the caller's own
    assert r.status_code == 200 and "未来路街道事件地图" in r.text


def test_phones_are_unmasked_only_for_the_callers_own_subdistrict(env) -> None:
    """A subdistrict's dispatcher reads the public routes (GET /lookup, GET /lookup/address) with its token:
    the people of its own subdistrict come with their phones, another subdistrict's masked, as for the
    public (Principal.sees_personal_data_in); a district-level dispatcher sees every subdistrict's."""
    client, _, url, _ = env
    tokens = {
        "home": create_token(url, "dispatcher", "本街道调度", subdistrict=SAMPLE),
        "neighbour": create_token(url, "dispatcher", "邻街道调度", subdistrict=district.CODE),
        "district": create_token(url, "dispatcher", "区级调度", subdistrict=None),
        "public": None,
    }
    lon, lat = interior_point(f"{SAMPLE}004003005")

    def phones(who: str) -> tuple[list[str], list[str]]:
        headers = bearer(tokens[who]) if tokens[who] else {}
        found = client.get("/lookup", params={"lon": lon, "lat": lat}, headers=headers)
        address = client.get("/lookup/address", params={"q": "经三路158号院1号楼1单元"}, headers=headers)
        assert found.status_code == address.status_code == 200, (found.text, address.text)
        by_address = [p["phone"] for people in address.json()["people"].values() for p in people]
        return [p["phone"] for p in found.json()["people"]], by_address

    for who, unmasked in [("home", True), ("district", True), ("neighbour", False), ("public", False)]:
        for listed in phones(who):
            assert listed and all(p for p in listed), (who, listed)
            assert all("*" not in p for p in listed) if unmasked else all("*" in p for p in listed), (
                who,
                listed,
            )
