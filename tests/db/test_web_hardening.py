"""Smaller exposures (issue 10): /docs and /redoc reference only this service's own assets, every
response carries the security headers (a CSP that admits only the configured basemap's tiles), and
/health never reveals the database's address or error text."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geo_grid.api.routers.health import DB_UNREACHABLE
from geo_grid.api.runtime import runtime_of
from geo_grid.api.security_headers import API_POLICY, page_policy_for, tile_source
from geo_grid.db import make_engine
from geo_grid.embedded import free_port
from geo_grid.settings import Settings

pytestmark = pytest.mark.db

URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")
ASSET_REF = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|(?:url|spec-url)\s*[:=]\s*["']([^"']+)["']""")
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def _directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}


def _outside_urls(html: str) -> list[str]:
    own = ("http://testserver/", "//testserver/")
    return [u for u in URL.findall(html) if not u.startswith(own)]


def _refs(html: str) -> list[str]:
    return [a or b for a, b in ASSET_REF.findall(html)]


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (
            "/docs",
            {
                "/openapi.json": "application/json",
                "/docs/static/swagger-ui-bundle.js": "javascript",
                "/docs/static/swagger-ui.css": "text/css",
                "/docs/static/favicon.png": "image/png",
            },
        ),
        (
            "/redoc",
            {
                "/openapi.json": "application/json",
                "/docs/static/redoc.standalone.js": "javascript",
                "/docs/static/favicon.png": "image/png",
            },
        ),
    ],
)
def test_docs_pages_reference_only_local_assets(
    client: TestClient, page: str, expected: dict[str, str]
) -> None:
    r = client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert _outside_urls(html) == []
    assert "fonts.googleapis.com" not in html and "cdn.jsdelivr.net" not in html
    refs = _refs(html)
    assert set(expected) <= set(refs), refs
    for ref in refs:
        assert ref.startswith("/"), ref
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        want = expected.get(ref, "")
        assert want in asset.headers["content-type"], (ref, asset.headers["content-type"])
        assert len(asset.content) > 500, ref
    if page == "/docs":
        assert '"validatorUrl": null' in html  # no badge image from validator.swagger.io
        assert "/docs/oauth2-redirect" in html


def test_oauth2_redirect_and_openapi_keep_their_paths(client: TestClient) -> None:
    redirect = client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200 and "oauth2" in redirect.text and _outside_urls(redirect.text) == []
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"].startswith("geo_grid")
    assert not any(p.startswith(("/docs", "/redoc")) for p in spec["paths"])  # not API operations


def test_docs_static_serves_only_its_named_files(client: TestClient) -> None:
    for path in (
        "/docs/static/index.js",
        "/docs/static/..%2Fleaflet%2Fpackage.json",
        "/docs/static/swagger-ui-bundle.js.map",
        "/docs/static/",
    ):
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.json()["code"] == "not_found"


def test_pages_get_a_self_only_csp_and_json_a_strict_one(client: TestClient) -> None:
    for path in ("/maps/coverage", "/docs", "/redoc", "/docs/oauth2-redirect"):
        r = client.get(path)
        assert r.status_code == 200, path
        csp = _directives(r.headers["content-security-policy"])
        assert csp["frame-ancestors"] == ["'none'"]
        assert csp["default-src"] == ["'self'"]
        assert csp["script-src"] == ["'self'", "'unsafe-inline'"]
        assert csp["style-src"] == ["'self'", "'unsafe-inline'"]
        assert csp["img-src"] == ["'self'", "data:"]  # the default basemap (none) fetches no tiles
        assert csp["connect-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
        assert all(not s.startswith(("http", "*")) and s != "*" for v in csp.values() for s in v)
        for name, value in SECURITY_HEADERS.items():
            assert r.headers[name] == value, (path, name)
    for path in ("/health", "/communities", "/no-such-path", "/docs/static/favicon.png"):
        r = client.get(path)
        assert r.headers["content-security-policy"] == API_POLICY, path
        assert API_POLICY == "default-src 'none'; frame-ancestors 'none'"
        for name, value in SECURITY_HEADERS.items():
            assert r.headers[name] == value, (path, name)
    assert client.get("/no-such-path").status_code == 404


@pytest.mark.parametrize(
    ("settings", "tile_host"),
    [
        ({"basemap": "tianditu", "tianditu_key": "k"}, "https://*.tianditu.gov.cn"),
        ({"basemap": "gaode"}, "https://*.is.autonavi.com"),
        (
            {"basemap": "xyz", "basemap_url": "http://tiles.intranet.example:8080/osm/{z}/{x}/{y}.png"},
            "http://tiles.intranet.example:8080",
        ),
    ],
)
def test_page_csp_admits_the_configured_basemap_tile_host(
    make_client: Callable[..., Any], ro_db_url: str, settings: dict[str, str], tile_host: str
) -> None:
    with make_client(ro_db_url, **settings) as c:
        page = c.get("/maps/coverage")
        assert page.status_code == 200
        csp = _directives(page.headers["content-security-policy"])
        assert csp["img-src"] == ["'self'", "data:", tile_host]
        assert csp["connect-src"] == ["'self'"] and csp["script-src"] == ["'self'", "'unsafe-inline'"]
        tile_url_host = tile_host.split("//")[1].removeprefix("*")
        assert tile_url_host in page.text  # the page really fetches its tiles from that host
        assert c.get("/health").headers["content-security-policy"] == API_POLICY


def test_tile_source_of_url_templates() -> None:
    assert (
        tile_source("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png")
        == "https://*.tile.openstreetmap.org"
    )
    assert tile_source("https://tiles.example.org/{z}/{x}/{y}.png") == "https://tiles.example.org"
    assert tile_source("/tiles/{z}/{x}/{y}.png") is None  # same origin: 'self' covers it
    assert tile_source("https://{s}/{z}/{x}/{y}.png") is None  # no host a CSP could name
    assert tile_source("https://a;b.example.org/{z}") is None  # never splice a directive separator
    # A bad basemap setting does not stop the service: the pages just get the base policy.
    assert "img-src 'self' data:;" in page_policy_for(Settings(database_url="x", basemap="nonsense"))


def test_health_does_not_reveal_the_database_address_when_it_is_down(
    make_client: Callable[..., Any], db_url: str
) -> None:
    port = free_port()  # nothing listens there: a real connection failure naming host and port
    with make_client(db_url) as c:
        assert c.get("/health").status_code == 200
        live = runtime_of(c.app)
        # The same runtime with an engine that cannot connect (the runtime itself is frozen).
        down = dataclasses.replace(
            live, engine=make_engine(f"postgresql+psycopg2://geo_grid@127.0.0.1:{port}/geo_grid", 1, 1)
        )
        c.app.state.runtime = down  # type: ignore[attr-defined]
        try:
            r = c.get("/health")
        finally:
            down.engine.dispose()
            c.app.state.runtime = live  # type: ignore[attr-defined]
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "degraded" and body["database"] == "unreachable"
    assert body["reason"] == DB_UNREACHABLE == "数据库暂时无法连接"
    assert body["lookup_index"] == "ready" and body["counts"]["micro"] == 652
    for secret in (str(port), "127.0.0.1", "localhost", "postgresql", "connection", "geo_grid@"):
        assert secret not in r.text, secret
