"""Test fixtures: a real PostgreSQL + PostGIS cluster started in a temp dir for the whole run.

The schema is created by the Alembic migrations and the sample loaded once into a template database;
each test that writes gets its own copy (CREATE DATABASE … TEMPLATE, a fraction of a second), read-only
tests share one. If PostGIS cannot start, every database test fails and says why: none is skipped.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geo_grid import db
from geo_grid.embedded import EmbeddedCluster, EmbeddedError, find_pg_bin_dir, free_port
from geo_grid.settings import SAMPLE_DIR, Settings
from tests.support import clock as support_clock
from tests.support.api import create_tokens

TEMPLATE_DB = "geo_grid_template"

support_clock.fix()  # every "now" of the service reads the suite's fixed clock (tests/support/clock.py)

# Tests are marked by their folder: unit (no database, seconds: `make test-fast`), db (the PostGIS the
# fixtures below start), e2e (live servers, subprocesses, a real browser).
FOLDER_MARKS = {"unit": "unit", "db": "db", "e2e": "e2e"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.parent.name
        if folder in FOLDER_MARKS:
            item.add_marker(getattr(pytest.mark, FOLDER_MARKS[folder]))


_counter = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[EmbeddedCluster]:
    data_dir = Path(
        tempfile.mkdtemp(prefix="geo_grid_test_", dir=os.environ.get("GEO_GRID_TEST_TMP", "/tmp"))
    )
    try:
        # durable=False (fsync & co. off) is the test suite's own choice, for speed: a throwaway
        # cluster that nobody needs after a crash. What users run is durable (see test_durability.py).
        cluster = EmbeddedCluster(data_dir, free_port(), find_pg_bin_dir(), durable=False)
        cluster.start()
    except EmbeddedError as exc:
        pytest.fail(f"the test PostGIS server could not start (run `make setup` first): {exc}", pytrace=False)
    yield cluster
    cluster.stop("immediate")
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def empty_db_factory(pg_cluster: EmbeddedCluster) -> Callable[[], str]:
    """Makes a new empty database (no schema) and returns its URL."""

    def make() -> str:
        return pg_cluster.ensure_database(f"geo_grid_empty_{next(_counter)}")

    return make


@pytest.fixture(scope="session")
def template_db_url(pg_cluster: EmbeddedCluster) -> str:
    """Migrated to head with the sample loaded; never used directly (it is the template of the others)."""
    from geo_grid.services.sample import load_sample

    url = pg_cluster.ensure_database(TEMPLATE_DB)
    db.upgrade(url)
    engine = db.make_engine(url, pool_size=1)
    with db.transaction(db.make_session_factory(engine)) as session:
        load_sample(session, SAMPLE_DIR, Settings(database_url=url).near_boundary_m)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def db_factory(pg_cluster: EmbeddedCluster, template_db_url: str) -> Callable[[], str]:
    """Makes a fresh copy of the sample database and returns its URL."""

    def make() -> str:
        return pg_cluster.ensure_database(f"geo_grid_test_{next(_counter)}", template=TEMPLATE_DB)

    return make


@pytest.fixture
def db_url(db_factory: Callable[[], str]) -> str:
    """A private copy of the sample database for a test that writes."""
    return db_factory()


@pytest.fixture(scope="session")
def ro_db_url(db_factory: Callable[[], str]) -> str:
    """One sample database shared by tests that only read."""
    return db_factory()


@pytest.fixture(scope="session")
def make_client() -> Callable[..., Any]:
    """`with make_client(url, **settings) as client:` builds an app (lifespan included) on that database."""

    @contextmanager
    def make(url: str, **overrides: Any) -> Iterator[TestClient]:
        from geo_grid.api.app import create_app

        settings = Settings(database_url=url, **overrides)
        with TestClient(create_app(settings)) as client:
            yield client

    return make


@pytest.fixture(scope="session")
def client(make_client: Callable[..., Any], ro_db_url: str) -> Iterator[TestClient]:
    with make_client(ro_db_url) as c:
        yield c


@pytest.fixture(scope="session")
def tokens(ro_db_url: str) -> dict[str, str]:
    """A token of each role in the shared read-only database."""
    return create_tokens(ro_db_url)
