"""Typed contracts of the lookup, address, facility, health and map routes (issue #11).

Every such route declares its response in the OpenAPI document; real answers conform to it (pydantic
schemas here, schemathesis's response_schema_conformance on generated requests); a person in a role is
one record type wherever it comes from; phones in the schema-shaped answers follow the privacy policy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from geo_grid import db
from geo_grid.api.app import create_app
from geo_grid.api.schemas.addresses import AddressBatchOut, AddressLookupOut, AddressReloadOut
from geo_grid.api.schemas.facilities import FacilityCollection, FacilityFeature
from geo_grid.api.schemas.health import HealthOut
from geo_grid.api.schemas.lookup import LookupBatchOut, LookupOut
from geo_grid.repository import addresses as address_repo
from geo_grid.repository import facilities as facility_repo
from geo_grid.repository import people as people_repo
from geo_grid.services import addresses as address_service
from geo_grid.services import directory as directory_service
from geo_grid.services import generations as generation_service
from geo_grid.settings import Settings
from tests.support.api import bearer, create_tokens

MASKED = re.compile(r"^\d{3}\*{4}\d{4}$")
PLAIN = re.compile(r"^\d{11}$")
MY_PATHS = r"^/(lookup|facilities|health|grids/\{code\}/facilities)"
_openapi = create_app(Settings(database_url="postgresql+psycopg2://unused@127.0.0.1:1/unused")).openapi()


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    routers = ("/lookup", "/facilities", "/health", "/maps/")
    return [
        (path, method, op)
        for path, item in _openapi["paths"].items()
        for method, op in item.items()
        if path.startswith(routers) or path.endswith("/facilities")
    ]


def test_every_route_declares_its_success_response() -> None:
    ops = _operations()
    assert len(ops) >= 16
    for path, method, op in ops:
        ok = next((op["responses"][s] for s in ("200", "201", "204") if s in op["responses"]), None)
        assert ok is not None, f"{method} {path}"
        if "204" in op["responses"]:
            continue
        content = ok["content"]
        if path.startswith("/maps/") and "application/json" not in content:  # a page
            assert list(content) == ["text/html"], f"{method} {path}"
            continue
        schema = content["application/json"]["schema"]
        # A model, or a list of one (the tiled map's search and labels)
        assert "$ref" in schema or "$ref" in schema.get("items", {}), (
            f"{method} {path} has no model: {schema}"
        )


def test_fields_have_chinese_descriptions() -> None:
    for name in (
        "LookupOut",
        "PersonOut",
        "AddressLookupOut",
        "CandidateOut",
        "FacilityProperties",
        "HealthOut",
    ):
        props = _openapi["components"]["schemas"][name]["properties"]
        for field, spec in props.items():
            assert re.search(r"[\u4e00-\u9fff]", spec.get("description", "")), f"{name}.{field}"


def test_lookup_answers_conform_and_mask_phones(client: TestClient, tokens: dict[str, str]) -> None:
    params = {"lon": 113.7075, "lat": 34.7552}
    public = LookupOut.model_validate(client.get("/lookup", params=params).json())
    assert public.micro is not None and public.people
    assert all(p.phone is None or MASKED.match(p.phone) for p in public.people)
    seen = LookupOut.model_validate(
        client.get("/lookup", params=params, headers=bearer(tokens["dispatcher"])).json()
    )
    assert [p.person_id for p in seen.people] == [p.person_id for p in public.people]
    assert any(p.phone and PLAIN.match(p.phone) for p in seen.people)
    outside = LookupOut.model_validate(client.get("/lookup", params={"lon": 100, "lat": 30}).json())
    assert outside.outside and outside.nearest is not None and outside.people == []
    batch = client.post("/lookup/batch", json={"points": [[113.7075, 34.7552], [100, 30], ["x", 1]]})
    body = LookupBatchOut.model_validate(batch.json())
    assert body.count == 3 and [r.index for r in body.results] == [0, 1, 2]
    assert type(body.results[2]).__name__ == "BatchInvalid"


def test_address_answers_conform(client: TestClient, tokens: dict[str, str]) -> None:
    matched = client.get("/lookup/address", params={"q": "经三路158号院1号楼1单元"}).json()
    m = AddressLookupOut.model_validate(matched)
    assert m.status == "matched" and m.people is not None and m.people.courtyard_chief
    assert all(p.phone is None or MASKED.match(p.phone) for p in m.people.courtyard_chief)
    ambiguous = client.get("/lookup/address", params={"q": "1号楼"}).json()
    a = AddressLookupOut.model_validate(ambiguous)
    assert a.status == "ambiguous" and a.candidates
    assert "people" not in ambiguous and "grid" not in ambiguous  # absent, not null
    queries = ["经三路158号院1号楼1单元", "火星路99号", "1号楼", "x" * 400]
    r = client.post("/lookup/address/batch", json={"queries": queries}, headers=bearer(tokens["dispatcher"]))
    batch = AddressBatchOut.model_validate(r.json())
    assert (batch.matched, batch.not_found, batch.ambiguous, batch.invalid) == (1, 1, 1, 1)
    first = batch.results[0]
    assert isinstance(first, AddressLookupOut) and first.people is not None
    assert all(p.phone and PLAIN.match(p.phone) for p in first.people.micro_grid_leader)


def test_reload_needs_a_planner_and_conforms(db_url: str, make_client: Any) -> None:
    tokens = create_tokens(db_url)
    with make_client(db_url) as client:
        assert client.post("/lookup/address/reload", headers=bearer(tokens["dispatcher"])).status_code == 403
        r = client.post("/lookup/address/reload", headers=bearer(tokens["planner"]))
        assert r.status_code == 200
        assert AddressReloadOut.model_validate(r.json()).addresses > 0


def test_facility_and_health_answers_conform(client: TestClient) -> None:
    fc = FacilityCollection.model_validate(client.get("/facilities").json())
    assert fc.features and all(f.properties is not None for f in fc.features)
    assert all("grids" not in f for f in client.get("/facilities").json()["features"][0]["properties"])
    polygon = FacilityFeature.model_validate(client.get("/facilities/F001").json())
    assert polygon.properties is not None and polygon.properties.grids is not None
    grids = polygon.properties.grids
    assert grids.primary == grids.micro[0].code == polygon.properties.micro_code
    assert sum(m.share or 0 for m in grids.micro) + grids.outside_share == pytest.approx(1.0, abs=1e-5)
    point = client.get("/facilities/F002").json()
    assert point["geometry"]["type"] == "Point" and "grids" not in point["properties"]
    FacilityCollection.model_validate(client.get("/grids/410105012004/facilities").json())
    health = HealthOut.model_validate(client.get("/health").json())
    assert health.status == "ok" and health.reason is None


def test_one_person_record_from_every_source(ro_db_url: str) -> None:
    """Grid teams (directory), 楼院长/路段长 (address book) and a grid's people (repository) are all the
    repository's PersonRole, built by one function, with the same fields for the same person."""
    engine = db.make_engine(ro_db_url, pool_size=1)
    try:
        with db.make_session_factory(engine)() as session:
            gen = generation_service.active(session)
            assert gen is not None
            directory = directory_service.build(session, gen.id, max_cells=4096)
            book = address_service.build(session)
            by_grid = people_repo.for_grids(session, [next(iter(directory.people))])
            courts = address_repo.people_by_target(session, "courtyard_chief")
            assert isinstance(facility_repo.list_facilities(session)[0], facility_repo.Facility)
            assert isinstance(address_repo.all_rows(session)[0], address_repo.Address)
    finally:
        engine.dispose()
    team = next(iter(directory.people.values()))
    chiefs = [p for point in book.points.values() for p in point.courtyard_chiefs]
    assert team and chiefs and by_grid
    for p in (*team, *chiefs, *by_grid, *courts["CY001"]):
        assert type(p) is people_repo.PersonRole
    assert directory_service.PersonRole is people_repo.PersonRole
    assert set(by_grid) == set(directory.people[next(iter(directory.people))])
    with pytest.raises(AttributeError):
        team[0].phone = "0"  # type: ignore[misc]  # frozen


# -- schemathesis: generated requests to these routes get answers that match the declared schemas --------

_schema = schemathesis.openapi.from_dict(_openapi).include(path_regex=MY_PATHS)
_schema.config.generation.update(modes=[GenerationMode.POSITIVE], max_examples=6)
_schema.config.phases.update(phases=["examples", "fuzzing"])


@pytest.fixture(scope="module")
def writable(db_factory: Callable[[], str], make_client: Any) -> Iterator[tuple[Any, dict[str, str]]]:
    url = db_factory()
    tokens = create_tokens(url)
    with make_client(url) as client:
        yield client, tokens


@_schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_responses_conform_to_schema(case: Any, writable: tuple[Any, dict[str, str]]) -> None:
    client, tokens = writable
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("verify", None)
    kwargs.pop("allow_redirects", None)
    kwargs["headers"] = {**(kwargs.get("headers") or {}), **bearer(tokens["admin"])}
    response = client.request(**kwargs)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
