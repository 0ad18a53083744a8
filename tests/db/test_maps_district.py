"""The map pages of the whole district (issue 15): with the sample (未来路街道) and its neighbour
(tests/support/district.py) in one database, `GET /maps/coverage` and `GET /maps/incidents` naming no
subdistrict follow the listings' rule (services/subdistricts.meant_or_district): a subdistrict's caller
gets its own, a district-level or anonymous caller the whole district — every subdistrict's active
generation, and the reports of its scope — embedded or, above the thresholds, from tiles that draw every
subdistrict. Phones only for whom the privacy policy shows them (Principal.sees_personal_data_in)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.support import district
from tests.support.accounts import create_token
from tests.support.api import bearer
from tests.support.sql import execute, query, scalar

SAMPLE = "410105012"
NEIGHBOUR = district.CODE
SAMPLE_MICRO = "410105012001001001"
NEIGHBOUR_PHONE = "13700001111"  # the neighbour's 微网格长 (the sample's people have their own phones)
# An embedded grid feature carries its code as a GeoJSON property (15 or 18 digits).
EMBEDDED_GRID = re.compile(r'"code": ?"(\d{15}|\d{18})"')
# The z10 tiles around the sample (one holds it whole: tests/db/test_tiles.py); the neighbour's ring is
# ≈ 1 km wider.
Z10 = [(835 + dx, 406 + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]


@dataclass(frozen=True)
class Env:
    url: str
    client: TestClient
    built: district.District
    tokens: dict[str, str]
    active: dict[str, int]  # subdistrict code → its active generation
    sample_phone: str  # the phone of SAMPLE_MICRO's 微网格长
    neighbour_report: int  # a report on the neighbour's ground


@pytest.fixture(scope="module")
def env(
    db_factory: Callable[[], str], make_client: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Env]:
    with district.with_neighbour(db_factory, make_client, tmp_path_factory.mktemp("district")) as (
        url,
        client,
        admin,
        built,
    ):
        neighbour_micro = sorted(built.micro)[0]
        _add_leader(url, neighbour_micro)
        point = built.micro[neighbour_micro].representative_point()
        r = client.post(
            "/reports", json={"category": "noise", "channel": "hotline", "lon": point.x, "lat": point.y}
        )
        assert r.status_code == 201, r.text
        report = int(r.json()["id"])
        assert scalar(url, "SELECT subdistrict_code FROM reports WHERE id = :i", i=report) == NEIGHBOUR
        tokens = {
            **district.dispatcher_tokens(url),
            "district_worker": create_token(url, "grid_worker", "区级网格员", subdistrict=None),
        }
        active = district.active_generations(url)
        assert set(active) == {SAMPLE, NEIGHBOUR}
        phone = scalar(
            url,
            """SELECT p.phone FROM people p JOIN roles r ON r.person_id = p.id
               WHERE r.role = 'micro_grid_leader' AND r.grid_code = :c ORDER BY p.person_id LIMIT 1""",
            c=SAMPLE_MICRO,
        )
        assert phone
        yield Env(url, client, built, tokens, active, str(phone), report)


def _add_leader(url: str, micro: str) -> None:
    execute(
        url,
        "INSERT INTO people (person_id, name, phone, subdistrict_code) VALUES ('N0001', '邻街道长', :p, :s)",
        p=NEIGHBOUR_PHONE,
        s=NEIGHBOUR,
    )
    execute(
        url,
        """INSERT INTO roles (person_id, role, grid_code)
           SELECT id, 'micro_grid_leader', :c FROM people WHERE person_id = 'N0001'""",
        c=micro,
    )


def _page(client: TestClient, path: str, who: str | None, env: Env) -> str:
    r = client.get(path, headers=bearer(env.tokens[who]) if who else {})
    assert r.status_code == 200, r.text[:500]
    return str(r.text)


def _codes(page: str) -> set[str]:
    return set(EMBEDDED_GRID.findall(page))


def _micro(env: Env, sub: str) -> set[str]:
    rows = query(
        env.url, "SELECT code FROM grids WHERE generation_id = :g AND level = 'micro'", g=env.active[sub]
    )
    return {str(r[0]) for r in rows}


@pytest.mark.parametrize("who", ["district", "district_worker", None])
def test_a_district_level_or_anonymous_coverage_page_draws_every_subdistrict(
    env: Env, who: str | None
) -> None:
    page = _page(env.client, "/maps/coverage", who, env)
    drawn = _codes(page)
    assert _micro(env, SAMPLE) | _micro(env, NEIGHBOUR) <= drawn
    assert "金水区网格覆盖图" in page and "vectorGrid" not in page
    # The tertiary grids of both are coloured together (one DSatur colouring of the district).
    assert {district.TERTIARY, "410105012001001"} <= drawn


@pytest.mark.parametrize(("who", "own", "other"), [("home", SAMPLE, NEIGHBOUR), ("other", NEIGHBOUR, SAMPLE)])
def test_a_subdistricts_caller_still_gets_its_own_coverage_page(
    env: Env, who: str, own: str, other: str
) -> None:
    drawn = _codes(_page(env.client, "/maps/coverage", who, env))
    assert _micro(env, own) <= drawn and not _micro(env, other) & drawn
    # A named subdistrict: that one, for a district-level caller too.
    named = _codes(_page(env.client, f"/maps/coverage?subdistrict={other}", "district", env))
    assert _micro(env, other) <= named and not _micro(env, own) & named


def test_coverage_phones_only_for_whom_the_policy_shows_them(env: Env) -> None:
    """A district-level dispatcher sees every subdistrict's phones (the policy's district level); the
    public and a district-level grid worker none; a subdistrict's dispatcher its own only."""
    pages = {
        who: _page(env.client, "/maps/coverage", who, env) for who in ("district", "district_worker", None)
    }
    assert env.sample_phone in pages["district"] and NEIGHBOUR_PHONE in pages["district"]
    for who in ("district_worker", None):
        assert env.sample_phone not in pages[who] and NEIGHBOUR_PHONE not in pages[who]
        assert "137****1111" in pages[who]  # the neighbour's 微网格长, masked
    home = _page(env.client, "/maps/coverage", "home", env)
    assert env.sample_phone in home and NEIGHBOUR_PHONE not in home
    other = _page(env.client, "/maps/coverage", "other", env)
    assert NEIGHBOUR_PHONE in other and env.sample_phone not in other


