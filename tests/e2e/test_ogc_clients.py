"""/ogc read by clients nobody here wrote, over real HTTP (uvicorn on a loopback port): OWSLib's OGC API –
Features client lists the collections and pages through every item of each; GDAL's OAPIF driver (through
pyogrio) reads micro_grids into a GeoPackage, page by page, and gets GET /grids?level=micro back.

The API runs in its own process: pyogrio holds the GIL while GDAL fetches pages, so a server in a thread of
the test process would never answer it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyogrio
import pytest
import shapely

from geo_grid.embedded import free_port
from tests.support.api import create_tokens

pytestmark = pytest.mark.e2e

COLLECTIONS = [
    "micro_grids",
    "tertiary_grids",
    "communities",
    "facilities",
    "road_segments",
    "courtyards",
    "reports",
]


ACCESS_LOG = Path(tempfile.gettempdir()) / f"geo_grid_ogc_access_{os.getpid()}.log"


def _requests_for(path: str) -> list[str]:
    """The access-log lines of GET requests to `path` (with any query string)."""
    return [line for line in ACCESS_LOG.read_text().splitlines() if f'"GET {path}?' in line]


@pytest.fixture(scope="module")
def base_url(ro_db_url: str) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "GEO_GRID_DATABASE_URL": ro_db_url}  # GEO_GRID_NOW: the suite's clock
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "geo_grid.api.app:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "info"],
        env=env, stdout=ACCESS_LOG.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "the API did not start under uvicorn"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        ACCESS_LOG.unlink(missing_ok=True)


def test_owslib_lists_collections_and_pages_through_every_item(base_url: str) -> None:
    from owslib.ogcapi.features import Features

    api = Features(f"{base_url}/ogc")
    assert api.conformance()["conformsTo"]
    listed = [c["id"] for c in api.collections()["collections"]]
    assert listed == COLLECTIONS
    for cid in listed:
        assert api.collection(cid)["id"] == cid
        seen: list[Any] = []
        offset, matched = 0, None
        while True:  # OWSLib's items() takes the query parameters; the next link carries offset
            page = api.collection_items(cid, limit=200, offset=offset)
            matched = page["numberMatched"]
            seen += page["features"]
            if not any(lk["rel"] == "next" for lk in page["links"]):
                break
            offset += page["numberReturned"]
        assert len(seen) == matched and len({f["id"] for f in seen}) == matched, cid
        assert matched > 0, cid


def test_gdal_oapif_reads_micro_grids_equal_to_grids_endpoint(base_url: str) -> None:
    assert "OAPIF" in pyogrio.list_drivers(), "pyogrio's GDAL has no OAPIF driver"
    reference = httpx.get(f"{base_url}/grids", params={"level": "micro"}, timeout=60).json()["features"]
    with tempfile.TemporaryDirectory() as tmp:
        gpkg = Path(tmp) / "micro.gpkg"
        # PAGE_SIZE=50: GDAL follows 14 `next` links; the layer is copied into a GeoPackage as ogr2ogr does.
        frame = pyogrio.read_dataframe(f"OAPIF:{base_url}/ogc", layer="micro_grids", PAGE_SIZE=50)
        pyogrio.write_dataframe(frame, gpkg, layer="micro_grids", driver="GPKG")
        copied = pyogrio.read_dataframe(gpkg, layer="micro_grids")
    pages = _requests_for("/ogc/collections/micro_grids/items")
    assert len(pages) >= 652 // 50 and any("offset=600" in line for line in pages), pages
    assert len(copied) == len(reference) == 652
    by_code = {f["properties"]["code"]: f for f in reference}
    assert sorted(copied["code"]) == sorted(by_code)
    for code, geom in zip(copied["code"], copied.geometry, strict=True):
        ref = shapely.geometry.shape(by_code[code]["geometry"])
        a, b = shapely.get_coordinates(geom), shapely.get_coordinates(ref)
        assert a.shape == b.shape and abs(a - b).max() <= 1e-9, code
        assert geom.geom_type == ref.geom_type


def test_gdal_reads_in_epsg_4547_with_the_right_axes(base_url: str) -> None:
    frame = pyogrio.read_dataframe(f"OAPIF:{base_url}/ogc", layer="communities", CRS="EPSG:4547", PAGE_SIZE=5)
    assert len(frame) == 11 and frame.crs.to_epsg() == 4547
    x0, y0, x1, y1 = frame.total_bounds  # GDAL gives easting, northing (traditional GIS order)
    assert 4.5e5 < x0 < x1 < 4.9e5 and 3.83e6 < y0 < y1 < 3.87e6


def test_gdal_reads_reports_as_the_public_and_with_a_dispatcher_token(base_url: str, ro_db_url: str) -> None:
    token = create_tokens(ro_db_url)["dispatcher"]
    public = pyogrio.read_dataframe(f"OAPIF:{base_url}/ogc", layer="reports", PAGE_SIZE=2000)
    assert "elderly_fraud" not in set(public["category"]) and "reporter_contact" not in public.columns
    lon, lat = shapely.get_coordinates(public.geometry.dropna()).T
    assert (abs(lon - lon.round(3)) < 1e-9).all() and (abs(lat - lat.round(3)) < 1e-9).all()
    # GDAL_HTTP_HEADERS would be overridden by the Accept header the driver sets; a header file is added.
    with tempfile.TemporaryDirectory() as tmp:
        header_file = Path(tmp) / "headers.txt"
        header_file.write_text(f"Authorization: Bearer {token}\n")
        pyogrio.set_gdal_config_options({"GDAL_HTTP_HEADER_FILE": str(header_file)})
        try:
            full = pyogrio.read_dataframe(f"OAPIF:{base_url}/ogc", layer="reports", PAGE_SIZE=2000)
        finally:
            pyogrio.set_gdal_config_options({"GDAL_HTTP_HEADER_FILE": None})
    expected = httpx.get(
        f"{base_url}/reports", params={"limit": 1}, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).json()["total"]
    assert len(full) == expected > len(public) and "elderly_fraud" in set(full["category"])
