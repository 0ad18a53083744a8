"""Only the reporter rates (满意率 cannot be forged): with the report's tracking code, or by phone through a
dispatcher (`by_phone: true`, audited). Everything else → 403 tracking_code_invalid (or 401 for a
phone rating without a token)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from geo_grid import db
from tests.support.api import bearer, create_tokens
from tests.support.report_helpers import interior_point

MICRO = "410105012004003005"


@pytest.fixture(scope="module")
def env(
    db_factory: Callable[[], str], make_client: Callable[..., Any]
) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    url = db_factory()
    tokens = create_tokens(url)
    with make_client(url) as client:
        yield client, tokens, url


def _closed_report(client: TestClient, token: str) -> dict[str, Any]:
    lon, lat = interior_point(MICRO)
    body = {"category": "littering", "channel": "public_account", "lon": lon, "lat": lat}
    rep = client.post("/reports", json=body)
    assert rep.status_code == 201, rep.text
    rid = rep.json()["id"]
    for step in ("accepted", "registered", "dispatched", "in_progress", "feedback", "verified", "closed"):
        r = client.post(f"/reports/{rid}/transitions", json={"to": step}, headers=bearer(token))
        assert r.status_code == 200, r.text
    return rep.json()


def _satisfaction(client: TestClient) -> list[int]:
    return list(client.get(f"/grids/{MICRO}/stats").json()["satisfaction_rate"].values())


def test_forged_ratings_are_refused(env: tuple[TestClient, dict[str, str], str]) -> None:
    client, tokens, _ = env
    mine, other = _closed_report(client, tokens["dispatcher"]), _closed_report(client, tokens["dispatcher"])
    before = _satisfaction(client)
    url = f"/reports/{mine['id']}/rating"
    for headers, params in (
        ({}, {}),  # no code
        ({"X-Tracking-Code": "not-the-code"}, {}),
        ({"X-Tracking-Code": other["tracking_code"]}, {}),  # another report's code
        ({}, {"tracking_code": other["tracking_code"]}),
        (bearer(tokens["dispatcher"]), {}),  # a dispatcher without by_phone is not the reporter either
    ):
        r = client.post(url, json={"rating": 1}, headers=headers, params=params)
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "tracking_code_invalid" and "追踪码" in r.json()["message"]
    phone = client.post(url, json={"rating": 1, "by_phone": True})  # a phone rating needs a dispatcher
    assert phone.status_code == 401
    assert _satisfaction(client) == before
    assert client.get(f"/reports/{mine['id']}").json()["rating"] is None

    ok = client.post(url, json={"rating": 4}, params={"tracking_code": mine["tracking_code"]})
    assert ok.status_code == 200 and ok.json()["rating"] == 4
    again = client.post(url, json={"rating": 5}, headers={"X-Tracking-Code": mine["tracking_code"]})
    assert again.status_code == 409  # once
    event = ok.json()["history"][-1]
    assert (event["kind"], event["actor"], event["data"]["by_phone"]) == ("rating", "reporter", False)


def test_dispatcher_records_a_rating_given_by_phone(env: tuple[TestClient, dict[str, str], str]) -> None:
    client, tokens, url = env
    rep = _closed_report(client, tokens["dispatcher"])
    r = client.post(
        f"/reports/{rep['id']}/rating",
        json={"rating": 3, "comment": "电话回访", "by_phone": True},
        headers=bearer(tokens["dispatcher"]),
    )
    assert r.status_code == 200, r.text
    event = r.json()["history"][-1]
    assert event["kind"] == "rating" and event["actor"] == "test-dispatcher" and event["data"]["by_phone"]
    engine = db.make_engine(url, pool_size=1)
    with engine.connect() as conn:
        row = conn.execute(
            text("""SELECT a.actor, a.actor_token_id, a.detail, t.name FROM audit_log a
                    JOIN api_tokens t ON t.id = a.actor_token_id
                    WHERE a.subject = :s AND a.action = 'POST /reports/{report_id}/rating'"""),
            {"s": f"report:{rep['id']}"},
        ).one()
    engine.dispose()
    assert row.name == row.actor == "test-dispatcher" and row.detail["by_phone"] is True