def test_a_named_generation_is_its_subdistricts_page(env: Env) -> None:
    """`generation=` names one generation: that subdistrict's page, as before (its title, its grids)."""
    page = _page(env.client, f"/maps/coverage?generation={env.active[NEIGHBOUR]}", "district", env)
    assert f"{district.NAME}网格覆盖图（现行代次 {env.active[NEIGHBOUR]}）" in page
    assert not _micro(env, SAMPLE) & _codes(page)


def _tile_codes(client: TestClient, template: str, layer: str) -> set[str]:
    codes: set[str] = set()
    for x, y in Z10:
        r = client.get(template.format(layer=layer, z=10, x=x, y=y))
        assert r.status_code == 200, r.text[:300]
        found = mapbox_vector_tile.decode(r.content) if r.content else {}
        codes |= {f["properties"]["code"] for f in found.get(layer, {}).get("features", [])}
    return codes


def test_above_the_threshold_the_district_page_is_tiled_and_its_tiles_draw_both(
    env: Env, make_client: Callable[..., Any]
) -> None:
    """The district has 652 + 4 micro-grids: at a threshold of 654 a subdistrict's page stays embedded
    and the district's is tiled, as the single page decides; its tiles, popups, search and labels name no
    generation and answer for every subdistrict."""
    neighbour_micro = sorted(env.built.micro)[0]
    with make_client(env.url, map_tiles_above=654) as c:
        own = _page(c, "/maps/coverage", "home", env)
        assert "vectorGrid" not in own and SAMPLE_MICRO in _codes(own)
        cpu = time.process_time()  # the app runs in this process (TestClient): CPU seconds of the request
        page = _page(c, "/maps/coverage", None, env)
        tiled_cpu = time.process_time() - cpu
        assert "L.vectorGrid.protobuf" in page and _codes(page) == set() and "金水区网格覆盖图" in page
        cpu = time.process_time()
        embedded = _page(env.client, "/maps/coverage", None, env)  # the default threshold (3000)
        embedded_cpu = time.process_time() - cpu
        with open("/proc/loadavg", encoding="ascii") as fh:
            load = fh.read().split()[0]
        print(
            f"\ndistrict coverage page, 656 micro-grids: embedded {len(embedded.encode()) / 1e6:.2f} MB "
            f"({embedded_cpu:.2f} CPU s), tiled {len(page.encode()) / 1e6:.3f} MB ({tiled_cpu:.2f} CPU s); "
            f"load average {load}"
        )
        tile_url = re.search(r'"tile_url": "([^"]+)"', page)
        assert tile_url is not None and tile_url.group(1) == "/tiles/{layer}/{z}/{x}/{y}.mvt"
        assert '"grid_url": "/maps/popups/grids/{code}"' in page and '"/maps/search"' in page
        assert _micro(env, SAMPLE) | _micro(env, NEIGHBOUR) <= _tile_codes(
            c, tile_url.group(1), "micro_grids"
        )
        colours = re.search(r'"colours": (\{[^}]*\})', page)
        assert (
            colours is not None
            and district.TERTIARY in colours.group(1)
            and "410105012001001" in colours.group(1)
        )
        # A grid's popup comes from its own subdistrict's generation; phones as the policy shows them.
        popup = c.get(f"/maps/popups/grids/{neighbour_micro}")
        assert popup.status_code == 200 and "137****1111" in popup.json()["html"]
        staff = c.get(f"/maps/popups/grids/{neighbour_micro}", headers=bearer(env.tokens["district"]))
        assert NEIGHBOUR_PHONE in staff.json()["html"]
        assert (
            c.get(f"/maps/popups/grids/{neighbour_micro}", headers=bearer(env.tokens["home"])).status_code
            == 404
        )
        assert c.get(f"/maps/popups/grids/{SAMPLE_MICRO}").status_code == 200
        # The search and labels of the whole district; a subdistrict's caller searches its own.
        hits = {h["code"] for h in c.get("/maps/search", params={"q": neighbour_micro}).json()}
        assert neighbour_micro in hits
        assert SAMPLE_MICRO in {h["code"] for h in c.get("/maps/search", params={"q": SAMPLE_MICRO}).json()}
        mine = c.get("/maps/search", params={"q": neighbour_micro}, headers=bearer(env.tokens["home"]))
        assert mine.status_code == 200 and mine.json() == []
        x0, y0, x1, y1 = env.built.micro[neighbour_micro].bounds
        box = f"{x0 - 0.02},{y0 - 0.02},{x1 + 0.02},{y1 + 0.02}"
        texts = [x["text"] for x in c.get("/maps/labels", params={"level": "micro", "bbox": box}).json()]
        assert any(neighbour_micro in t for t in texts) and any(f"\n{SAMPLE}" in t for t in texts)


