"""The personal-data policy (geo_grid/privacy.py): the scrubbing regexes on real-world shapes, and what the
public sees through every door — GET /reports (JSON, GeoJSON, CSV), /reports/{id}, /maps/incidents —
against the real PostGIS sample (525 养老诈骗 reports) plus reports made here with phone and ID numbers."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geo_grid import privacy
from tests.support.api import bearer, create_tokens
from tests.support.report_helpers import interior_point

MICRO = "410105012004003005"
MOBILE = "13812345678"
ID18 = "41010519450101123X"
DESCRIPTION = f"独居老人住民航路12号院3号楼2单元501，儿子电话{MOBILE}，身份证{ID18}，居委会 0371-65551234"
# Anything that still looks like a phone or an ID in a public answer (the test's own, independent regex).
# (IDs: area, a 19xx/20xx birth year, month; grid codes such as 410105012004003005 do not have one.)
LEAK = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)\d{6}(?:19|20)\d{2}[01]\d{6}[\dXx](?!\d)|0371-?\d{8}")


# ------------------------------------------------------------------------------------------ the regexes
@pytest.mark.parametrize(
    "text",
    [
        "电话13812345678",
        "电话 138 1234 5678 联系",
        "138-1234-5678",
        "+86 13912345678",
        "+8613912345678",
        "0086-13912345678",
        "座机0371-12345678",
        "0371 6555 1234",
        "(0371)65551234",
        "（0371）65551234",
        "010-12345678",
        "0371-6555123",
        "身份证41010519450101123X",
        "ID 410105194501011234。",
        "身份证410105194501011234号",
        "老身份证410105450101123",
        "电话：18937112345，另一个15037167890",
    ],
)
def test_scrub_removes_phones_and_ids(text: str) -> None:
    out = privacy.scrub_text(text)
    assert out is not None and not privacy.contains_personal_numbers(out), out
    assert not LEAK.search(out.replace(" ", "").replace("-", "")), out


def test_scrub_keeps_the_rest() -> None:
    # Grid codes (18 and 15 digits), coordinates, dates, times, money, door plates are not personal numbers.
    keep = [
        "网格410105012004003005", "三级网格410105012004003", "113.6925,34.7601", "2026-11-01 09:00",
        "12号院3号楼2单元501", "罚款2000元", "上报R00001", "车牌豫A12345", "1234567",
    ]  # fmt: skip
    for text in keep:
        assert privacy.scrub_text(text) == text
    assert privacy.scrub_text("电话13812345678请回电") == "电话138****5678请回电"
    assert privacy.scrub_text(f"身份证{ID18}") == f"身份证{privacy.ID_PLACEHOLDER}"
    assert privacy.scrub_text(None) is None and privacy.scrub_text("") == ""


def test_road_level_and_coarse() -> None:
    assert privacy.road_level("金水区未来路街道民航路12号院3号楼") == "民航路"
    assert privacy.road_level("经三路151号院1号楼1单元") == "经三路"
    assert privacy.road_level("郑州大学家属院3号楼") is None
    assert privacy.coarse(113.6925371, "public") == 113.693
    assert privacy.coarse(113.6925371, "dispatcher") == 113.6925371
    assert privacy.phone("13812345678", "public") == "138****5678"
    assert privacy.phone("13812345678", "planner") == "13812345678"
    sensitive = frozenset({"elderly_fraud"})  # the seeded table's (tests/db/test_case_handling.py reads it)
    assert privacy.listed("elderly_fraud", "public", sensitive) is False
    assert privacy.listed("elderly_fraud", "dispatcher", sensitive) is True
    assert privacy.listed("noise", "public", sensitive) is True


# ------------------------------------------------------------------------------------------- the API
@pytest.fixture(scope="module")
def env(
    db_factory: Callable[[], str], make_client: Callable[..., Any]
) -> Iterator[tuple[TestClient, dict[str, str], dict[str, Any]]]:
    """One database: an 养老诈骗 report and a noise report, both with phone and ID numbers in every free-text
    field, the noise one taken through to closed with notes, and rated with a comment."""
    url = db_factory()
    tokens = create_tokens(url)
    # The embedded incident page (its markers) is what these tests read; the tiled one (above 3000 reports,
    # as include_closed=true gives here) has its own: tests/db/test_maps_incidents_tiled.py.
    with make_client(url, map_reports_tiled_above=10**6) as client:
        disp = bearer(tokens["dispatcher"])
        lon, lat = interior_point(MICRO)
        body = {"channel": "hotline", "lon": lon, "lat": lat, "reporter_contact": MOBILE,
                "address": "民航路12号院3号楼2单元", "description": DESCRIPTION,
                "photo_urls": [f"https://img.example.cn/p/{MOBILE}.jpg"]}  # fmt: skip
        fraud = client.post("/reports", json=body | {"category": "elderly_fraud"})
        noise = client.post("/reports", json=body | {"category": "noise"})
        assert fraud.status_code == noise.status_code == 201, fraud.text
        nid = noise.json()["id"]
        for step in ("accepted", "registered", "dispatched", "in_progress", "feedback", "verified", "closed"):
            r = client.post(
                f"/reports/{nid}/transitions", json={"to": step, "note": f"已电话联系 {MOBILE}"}, headers=disp
            )
            assert r.status_code == 200, r.text
        r = client.post(
            f"/reports/{nid}/rating",
            json={"rating": 5, "comment": f"满意，我的电话{MOBILE}"},
            headers={"X-Tracking-Code": noise.json()["tracking_code"]},
        )
        assert r.status_code == 200, r.text
        yield client, tokens, {"fraud": fraud.json(), "noise": noise.json(), "lon": lon, "lat": lat}


def _no_leak(text: str) -> None:
    assert not LEAK.search(text), LEAK.search(text)
    assert MOBILE not in text and ID18 not in text


def _coarse(value: float) -> bool:
    return round(value, privacy.PUBLIC_DECIMALS) == value


def test_public_listings_hide_sensitive_reports_and_personal_numbers(env: Any) -> None:
    client, _, made = env
    fraud_id = made["fraud"]["id"]
    items = client.get("/reports", params={"limit": 10_000}).json()["items"]
    assert items and all(i["category"] != "elderly_fraud" for i in items)
    assert fraud_id not in {i["id"] for i in items}
    assert all(i["lon"] is None or (_coarse(i["lon"]) and _coarse(i["lat"])) for i in items)
    assert all("reporter_contact" not in i and "input_lon" not in i for i in items)
    _no_leak(json.dumps(items, ensure_ascii=False, default=str))
    mine = next(i for i in items if i["id"] == made["noise"]["id"])
    assert (mine["lon"], mine["lat"]) != (made["lon"], made["lat"])  # not door-plate exact
    assert abs(mine["lon"] - made["lon"]) < 6e-4 and abs(mine["lat"] - made["lat"]) < 6e-4
    assert mine["address_text"] == "民航路" and "138****5678" in mine["description"]
    assert privacy.ID_PLACEHOLDER in mine["description"] and "5678.jpg" in mine["photo_urls"][0]
    # Asking for the category by name does not help.
    assert client.get("/reports", params={"category": "elderly_fraud"}).json()["total"] == 0

    fc = client.get("/reports", params={"limit": 10_000, "format": "geojson"}).json()
    assert all(f["properties"]["category"] != "elderly_fraud" for f in fc["features"])
    for f in fc["features"]:
        if f["geometry"]:
            assert all(_coarse(c) for c in f["geometry"]["coordinates"])
    _no_leak(json.dumps(fc, ensure_ascii=False, default=str))

    r = client.get("/reports", params={"limit": 10_000, "format": "csv"})
    _no_leak(r.text)
    table = list(csv.DictReader(io.StringIO(r.text.removeprefix("\ufeff"))))
    assert table and all(t["category"] != "elderly_fraud" for t in table)
    assert all(not t["lon"] or _coarse(float(t["lon"])) for t in table)


def test_public_detail_scrubbed_dispatcher_intact(env: Any) -> None:
    client, tokens, made = env
    nid, fraud_id = made["noise"]["id"], made["fraud"]["id"]
    public = client.get(f"/reports/{nid}")
    assert public.status_code == 200
    _no_leak(public.text)
    body = public.json()
    assert "reporter_contact" not in body and _coarse(body["lon"])
    notes = [e["note"] for e in body["history"] if e["note"]]
    assert any("138****5678" in n for n in notes)  # dispatcher notes and the rating comment, scrubbed
    assert "138****5678" in body["rating_comment"]
    missing = client.get(f"/reports/{fraud_id}")
    assert missing.status_code == 404 and missing.json()["code"] == "report_not_found"

    full = client.get(f"/reports/{nid}", headers=bearer(tokens["dispatcher"])).json()
    assert full["description"] == DESCRIPTION and full["reporter_contact"] == MOBILE
    assert (full["lon"], full["lat"]) == pytest.approx((made["lon"], made["lat"]), abs=1e-9)
    assert full["address_text"] == "民航路12号院3号楼2单元" and MOBILE in full["rating_comment"]
    assert any(MOBILE in (e["note"] or "") for e in full["history"])
    fraud = client.get(f"/reports/{fraud_id}", headers=bearer(tokens["planner"]))
    assert fraud.status_code == 200 and fraud.json()["description"] == DESCRIPTION


def test_reporter_follows_own_sensitive_report_with_the_tracking_code(env: Any) -> None:
    client, _, made = env
    fraud = made["fraud"]
    assert fraud["tracking_code"] and len(fraud["tracking_code"]) >= 16
    _no_leak(json.dumps({k: v for k, v in fraud.items() if k != "tracking_code"}, ensure_ascii=False))
    own = client.get(f"/reports/{fraud['id']}", params={"tracking_code": fraud["tracking_code"]})
    assert own.status_code == 200 and own.json()["category"] == "elderly_fraud"
    _no_leak(own.text)
    assert "tracking_code" not in own.json()  # shown once, at intake
    header = client.get(f"/reports/{fraud['id']}", headers={"X-Tracking-Code": fraud["tracking_code"]})
    assert header.status_code == 200
    wrong = client.get(f"/reports/{fraud['id']}", headers={"X-Tracking-Code": made["noise"]["tracking_code"]})
    assert wrong.status_code == 403 and wrong.json()["code"] == "tracking_code_invalid"
    assert "追踪码" in wrong.json()["message"]


def test_incident_map_public_has_no_sensitive_report_nor_exact_point(env: Any) -> None:
    client, tokens, made = env
    label = ("养老诈骗", json.dumps("养老诈骗")[1:-1])  # as text, or \\u-escaped inside the page's JSON
    public = client.get("/maps/incidents", params={"include_closed": "true"})
    assert public.status_code == 200
    assert not any(form in public.text for form in label)
    _no_leak(public.text)
    exact = f"{round(made['lat'], 6)}"
    assert exact not in public.text
    staff = client.get(
        "/maps/incidents", params={"include_closed": "true"}, headers=bearer(tokens["dispatcher"])
    )
    assert any(form in staff.text for form in label) and exact in staff.text


def test_stats_keep_counting_sensitive_reports(env: Any) -> None:
    client, tokens, _ = env
    public = client.get("/grids/410105012/stats").json()
    staff = client.get("/grids/410105012/stats", headers=bearer(tokens["dispatcher"])).json()
    assert public["by_category"] == staff["by_category"]
    assert dict(_pairs(public["by_category"])).get("elderly_fraud", 0) > 500


def _pairs(by_category: Any) -> list[tuple[str, int]]:
    if isinstance(by_category, dict):
        return [(k, int(v)) for k, v in by_category.items()]
    return [(r.get("category") or r.get("key"), int(r.get("count") or r.get("n"))) for r in by_category]


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "data:text/html,x", "ftp://example.cn/a.jpg", "https://ex.cn/a\x00.jpg",
     "https://ex.cn/a\n.jpg", "http://", "/relative.jpg"],
)  # fmt: skip
def test_photo_urls_must_be_http(env: Any, url: str) -> None:
    client, _, made = env
    body = {"category": "noise", "channel": "hotline", "lon": made["lon"], "lat": made["lat"]}
    r = client.post("/reports", json=body | {"photo_urls": [url]})
    assert r.status_code == 422, r.text
    ok = client.post("/reports", json=body | {"photo_urls": ["https://img.example.cn/a.jpg?x=1"]})
    assert ok.status_code == 201 and ok.json()["photo_urls"] == ["https://img.example.cn/a.jpg?x=1"]
