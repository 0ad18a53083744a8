"""The module fixtures of the tiled-map browser tests (tests/e2e/test_maps_tiled_browser.py,
tests/e2e/test_maps_incidents_tiled_browser.py), defined once. A test module makes them its own by
assigning them at its top level, with the settings its map is tiled by:

    tiled_db, tiled_tokens, base_url, browser = tiled_map_fixtures(map_tiles_above=100)

- `tiled_db`: a copy of the sample database of its own (the module's server reads and writes it);
- `tiled_tokens`: a token per role in it (tests/support/api.create_tokens);
- `base_url`: the API served on it by uvicorn with those settings (tests/support/maps_browser.serve);
- `browser`: headless Debian chromium (tests/support/maps_browser.chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest

from tests.support.api import create_tokens
from tests.support.maps_browser import chromium, serve


class TiledMapFixtures(NamedTuple):
    tiled_db: Any
    tiled_tokens: Any
    base_url: Any
    browser: Any


def tiled_map_fixtures(**settings: Any) -> TiledMapFixtures:
    """The four module-scoped fixtures; `settings` are the server's (Settings fields, e.g.
    `map_reports_tiled_above=100`)."""

    @pytest.fixture(scope="module", name="tiled_db")
    def tiled_db(db_factory: Any) -> str:
        return str(db_factory())

    @pytest.fixture(scope="module", name="tiled_tokens")
    def tiled_tokens(tiled_db: str) -> dict[str, str]:
        return create_tokens(tiled_db)

    @pytest.fixture(scope="module", name="base_url")
    def base_url(tiled_db: str) -> Iterator[str]:
        with serve(tiled_db, **settings) as url:
            yield url

    @pytest.fixture(scope="module", name="browser")
    def browser() -> Iterator[Any]:
        with chromium() as b:
            yield b

    return TiledMapFixtures(tiled_db, tiled_tokens, base_url, browser)