def _report_ids(page: str) -> set[int]:
    return {int(m) for m in re.findall(r"/console/reports/(\d+)", page)}


def test_a_district_level_or_anonymous_incident_page_shows_every_subdistricts_reports(env: Env) -> None:
    sample_reports = {
        int(r[0])
        for r in query(
            env.url,
            """SELECT id FROM reports WHERE subdistrict_code = :s AND geom IS NOT NULL
               AND status NOT IN ('closed', 'rejected', 'duplicate') AND category <> 'elderly_fraud'""",
            s=SAMPLE,
        )
    }
    assert sample_reports
    for who in ("district", None):
        page = _page(env.client, "/maps/incidents", who, env)
        shown = _report_ids(page)
        assert "金水区事件地图" in page and env.neighbour_report in shown and sample_reports <= shown
    home = _report_ids(_page(env.client, "/maps/incidents", "home", env))
    assert env.neighbour_report not in home and sample_reports <= home
    other = _page(env.client, "/maps/incidents", "other", env)
    assert env.neighbour_report in _report_ids(other) and not sample_reports & _report_ids(other)
    assert f"{district.NAME}事件地图" in other


def test_incident_phones_only_for_whom_the_policy_shows_them(env: Env) -> None:
    """The responsible 微网格长's phone: for a district-level dispatcher of every subdistrict, never for the
    public or a district-level grid worker (masked), a subdistrict's dispatcher its own reports only."""
    staff = _page(env.client, "/maps/incidents", "district", env)
    assert NEIGHBOUR_PHONE in staff
    for who in ("district_worker", None):
        page = _page(env.client, "/maps/incidents", who, env)
        assert NEIGHBOUR_PHONE not in page and env.sample_phone not in page and "137****1111" in page
    home = _page(env.client, "/maps/incidents", "home", env)
    assert NEIGHBOUR_PHONE not in home
    assert NEIGHBOUR_PHONE in _page(env.client, "/maps/incidents", "other", env)


