"""A route's permission is in its signature (a role dependency) and in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def test_guarded_routes_name_their_role_in_the_openapi_document(client: TestClient) -> None:
    doc: dict[str, Any] = client.get("/openapi.json").json()
    post = doc["paths"]["/facilities"]["post"]
    assert post["x-required-roles"] == ["planner", "admin"]
    assert "需要角色：规划员" in post["description"]
    assert "x-required-roles" not in doc["paths"]["/facilities"]["get"]  # reads are public


def test_the_role_dependency_refuses_before_the_handler_runs(
    client: TestClient, tokens: dict[str, str]
) -> None:
    body = {
        "kind": "charging_station",
        "name": "x",
        "geometry": {"type": "Point", "coordinates": [113.7, 34.75]},
    }
    anonymous = client.post("/facilities", json=body)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
    wrong = client.post("/facilities", json=body, headers={"Authorization": f"Bearer {tokens['dispatcher']}"})
    assert wrong.status_code == 403 and wrong.json()["code"] == "forbidden"
