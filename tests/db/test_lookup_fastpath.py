"""The fast path of GET /lookup (api/lookup_fastpath.py): it answers plain lookups of the public and of token
holders with the route's own bytes, headers and audit entries, and hands everything else to the route."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pytest
import shapely
from fastapi.testclient import TestClient

from geo_grid import crs, db
from geo_grid.api.app import create_app
from geo_grid.api.lookup_fastpath import LookupFastPath, plain_query
from geo_grid.api.routers.lookup import _people, lookup_json, placement_body
from geo_grid.api.runtime import runtime_of
from geo_grid.services import lookup as lookup_service
from geo_grid.services.auth import PUBLIC, Principal
from geo_grid.settings import SAMPLE_DIR, Settings
from tests.support import district
from tests.support.accounts import create_token
from tests.support.api import bearer
from tests.support.sql import query, scalar

pytestmark = pytest.mark.db

SAMPLE = "410105012"


@pytest.fixture(scope="module")
def micro() -> gpd.GeoDataFrame:
    return gpd.read_file(SAMPLE_DIR / "micro_grids.geojson").sort_values("code").reset_index(drop=True)


def _points(micro: gpd.GeoDataFrame) -> list[tuple[float, float]]:
    """Random points over the bounding box and beyond it (inside and outside), vertices and edge midpoints
    (ties on shared edges)."""
    minx, miny, maxx, maxy = shapely.total_bounds(micro.geometry.values)
    rng = np.random.default_rng(15)
    xs, ys = rng.uniform(minx - 0.01, maxx + 0.01, 300), rng.uniform(miny - 0.01, maxy + 0.01, 300)
    out = list(zip(xs, ys, strict=True))
    for geom in micro.geometry.iloc[:40]:
        xy = shapely.get_coordinates(geom.boundary)
        out.append((float(xy[0][0]), float(xy[0][1])))
        out.append((float((xy[0][0] + xy[1][0]) / 2), float((xy[0][1] + xy[1][1]) / 2)))
    return [(float(x), float(y)) for x, y in out]


def _call(
    app: Any, path: str, query: str, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[bool, list[dict[str, Any]]]:
    """Run LookupFastPath alone in front of a stand-in for the rest of the app that only records that it
    was reached: (reached the route?, the messages the fast path sent)."""
    reached = False

    async def rest(scope: Any, receive: Any, send: Any) -> None:
        nonlocal reached
        reached = True

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query.encode(),
        "headers": headers or [(b"host", b"testserver")],
        "app": app,
    }
    asyncio.run(LookupFastPath(rest)(scope, receive, send))
    return reached, sent


def test_the_fast_path_answers_with_the_routes_bytes_and_headers(client: TestClient, micro) -> None:
    points = _points(micro)
    outside = ties = 0
    for i, (x, y) in enumerate(points):
        name = ("wgs84", "gcj02", "bd09", "cgcs2000")[i % 4]
        qx, qy = crs.from_wgs84(x, y, name) if name in ("gcj02", "bd09") else (x, y)
        query = f"lon={qx!r}&lat={qy!r}" + ("" if name == "wgs84" else f"&crs={name}")
        reached, sent = _call(client.app, "/lookup", query)
        assert not reached and sent[0]["status"] == 200, query
        fast = sent[1]["body"]
        # The same request through the route (an unknown parameter, which the route ignores, sends it there)
        slow = client.get(f"/lookup?{query}&via=route")
        assert slow.status_code == 200 and fast == slow.content, query
        assert dict(sent[0]["headers"]) == {
            b"content-length": slow.headers["content-length"].encode(),
            b"content-type": slow.headers["content-type"].encode(),
        }
        body = slow.json()
        outside += body["outside"]
        ties += body["on_boundary"]
    assert outside > 20 and ties > 10  # the sample covered both kinds of answer


def test_the_whole_app_answers_plain_lookups_as_before(client: TestClient, micro) -> None:
    p = micro.geometry.iloc[7].representative_point()
    fast = client.get("/lookup", params={"lon": p.x, "lat": p.y})
    slow = client.get("/lookup", params={"lon": p.x, "lat": p.y, "via": "route"})
    assert fast.status_code == slow.status_code == 200 and fast.content == slow.content
    for name in ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options"):
        assert fast.headers[name] == slow.headers[name]
    assert fast.json()["micro"]["code"] == micro.code.iloc[7]
    assert all("****" in person["phone"] for person in fast.json()["people"])


@pytest.mark.parametrize(
    "query",
    [
        "lon=113.7&lat=34.76&at=2026-01-01T00:00:00Z",
        "lon=113.7&lat=34.76&generation=1",
        "lon=113.7&lat=34.76&lon=113.8",  # repeated
        "lon=113.7&lat=34.76&crs=WGS84",  # not one of the four names
        "lon=1.137e2&lat=34.76",  # read by the route's validation, not here
        "lon=%31%31%33.7&lat=34.76",  # percent-encoded
        "lon=+113.7&lat=34.76",
        "lon=113.7",
        "lon=113.7&lat=",
        "lon=nan&lat=34.76",
        "lon=1137&lat=34.76",  # out of range: the route's 422
        "lon=113.7&lat=34.76&",
        "",
    ],
)
def test_anything_but_a_plain_lookup_goes_to_the_route(client: TestClient, query: str) -> None:
    reached, sent = _call(client.app, "/lookup", query)
    assert reached and sent == []


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/lookup", [(b"authorization", b"Basic eDp5")]),  # not a bearer token
        ("/lookup", [(b"authorization", b"Bearer ")]),
        ("/lookup", [(b"cookie", b"geo_grid_session=x")]),
        ("/lookup", [(b"content-length", b"3")]),
        ("/lookup", [(b"transfer-encoding", b"chunked")]),
        ("/lookup/", []),
        ("/lookup/address", []),
    ],
)
def test_callers_with_credentials_and_other_paths_go_to_the_route(
    client: TestClient, path: str, headers: list[tuple[bytes, bytes]]
) -> None:
    reached, sent = _call(client.app, path, "lon=113.7&lat=34.76", headers)
    assert reached and sent == []


def test_a_token_holder_sees_the_phones_the_public_does_not(client: TestClient, tokens, micro) -> None:
    p = micro.geometry.iloc[5].representative_point()
    body = client.get("/lookup", params={"lon": p.x, "lat": p.y}, headers=bearer(tokens["dispatcher"])).json()
    assert body["people"] and all("****" not in person["phone"] for person in body["people"])
    public = client.get("/lookup", params={"lon": p.x, "lat": p.y}).json()
    assert [x["person_id"] for x in public["people"]] == [x["person_id"] for x in body["people"]]
    assert all("****" in person["phone"] for person in public["people"])


def test_plain_query() -> None:
    assert plain_query(b"lon=113.7&lat=34.76") == (113.7, 34.76, "wgs84")
    assert plain_query(b"crs=gcj02&lat=-34.5&lon=113") == (113.0, -34.5, "gcj02")
    assert plain_query(b"lat=34.76") is None
    assert plain_query(b"lon=113.7&lat=34.76&x") is None


def test_the_body_is_orjson_of_the_whole_answer(client: TestClient, micro) -> None:
    """lookup_json's fragments (memoised per grid) add up to orjson.dumps of the answer built whole."""
    directory = runtime_of(client.app).directory.current
    dispatcher = Principal("dispatcher", "test")
    for i, (x, y) in enumerate(_points(micro)[::3]):
        principal = dispatcher if i % 2 else PUBLIC
        placement = lookup_service.place(directory, x, y)
        whole = placement_body(directory, placement)
        whole["query"] = {"lon": x, "lat": y, "crs": "wgs84"}
        whole["people"] = _people(directory, placement, principal)
        for _ in range(2):  # built, then from the memo
            assert lookup_json(directory, x, y, "wgs84", principal).body == orjson.dumps(whole)