def _reports_in_tiles(client: TestClient, template: str, headers: dict[str, str]) -> int:
    total = 0
    for x, y in Z10:
        r = client.get(template.format(z=10, x=x, y=y), headers=headers)
        assert r.status_code == 200, r.text[:300]
        found = mapbox_vector_tile.decode(r.content) if r.content else {}
        total += sum(f["properties"]["count"] for f in found.get("reports", {}).get("features", []))
    return total


def test_above_the_threshold_the_district_incident_page_is_tiled_over_every_subdistrict(
    env: Env, make_client: Callable[..., Any]
) -> None:
    with make_client(env.url, map_reports_tiled_above=0) as c:
        counts: dict[str, int] = {}
        for who in ("district", "home", "other"):
            page = _page(c, "/maps/incidents", who, env)
            url = re.search(r'"tile_url": "([^"]+)"', page)
            assert url is not None
            micro = re.search(r'"micro_tile_url": "([^"]+)"', page)
            assert micro is not None
            if who == "district":
                assert url.group(1) == "/tiles/reports/{z}/{x}/{y}.mvt" and "金水区事件地图" in page
                assert micro.group(1) == "/tiles/micro_grids/{z}/{x}/{y}.mvt"
            else:
                assert "subdistrict=" in url.group(1) and "?generation=" in micro.group(1)
            counts[who] = _reports_in_tiles(c, url.group(1), bearer(env.tokens[who]))
        # Reports on the map have a point, so each belongs to one subdistrict: the district's are both.
        assert counts["other"] >= 1 and counts["home"] > 0
        assert counts["district"] == counts["home"] + counts["other"]
        public = c.get("/maps/incidents")
        assert public.status_code == 200 and "/tiles/reports/{z}/{x}/{y}.mvt" in public.text
        assert NEIGHBOUR_PHONE not in public.text and env.sample_phone not in public.text


def test_one_subdistrict_pages_are_as_before(client: TestClient) -> None:
    """With only the sample nothing changes: its page, its title, its generation in the tile URLs."""
    page = client.get("/maps/coverage").text
    assert "未来路街道网格覆盖图（现行代次" in page
    assert "未来路街道事件地图" in client.get("/maps/incidents").text


def test_the_cli_writes_the_district_page_or_the_one_named(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`geo-grid maps coverage|incidents` with several subdistricts: the whole district by default,
    `--subdistrict` one of them (unknown: a clear failure, nothing written)."""
    from geo_grid.cli import app

    monkeypatch.setenv("GEO_GRID_DATABASE_URL", env.url)
    runner = CliRunner()
    for page in ("coverage", "incidents"):
        whole, one, bad = (tmp_path / f"{page}-{n}.html" for n in ("district", "one", "bad"))
        result = runner.invoke(app, ["maps", page, "-o", str(whole)])
        assert result.exit_code == 0, result.output
        result = runner.invoke(app, ["maps", page, "-o", str(one), "--subdistrict", NEIGHBOUR])
        assert result.exit_code == 0, result.output
        result = runner.invoke(app, ["maps", page, "-o", str(bad), "--subdistrict", "410105099"])
        assert result.exit_code != 0 and not bad.exists(), result.output
        neighbour_micro = sorted(env.built.micro)[0]
        assert neighbour_micro in whole.read_text(encoding="utf-8")
        text = one.read_text(encoding="utf-8")
        assert district.NAME in text and neighbour_micro in text and f'"{SAMPLE_MICRO}"' not in text
