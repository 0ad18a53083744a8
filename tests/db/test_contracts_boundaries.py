"""The boundaries vertical's contract (issue #11): every route of grids, communities, generations and
boundary edits declares its response in the OpenAPI document, and real answers conform to it
(schemathesis `response_schema_conformance`, restricted to these paths)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from shapely.geometry import Point

from geo_grid.api.app import create_app
from geo_grid.services.validation import Problem
from geo_grid.settings import Settings
from tests.support.api import bearer, create_tokens

PATHS = r"^/(grids|communities|generations)"
TAGS = ["grids", "generations", "boundary edits"]  # the routers of this vertical (not /grids/{code}/stats …)
_openapi = create_app(Settings(database_url="postgresql+psycopg2://unused@127.0.0.1:1/unused")).openapi()


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    import re

    return [
        (path, method, op)
        for path, ops in _openapi["paths"].items()
        if re.match(PATHS, path)
        for method, op in ops.items()
        if set(op.get("tags", [])) & set(TAGS)
    ]


def test_every_boundary_route_declares_its_response() -> None:
    ops = _operations()
    assert len(ops) >= 20
    for path, method, op in ops:
        ok = next(op["responses"][s] for s in ("200", "201") if s in op["responses"])
        content = ok.get("content", {})
        assert content, f"{method.upper()} {path}: no success content declared"
        for media, body in content.items():
            assert body.get("schema"), f"{method.upper()} {path} {media}: empty schema"
        if path.endswith("/export"):
            assert {"application/geo+json", "application/geopackage+sqlite3", "application/zip"} <= set(
                content
            )
        else:
            assert _named(content["application/json"]["schema"]), f"{method.upper()} {path}: no model"


def _named(schema: dict[str, Any]) -> bool:
    """A declared model: a $ref, a list of them, or a union of them (not a bare `object`)."""
    if "$ref" in schema:
        return True
    if schema.get("type") == "array":
        return _named(schema.get("items", {}))
    return bool(schema.get("anyOf")) and all(_named(s) for s in schema["anyOf"])


def test_planner_routes_name_their_role() -> None:
    writes = [(p, m, op) for p, m, op in _operations() if m in ("post", "put", "delete")]
    assert writes
    for path, method, op in writes:
        assert "planner" in op.get("x-required-roles", []), f"{method.upper()} {path}"


def test_a_problem_shows_only_the_fields_it_has() -> None:
    warning = Problem("no_grid_leader", "warning", ["410105012001001"], "…", Point(0, 0))
    assert set(warning.properties()) == {"kind", "severity", "codes", "message"}
    invalid = Problem("invalid_geometry", "error", ["x"], "…", None, reason="Self-intersection")
    assert invalid.properties()["location"] is None and invalid.properties()["reason"] == "Self-intersection"
    overlap = Problem("overlap", "error", ["a", "b"], "…", None, area_m2=12.5)
    assert overlap.properties()["area_m2"] == 12.5 and "reason" not in overlap.properties()


@pytest.fixture(scope="module")
def writable(db_factory: Callable[[], str], make_client: Any) -> Iterator[tuple[Any, dict[str, str]]]:
    url = db_factory()
    tokens = create_tokens(url)
    with make_client(url) as client:
        yield client, tokens


schema = (
    schemathesis.openapi.from_dict(_openapi)
    .include(path_regex=PATHS, tag=TAGS)
    .exclude(path_regex=r"/import$")
)
schema.config.generation.update(modes=[GenerationMode.POSITIVE], max_examples=3)
schema.config.phases.update(phases=["examples", "fuzzing"])


@pytest.fixture(params=("anonymous", "admin"))
def role(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_answers_conform_to_the_declared_schemas(
    case: Any, writable: tuple[Any, dict[str, str]], role: str
) -> None:
    client, tokens = writable
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("verify", None)
    kwargs.pop("allow_redirects", None)
    if role != "anonymous":
        kwargs["headers"] = {**(kwargs.get("headers") or {}), **bearer(tokens[role])}
    response = client.request(**kwargs)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