# ------------------------------------------------------------------------------- token holders (issue 15)
# Two apps on one database with a second subdistrict around the sample (tests/support/district.py): the
# whole app, and the same app without its fast path (the FastAPI route answers every GET /lookup). Each
# caller's answers — status, body, headers — and audit entries must be the same from both.

TOKENS = {
    # name: (role, subdistrict: a code or None for the district/city level)
    "own_dispatcher": ("dispatcher", SAMPLE),
    "neighbour_dispatcher": ("dispatcher", district.CODE),
    "district_dispatcher": ("dispatcher", None),
    "admin": ("admin", None),
    "own_planner": ("planner", SAMPLE),
    "own_grid_worker": ("grid_worker", SAMPLE),  # sees no personal data: masked, never audited
    "neighbour_grid_worker": ("grid_worker", district.CODE),
}


@dataclass
class Pair:
    url: str
    fast: TestClient  # the whole app
    route: TestClient  # the same app without LookupFastPath
    tokens: dict[str, str]
    points: dict[str, tuple[float, float]]


@contextmanager
def _app(url: str, fast_path: bool, **overrides: Any) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=url, **overrides))
    if not fast_path:  # before the first call builds the middleware stack
        app.user_middleware = [m for m in app.user_middleware if m.cls is not LookupFastPath]
        assert len(app.user_middleware) >= 3  # the outer guards stay
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def pair(
    db_factory: Callable[[], str], tmp_path_factory: pytest.TempPathFactory, micro: gpd.GeoDataFrame
) -> Iterator[Pair]:
    url = db_factory()
    admin = create_token(url, "admin", "fast-setup", subdistrict=None)
    with _app(url, fast_path=True) as client:
        built = district.add_second_subdistrict(client, admin, url, tmp_path_factory.mktemp("district"))
    tokens = {name: create_token(url, role, name, subdistrict=sub) for name, (role, sub) in TOKENS.items()}
    own = micro.geometry.iloc[7].representative_point()
    neighbour = next(iter(built.micro.values())).representative_point()
    border = built.sample_outline.exterior.coords[0]  # a vertex shared by a grid on each side
    points = {
        "own": (own.x, own.y),
        "neighbour": (neighbour.x, neighbour.y),
        "border": (float(border[0]), float(border[1])),
        "outside": (113.5, 34.6),  # outside both: the nearest grid, no people
    }
    with _app(url, fast_path=True) as fast, _app(url, fast_path=False) as route:
        yield Pair(url, fast, route, tokens, points)


