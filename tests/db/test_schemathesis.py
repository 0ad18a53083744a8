"""Property-based run over the whole OpenAPI schema (schemathesis): no request makes a 5xx, and every
answer conforms to its declared response schema and content type.

Every operation is exercised as an anonymous caller, a dispatcher and an admin, with the examples, coverage
(boundary and out-of-range values of every parameter) and fuzzing phases, positive and negative data, on a
private writable copy of the sample database (admins create drafts, facilities, reports …).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from geo_grid.api.app import create_app
from geo_grid.settings import Settings
from tests.support.api import bearer, create_tokens

# Examples per operation, role and generation mode in the fuzzing phase; the coverage phase adds its own
# deterministic boundary and out-of-range cases on top. Operations that render a map, diff or validate a
# whole generation, rebuild the address matcher or write the assessment workbook take ~0.5-5 s a request:
# they get fewer examples and no coverage phase. Tuned so that the file takes < 3 minutes on 2 cores.
MAX_EXAMPLES = 8
HEAVY_MAX_EXAMPLES = 2
HEAVY = r"^/maps/|/validation$|/diff/|/lookup/address/reload$|^/assessment\.xlsx$"
ROLES = ("anonymous", "dispatcher", "admin")
_requests: dict[int, int] = {}  # status -> requests sent, printed at the end (pytest -s) as a figure

# The schema only; requests go through the module's test client on its own copy of the sample database.
_openapi = create_app(Settings(database_url="postgresql+psycopg2://unused@127.0.0.1:1/unused")).openapi()


def _schema(max_examples: int, phases: list[str]) -> Any:
    # Multipart uploads (boundary imports) are left out: schemathesis generates file parts httpx cannot
    # encode (e.g. an int); tests/db/test_boundary_io.py covers those endpoints with real and broken files,
    # tests/db/test_photos.py the photo upload.
    loaded = (
        schemathesis.openapi.from_dict(_openapi)
        .exclude(path_regex=r"/import$")
        .exclude(method="POST", path_regex=r"/photos$")
    )
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=max_examples
    )
    loaded.config.phases.update(phases=phases)
    return loaded


schema = _schema(MAX_EXAMPLES, ["examples", "coverage", "fuzzing"]).exclude(path_regex=HEAVY)
heavy_schema = _schema(HEAVY_MAX_EXAMPLES, ["examples", "fuzzing"]).include(path_regex=HEAVY)


@pytest.fixture(scope="module")
def writable(db_factory: Callable[[], str], make_client: Any) -> Iterator[tuple[Any, dict[str, str]]]:
    url = db_factory()
    tokens = create_tokens(url)
    with make_client(url) as client:
        yield client, tokens
    print(f"\nschemathesis: {sum(_requests.values())} requests, by status {dict(sorted(_requests.items()))}")


@pytest.fixture(params=ROLES)
def role(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _check(case: Any, writable: tuple[Any, dict[str, str]], role: str) -> None:
    client, tokens = writable
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("verify", None)
    kwargs.pop("allow_redirects", None)
    if role != "anonymous":
        kwargs["headers"] = {**(kwargs.get("headers") or {}), **bearer(tokens[role])}
    response = client.request(**kwargs)
    _requests[response.status_code] = _requests.get(response.status_code, 0) + 1
    assert response.status_code < 500, (
        f"{role} {case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    )
    # Bodies are checked against the routes' declared response models, not only the status codes.
    case.validate_response(
        response, checks=[not_a_server_error, response_schema_conformance, content_type_conformance]
    )


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case: Any, writable: tuple[Any, dict[str, str]], role: str) -> None:
    _check(case, writable, role)


@heavy_schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors_heavy(case: Any, writable: tuple[Any, dict[str, str]], role: str) -> None:
    _check(case, writable, role)
