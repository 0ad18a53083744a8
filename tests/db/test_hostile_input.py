"""Hostile input: address queries capped on every route and normalised in linear time, request bodies
limited while they stream in, batches off the event loop, and a draft's lookup cache refreshed on edit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from geo_grid.geocoding import normalize
from tests.support.api import bearer, create_tokens
from tests.support.boundary_support import A, horizontal_line, open_draft, read
from tests.support.boundary_support import write_headers as wh

# Texts that made the old patterns backtrack quadratically (runs of digits, letters, Chinese numerals,
# repeated prefixes, dashes), each at the 300-character cap.
PATHOLOGICAL = [
    "1" * 300,
    "一" * 300,
    "A" * 300,
    "河南" * 150,
    "1-" * 150,
    "1#" * 150,
    "第" * 300,
    "二十" * 150,
    "1号" * 150,
    "1楼" * 150,
]


class _CountingPattern:
    """Wraps a compiled pattern and counts the characters its searches are given (the work a linear
    engine does is proportional to them; the quadratic one re-scanned each run from every position)."""

    def __init__(self, pattern: Any) -> None:
        self.pattern = pattern
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        self.calls += 1
        return getattr(self.pattern, name)


def test_normalisation_is_linear_on_long_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """No timing: the patterns are anchored at a run's start (lookbehind) and possessive, so the number
    of pattern calls does not depend on the length and every result equals the old greedy one."""
    names = [n for n in dir(normalize) if n.startswith("_RE_") or n == "_TOKEN"]
    for name in names:
        pattern = getattr(normalize, name)
        text = pattern.pattern
        assert "++" in text or name == "_RE_PUNCT", f"{name} backtracks through runs: {text}"
    counters = {n: _CountingPattern(getattr(normalize, n)) for n in names}
    for n, c in counters.items():
        monkeypatch.setattr(normalize, n, c)
    calls = []
    for size in (300, 3000):
        for c in counters.values():
            c.calls = 0
        normalize.parse_address("1" * size + "号楼" + "一" * size)
        calls.append(sum(c.calls for c in counters.values()))
    assert calls[0] == calls[1]
    # The anchored patterns still find what the greedy ones found.
    assert normalize.normalize_address("第三单元") == "3单元"
    assert normalize.normalize_address("AB12栋3-2") == "AB12号楼3号楼2单元"
    assert normalize.parse_address("河南省郑州市金水区经三路二十三号院3#楼").building == "3号楼"


def test_every_pathological_query_is_answered(client) -> None:
    for q in PATHOLOGICAL:
        r = client.get("/lookup/address", params={"q": q})
        assert r.status_code in (200, 404), (q[:10], r.text[:200])
        assert r.json().get("code", "address_not_found") == "address_not_found"


def test_query_cap_on_every_route(client) -> None:
    long = "经三路158号院" + "1" * 300
    r = client.get("/lookup/address", params={"q": long})
    assert r.status_code == 422 and r.json()["code"] in ("invalid_request", "query_too_long")
    r = client.post("/lookup/address/batch", json={"queries": ["经三路158号院1号楼1单元", long, "民航路"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 3 and body["invalid"] == 1
    assert [x["index"] for x in body["results"]] == [0, 1, 2]
    bad = body["results"][1]
    assert bad["status"] == "invalid" and bad["error"]["code"] == "query_too_long"
    assert bad["error"]["detail"] == {"length": len(long), "max_chars": 300}
    assert body["results"][0]["status"] == "matched" and body["results"][2]["status"] != "invalid"


def test_query_cap_is_a_setting(make_client, ro_db_url) -> None:
    with make_client(ro_db_url, max_query_chars=5) as c:
        r = c.get("/lookup/address", params={"q": "经三路158号"})
        assert r.status_code == 422 and r.json()["code"] == "query_too_long"
        r = c.post("/lookup/address/batch", json={"queries": ["经三路158号", "民航路"]})
        assert [x["status"] == "invalid" for x in r.json()["results"]] == [True, False]


def test_a_full_batch_of_max_length_queries_completes(client) -> None:
    # 100 distinct texts (identical ones are resolved once; a not-found text of 300 characters costs
    # the matcher's fuzzy suggestions ~15 ms, which would make a test of 10,000 distinct ones minutes long).
    distinct = [p[: 300 - 2] + f"{k:02d}" for p in PATHOLOGICAL for k in range(10)]
    queries = [distinct[i % len(distinct)] for i in range(10_000)]
    assert all(len(q) == 300 for q in queries)
    body = json.dumps({"queries": queries}, ensure_ascii=False).encode()
    r = client.post("/lookup/address/batch", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text[:300]
    out = r.json()
    assert out["count"] == 10_000 and out["invalid"] == 0
    assert [x["index"] for x in out["results"]] == list(range(10_000))


# ----------------------------------------------------------------------------------- body limits


def test_declared_body_over_the_limit_is_413_before_reading(make_client, ro_db_url) -> None:
    with make_client(ro_db_url, body_limit_lookup_batch_bytes=1000, body_limit_bytes=200) as c:
        big = json.dumps({"points": [[113.7, 34.76]] * 100})
        assert len(big) > 1000
        r = c.post("/lookup/batch", content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
        assert r.json()["detail"] == {"limit_bytes": 1000}
        ok = json.dumps({"points": [[113.7, 34.76]] * 10})
        assert (
            c.post("/lookup/batch", content=ok, headers={"content-type": "application/json"}).status_code
            == 200
        )
        # Every other JSON route has the default limit.
        r = c.post("/reports", content=b"{" + b" " * 300 + b"}", headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["detail"] == {"limit_bytes": 200}


def test_chunked_body_is_counted_as_it_arrives() -> None:
    """At the ASGI level (the test client buffers whole bodies): a body without Content-Length is
    answered 413 once the limit is passed; the rest is never read and the application stops."""
    from starlette.requests import Request
    from starlette.responses import Response

    from geo_grid.api.limits import BodyLimitMiddleware
    from geo_grid.settings import Settings

    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = await Request(scope, receive).body()  # raises ClientDisconnect once the guard answered
        await Response(f"{len(body)} bytes")(scope, receive, send)

    chunk = b"[113.7, 34.76]," * 100
    pulled: list[int] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        pulled.append(1)
        return {"type": "http.request", "body": chunk, "more_body": len(pulled) < 1000}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    guard = BodyLimitMiddleware(app, Settings(body_limit_lookup_batch_bytes=10 * len(chunk)))
    scope = {"type": "http", "method": "POST", "path": "/lookup/batch", "headers": []}
    anyio.run(guard, scope, receive, send)
    assert len(pulled) == 11  # the 11th chunk passed the limit; nothing after it was read
    assert sent[0]["status"] == 413 and len(sent) == 2
    assert json.loads(sent[1]["body"])["code"] == "payload_too_large"


def test_default_limits_fit_the_documented_batches() -> None:
    from geo_grid.settings import Settings

    s = Settings()
    points = json.dumps({"crs": "wgs84", "points": [[113.123456789012, 34.123456789012]] * 100_000})
    assert len(points) < s.body_limit_lookup_batch_bytes
    queries = json.dumps({"queries": ["经" * 300] * 10_000})  # \u-escaped, as Python's json writes it
    assert len(queries) < s.body_limit_address_batch_bytes


# ----------------------------------------------------------------------------------- draft lookups


@pytest.fixture(scope="module")
def draft_env(db_factory: Any, make_client: Any) -> Iterator[tuple[Any, Any, dict[str, str], str]]:
    url = db_factory()
    tokens = create_tokens(url)
    with make_client(url) as client, make_client(url) as other_process:
        yield client, other_process, tokens, url


def _micro_at(client: Any, gen: int, lon: float, lat: float, token: str) -> str:
    # A draft's lookup: for its planners only (any other caller: 404, tests/db/test_drafts_private.py).
    r = client.get("/lookup", params={"lon": lon, "lat": lat, "generation": gen}, headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["generation"] == gen
    return str(r.json()["micro"]["code"])


def test_draft_lookup_follows_a_split(draft_env) -> None:
    client, other, tokens, _ = draft_env
    gen = open_draft(client, tokens["planner"])
    geom, tag = read(client, gen, A, tokens["planner"])
    # Asked once before the edit, so the draft's directory is cached.
    probe = geom.representative_point()
    assert _micro_at(client, gen, probe.x, probe.y, tokens["planner"]) == A
    r = client.post(
        f"/generations/{gen}/grids/{A}/split",
        json={"line": horizontal_line(geom)},
        headers=wh(tokens["planner"], tag),
    )
    assert r.status_code == 200, r.text
    kept, new = r.json()["grids"]
    g_new, _ = read(client, gen, new["code"], tokens["planner"])
    inside_new = g_new.representative_point()
    assert _micro_at(client, gen, inside_new.x, inside_new.y, tokens["planner"]) == new["code"]
    g_kept, _ = read(client, gen, A, tokens["planner"])
    inside_kept = g_kept.representative_point()
    assert _micro_at(client, gen, inside_kept.x, inside_kept.y, tokens["planner"]) == A

    # An edit made by another process (another app on the same database) is seen too: its stamp changed.
    assert _micro_at(other, gen, inside_new.x, inside_new.y, tokens["planner"]) == new["code"]
    r = other.delete(f"/generations/{gen}/grids/{new['code']}", headers=wh(tokens["planner"], new["etag"]))
    assert r.status_code == 200, r.text
    where = {"lon": inside_new.x, "lat": inside_new.y, "generation": gen}
    r = client.get("/lookup", params=where, headers=bearer(tokens["planner"]))
    assert r.status_code == 200 and (r.json()["micro"] or {}).get("code") != new["code"]


def test_batch_bodies_parsed_in_the_worker_give_the_usual_422(client) -> None:
    h = {"content-type": "application/json"}
    for body in (b"{not json", b'{"points": 5}', b'{"crs": "utm", "points": []}', b"[]"):
        r = client.post("/lookup/batch", content=body, headers=h)
        assert r.status_code == 422 and r.json()["code"] == "invalid_request", (body, r.text)
        assert r.json()["detail"][0]["loc"][0] == "body"
    r = client.post("/lookup/address/batch", json={"queries": "民航路"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    # Integers beyond 64 bits (orjson refuses them; the stdlib reads them): a per-point error, not a 500.
    r = client.post("/lookup/batch", content=b'{"points": [[1' + b"0" * 400 + b", 34.7]]}", headers=h)
    assert r.status_code == 200 and r.json()["results"][0]["error"]["code"] == "invalid_coordinates"