def _audited(pair: Pair, client: TestClient, do: Callable[[], Any]) -> tuple[Any, list[dict[str, Any]]]:
    """What `do` returned, and the audit entries written meanwhile (both apps' queues flushed around it),
    without their ids and times (the service clock runs on)."""
    queues = [runtime_of(c.app).audit_queue for c in (pair.fast, pair.route)]
    for q in queues:
        q.flush()
    last = scalar(pair.url, "SELECT coalesce(max(id), 0) FROM audit_log")
    out = do()
    for q in queues:
        q.flush()
    rows = query(pair.url, "SELECT * FROM audit_log WHERE id > :last ORDER BY id", last=last)
    return out, [{k: v for k, v in row._mapping.items() if k not in ("id", "at")} for row in rows]


def _same_answer_and_audit(pair: Pair, params: dict[str, Any], headers: dict[str, str]) -> Any:
    fast, fast_rows = _audited(
        pair, pair.fast, lambda: pair.fast.get("/lookup", params=params, headers=headers)
    )
    slow, slow_rows = _audited(
        pair, pair.route, lambda: pair.route.get("/lookup", params=params, headers=headers)
    )
    assert (fast.status_code, fast.content) == (slow.status_code, slow.content), params
    assert fast.headers.items() == slow.headers.items()
    assert fast_rows == slow_rows
    return fast, fast_rows


@pytest.mark.parametrize("name", list(TOKENS))
def test_a_token_holders_lookup_is_the_routes_answer_and_audit(pair: Pair, name: str) -> None:
    role, sub = TOKENS[name]
    token = pair.tokens[name]
    for where, (lon, lat) in pair.points.items():
        query_string = f"lon={lon!r}&lat={lat!r}"
        # The fast path answers it (the route behind it is never reached) ...
        reached, sent = _call(
            pair.fast.app, "/lookup", query_string, [(b"authorization", f"Bearer {token}".encode())]
        )
        assert not reached and sent[0]["status"] == 200, (name, where)
        # ... with the route's status, bytes, headers and audit entries.
        r, rows = _same_answer_and_audit(pair, {"lon": lon, "lat": lat}, bearer(token))
        assert r.status_code == 200 and sent[1]["body"] == r.content
        body = r.json()
        people = body["people"]
        code = (body["micro"] or {}).get("code")
        unmasked = [p for p in people if p["phone"] and "****" not in p["phone"]]
        sees = role in ("dispatcher", "planner", "admin") and (sub is None or (code or "")[:9] == sub)
        # Phones unmasked exactly where the principal sees its subdistrict's people.
        assert bool(unmasked) == (sees and bool(people)), (name, where)
        assert len(unmasked) in (0, len(people))
        # The route's audit rule (api/audit_rule.audited_read): a read whose answer showed people unmasked.
        if unmasked:
            assert [row["action"] for row in rows] == ["read_personal"], (name, where)
            entry = rows[0]
            assert entry["actor"] == name and entry["actor_user_id"] is None
            assert entry["subject"] == f"/lookup?{r.request.url.query.decode()}"
            assert entry["detail"] == {
                "method": "GET",
                "path": "/lookup",
                "query": r.request.url.query.decode(),
            }
        else:
            assert rows == [], (name, where)


def test_the_sample_and_the_neighbour_points_were_answered_with_people(pair: Pair) -> None:
    """The points above cover both subdistricts, the shared border and the outside."""
    got = {}
    for where, (lon, lat) in pair.points.items():
        body = pair.fast.get("/lookup", params={"lon": lon, "lat": lat}).json()
        got[where] = ((body["subdistrict"] or {}).get("code"), body["outside"], bool(body["people"]))
    assert got["own"] == (SAMPLE, False, True)
    assert got["neighbour"][:2] == (district.CODE, False)
    assert got["border"][0] in (SAMPLE, district.CODE) and not got["border"][1]
    assert got["outside"][1] and not got["outside"][2]


