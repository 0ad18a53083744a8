"""The /reports and /grids/{code}/stats answers conform to their declared response schemas (schemathesis
`response_schema_conformance`, `content_type_conformance`), as an anonymous caller and a dispatcher, on a
private writable copy of the sample database."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from PIL import Image
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from geo_grid.api.app import create_app
from geo_grid.settings import Settings
from tests.support.api import bearer, create_tokens

_openapi = create_app(Settings(database_url="postgresql+psycopg2://unused@127.0.0.1:1/unused")).openapi()
PATHS = r"^/reports|^/grids/\{code\}/stats$"
# The multipart photo upload is left out as in test_schemathesis.py (schemathesis generates file parts
# httpx cannot encode); tests/db/test_photos.py covers it.
schema = (
    schemathesis.openapi.from_dict(_openapi)
    .include(path_regex=PATHS)
    .exclude(method="POST", path_regex=r"/photos$")
)
schema.config.generation.update(modes=[GenerationMode.POSITIVE], max_examples=6)
schema.config.phases.update(phases=["examples", "fuzzing"])
_seen: dict[str, int] = {}  # "METHOD path status" -> responses, printed at the end (pytest -s)


@pytest.fixture(scope="module")
def writable(db_factory: Callable[[], str], make_client: Any) -> Iterator[tuple[Any, dict[str, str]]]:
    url = db_factory()
    tokens = create_tokens(url)
    # Generous write limits: the fuzzing and the loop below write more than a resident would.
    with make_client(url, rate_anonymous_writes_per_min=10_000, rate_token_writes_per_min=10_000) as client:
        yield client, tokens
    print("\nresponses:", dict(sorted(_seen.items())))


@pytest.fixture(params=("anonymous", "dispatcher"))
def role(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_responses_conform(case: Any, writable: tuple[Any, dict[str, str]], role: str) -> None:
    client, tokens = writable
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("verify", None)
    kwargs.pop("allow_redirects", None)
    if role != "anonymous":
        kwargs["headers"] = {**(kwargs.get("headers") or {}), **bearer(tokens[role])}
    response = client.request(**kwargs)
    key = f"{case.method} {case.path} {response.status_code}"
    _seen[key] = _seen.get(key, 0) + 1
    case.validate_response(
        response, checks=[not_a_server_error, response_schema_conformance, content_type_conformance]
    )


def test_the_loop_conforms(writable: tuple[Any, dict[str, str]]) -> None:
    """Real answers of every route (intake → … → rating, listings in every format, stats at every level)
    validated against the OpenAPI document, so that the schema is checked on 2xx answers too."""
    from tests.support.report_helpers import interior_point, volunteers

    client, tokens = writable
    d = bearer(tokens["dispatcher"])
    seen: list[tuple[str, str, int]] = []

    def check(method: str, path: str, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        schema[path][method].validate_response(response)
        seen.append((method, path, status))
        return response.json() if "json" in response.headers["content-type"] else response.text

    micro = "410105012004003005"
    lon, lat = interior_point(micro)
    body = {"category": "road_occupation", "channel": "public_account", "description": "占道 13812345678",
            "lon": lon, "lat": lat, "reporter_contact": "13812345678", "address": "民航路12号院"}  # fmt: skip
    rep = check("POST", "/reports", client.post("/reports", json=body), 201)
    rid, code = rep["id"], rep["tracking_code"]
    other = check("POST", "/reports", client.post("/reports", json={**body, "description": "同一处"}), 201)
    one = "/reports/{report_id}"
    check("GET", one, client.get(f"/reports/{rid}", headers={"X-Tracking-Code": code}))
    check("GET", one, client.get(f"/reports/{rid}", headers=d))
    for headers in ({}, d):
        for fmt in ("json", "geojson", "csv"):
            check("GET", "/reports", client.get(f"/reports?format={fmt}&limit=50", headers=headers))
    tr = "/reports/{report_id}/transitions"
    for to in ("accepted", "registered"):
        check("POST", tr, client.post(f"/reports/{rid}/transitions", json={"to": to}, headers=d))
    r = client.post(f"/reports/{rid}/dispatch", json={"kind": "volunteer"}, headers=d)
    check("POST", "/reports/{report_id}/dispatch", r)
    person = volunteers()[micro[:12]][0]
    r = client.post(f"/reports/{rid}/claim", json={"person_id": person}, headers=d)
    check("POST", "/reports/{report_id}/claim", r)
    r = client.post(f"/reports/{rid}/move", json={"lon": lon + 0.0001, "lat": lat}, headers=d)
    check("POST", "/reports/{report_id}/move", r)
    for to in ("feedback", "verified", "closed"):
        check("POST", tr, client.post(f"/reports/{rid}/transitions", json={"to": to}, headers=d))
    r = client.post(f"/reports/{rid}/rating?tracking_code={code}", json={"rating": 4, "comment": "好"})
    check("POST", "/reports/{report_id}/rating", r)
    r = client.post(
        f"/reports/{other['id']}/duplicate", json={"action": "confirm", "duplicate_of": rid}, headers=d
    )
    check("POST", "/reports/{report_id}/duplicate", r)
    for grid in ("410105012", "410105012004", "410105012004003", micro):
        check("GET", "/grids/{code}/stats", client.get(f"/grids/{grid}/stats"))
    # The 数字城管 branches (tests/db/test_case_handling.py tests what they do; here: their answers' schemas).
    minor = {**body, "category": "littering", "channel": "grid_phone"}
    mid = check("POST", "/reports", client.post("/reports", json=minor), 201)["id"]
    photo = {"after_photo_url": "https://example.org/after.jpg"}
    check(
        "POST",
        "/reports/{report_id}/self-resolve",
        client.post(f"/reports/{mid}/self-resolve", json=photo, headers=d),
    )
    cid = check("POST", "/reports", client.post("/reports", json=body), 201)["id"]
    for to in ("accepted", "registered"):
        check("POST", tr, client.post(f"/reports/{cid}/transitions", json={"to": to}, headers=d))
    check("POST", "/reports/{report_id}/dispatch",
          client.post(f"/reports/{cid}/dispatch", json={"kind": "department"}, headers=d))  # fmt: skip
    ext = "/reports/{report_id}/extensions"
    req = check(
        "POST",
        ext,
        client.post(f"/reports/{cid}/extensions", json={"hours": 2, "reason": "协调"}, headers=d),
        201,
    )
    check("POST", ext + "/{request_id}/decision",
          client.post(f"/reports/{cid}/extensions/{req['request_id']}/decision", json={"approve": True}, headers=d))  # fmt: skip
    sup = "/reports/{report_id}/supervision"
    order = check(
        "POST",
        sup,
        client.post(f"/reports/{cid}/supervision", json={"reason": "督办", "hours": 4}, headers=d),
        201,
    )
    check("GET", sup, client.get(f"/reports/{cid}/supervision", headers=d))
    check("POST", sup + "/{order_id}/outcome",
          client.post(f"/reports/{cid}/supervision/{order['id']}/outcome", json={"outcome": "已办"}, headers=d))  # fmt: skip
    check("GET", "/reports/{report_id}/stages", client.get(f"/reports/{cid}/stages", headers=d))
    check(
        "POST",
        "/reports/{report_id}/return",
        client.post(f"/reports/{cid}/return", json={"reason": "非本部门"}, headers=d),
    )
    check("POST", "/reports/{report_id}/park",
          client.post(f"/reports/{cid}/park", json={"reason": "待资金", "review_on": "2027-06-01"}, headers=d))  # fmt: skip
    check("POST", "/reports/{report_id}/unpark", client.post(f"/reports/{cid}/unpark", json={}, headers=d))
    # 到场 is the grid worker's (the one of the report's grid, tests/db/test_field.py): a dispatcher is told so.
    arrived = client.post(f"/reports/{rid}/arrival", json={"note": "到场"}, headers=d)
    check("POST", "/reports/{report_id}/arrival", arrived, 403)
    photos = "/reports/{report_id}/photos"
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(jpeg, "JPEG")
    added = client.post(
        f"/reports/{rid}/photos", files={"file": ("p.jpg", jpeg.getvalue(), "image/jpeg")}, headers=d
    )
    check("POST", photos, added, 201)
    check("GET", photos, client.get(f"/reports/{rid}/photos", headers=d))
    declared = {(m.upper(), p) for p, ops in _openapi["paths"].items() if re.match(PATHS, p) for m in ops}
    assert {(m, p) for m, p, _ in seen} == declared