def test_unusual_token_requests_are_the_routes(pair: Pair) -> None:
    """A token with `generation=` (the scope check of a draft), an extra parameter, or a cookie: the route
    answers, so both apps agree; the draft of the neighbour is 404 to the sample's dispatcher."""
    lon, lat = pair.points["own"]
    token = pair.tokens["own_dispatcher"]
    draft = scalar(
        pair.url,
        "SELECT id FROM generations WHERE subdistrict_code = :s AND status = 'draft' LIMIT 1",
        s=district.CODE,
    )
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({"lon": lon, "lat": lat, "via": "route"}, bearer(token)),
        ({"lon": lon, "lat": lat, "crs": "WGS84"}, bearer(token)),
        ({"lon": lon, "lat": 95.0}, bearer(token)),
    ]
    if draft is not None:
        cases.append(({"lon": lon, "lat": lat, "generation": draft}, bearer(token)))
    for params, headers in cases:
        _same_answer_and_audit(pair, params, headers)


def test_a_revoked_token_gets_the_routes_401(pair: Pair) -> None:
    from geo_grid.services.auth import revoke_token

    token = create_token(pair.url, "dispatcher", "soon-revoked", subdistrict=SAMPLE)
    lon, lat = pair.points["own"]
    params = {"lon": lon, "lat": lat}
    for client in (pair.fast, pair.route):  # known: cached in both apps
        assert client.get("/lookup", params=params, headers=bearer(token)).status_code == 200
    tid = scalar(pair.url, "SELECT id FROM api_tokens WHERE name = 'soon-revoked'")
    engine = db.make_engine(pair.url, pool_size=1)
    try:
        with db.transaction(db.make_session_factory(engine)) as session:
            revoke_token(session, int(tid), actor="test")
    finally:
        engine.dispose()
    # Within the token cache TTL (5 s) — sooner, when the change feed tells the apps — both refuse it.
    deadline = time.monotonic() + 30
    while any(
        c.get("/lookup", params=params, headers=bearer(token)).status_code == 200
        for c in (pair.fast, pair.route)
    ):
        assert time.monotonic() < deadline, "the revocation never took effect"
        time.sleep(0.2)
    r, rows = _same_answer_and_audit(pair, params, bearer(token))
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated" and rows == []
    _answered_by_the_fast_path(pair, f"lon={lon!r}&lat={lat!r}", token, r)


def _answered_by_the_fast_path(pair: Pair, query_string: str, token: str, route: Any) -> None:
    """The fast path answers this request itself (the route behind it is never reached), as the route did:
    status, headers and body."""
    reached, sent = _call(
        pair.fast.app, "/lookup", query_string, [(b"authorization", f"Bearer {token}".encode())]
    )
    assert not reached and sent[0]["status"] == route.status_code
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert body == route.content
    own = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    assert own == {k: v for k, v in route.headers.items() if k in own}
    assert {"content-type", "content-length"} <= own.keys()


def test_an_unknown_token_gets_the_routes_401(pair: Pair) -> None:
    lon, lat = pair.points["own"]
    r, rows = _same_answer_and_audit(pair, {"lon": lon, "lat": lat}, bearer("gg_not-a-token"))
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer" and rows == []
    _answered_by_the_fast_path(pair, f"lon={lon!r}&lat={lat!r}", "gg_not-a-token", r)


def test_rate_limits_treat_fast_path_lookups_as_the_routes(pair: Pair) -> None:
    """The limits (api/limits.py) run outside the fast path and key a token by the same token cache. Reads
    are not limited (limits.rate_kind) on the route nor here; a token's write limit is untouched by its
    lookups and still refuses its second write in a minute."""
    token = create_token(pair.url, "dispatcher", "rate-limited", subdistrict=SAMPLE)
    lon, lat = pair.points["own"]
    with _app(pair.url, fast_path=True, rate_token_writes_per_min=1) as client:
        for _ in range(30):
            r = client.get("/lookup", params={"lon": lon, "lat": lat}, headers=bearer(token))
            assert r.status_code == 200
        first = client.post("/reports", json={}, headers=bearer(token))
        assert first.status_code != 429, first.text
        second = client.post("/reports", json={}, headers=bearer(token))
        assert second.status_code == 429 and "此令牌" in second.json()["message"]
        assert (
            client.get("/lookup", params={"lon": lon, "lat": lat}, headers=bearer(token)).status_code == 200
        )
