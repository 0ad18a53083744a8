"""Boundary imports read only what they are meant to read (issue #10).

Every hostile upload is refused with a 4xx, reads no server file (no 'root:' or '/etc/' in the answer),
makes no request (a local HTTP server counts them), leaves nothing in the temp directory and changes
nothing in the database. An anonymous or oversized upload is refused before its body is read (a real
uvicorn server and a raw socket count the bytes it accepted).
"""

from __future__ import annotations

import http.server
import io
import json
import os
import select
import socket
import sqlite3
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely
import uvicorn
from shapely.geometry import mapping
from typer.testing import CliRunner

from geo_grid.cli import app as cli_app
from geo_grid.embedded import free_port
from geo_grid.settings import Settings
from tests.support.api import bearer, create_tokens

TERTIARY = "410105012001001"
MiB = 2**20
runner = CliRunner()


class Spy:
    """A tiny HTTP server on 127.0.0.1 that records every request it gets (it must get none)."""

    def __init__(self) -> None:
        hits = self.hits = []  # type: list[str]

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"type": "FeatureCollection", "features": []}')

            do_HEAD = do_GET  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def spy() -> Iterator[Spy]:
    s = Spy()
    yield s
    s.close()


@pytest.fixture(scope="module")
def app(db_factory: Any, make_client: Any) -> Iterator[tuple[Any, dict[str, str]]]:
    url = db_factory()
    tokens = create_tokens(url)
    with make_client(url) as client:
        yield client, tokens


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The process's temp directory (Python's and GDAL's) is a private, empty one for the test."""
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setenv("CPL_TMPDIR", str(tmp))
    return tmp


def _square_layer(code: str = TERTIARY + "901") -> dict[str, Any]:
    geom = mapping(shapely.box(113.70, 34.76, 113.701, 34.761))
    props = {"code": code, "name": "测试", "parent_code": TERTIARY}
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": props, "geometry": geom}],
    }


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)  # taken as is: ZipFile.write would clean a name
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def shapefile_parts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A real one-feature Shapefile (written by GDAL), part by part."""
    from geo_grid.io.boundaries import write_layer

    layer = _square_layer()["features"][0]["properties"]
    grids = [
        {
            **layer,
            "level": "micro",
            "community_code": None,
            "geom": shapely.box(113.7, 34.76, 113.701, 34.761),
        }
    ]
    out = write_layer(grids, "shp", tmp_path_factory.mktemp("shp") / "grids.zip")
    with zipfile.ZipFile(out) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _vrt(source: str) -> bytes:
    """A GDAL VRT layer over `source` (GDAL names a CSV layer and a remote file's layer by the file)."""
    layer = Path(source).stem
    return (
        f'<OGRVRTDataSource><OGRVRTLayer name="{layer}"><SrcDataSource>{source}</SrcDataSource>'
        f"<SrcLayer>{layer}</SrcLayer></OGRVRTLayer></OGRVRTDataSource>"
    ).encode()


def _state(client: Any, token: str) -> Any:
    """Every generation (drafts too: read as a planner) and the length of each one's audit log."""
    gens = client.get("/generations", headers=bearer(token)).json()
    audits = [len(client.get(f"/generations/{g['id']}/audit", headers=bearer(token)).json()) for g in gens]
    return gens, audits


def _post(
    client: Any, token: str | None, name: str, content: bytes, gen: int | None = None, **form: str
) -> Any:
    url = f"/generations/{gen}/import" if gen else "/generations/import"
    headers = bearer(token) if token else {}
    return client.post(url, files={"file": (name, content)}, data={"level": "micro", **form}, headers=headers)


def _refused(
    app: tuple[Any, dict[str, str]], spy: Spy, tmp: Path, name: str, content: bytes, status: int, **form: str
) -> dict[str, Any]:
    client, tokens = app
    before, listing = _state(client, tokens["planner"]), sorted(os.listdir(tmp))
    r = _post(client, tokens["planner"], name, content, **form)
    assert r.status_code == status, r.text
    assert "root:" not in r.text and "/etc/" not in r.text and str(tmp) not in r.text and "/vsi" not in r.text
    assert spy.hits == [], "the server made a request"
    assert sorted(os.listdir(tmp)) == listing, "something was left on disk"
    assert _state(client, tokens["planner"]) == before, "something was written to the database"
    body: dict[str, Any] = r.json()
    return body


# --- content GDAL would read elsewhere -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["boundaries.geojson", "boundaries.vrt", "boundaries.gpkg", "boundaries"])
def test_a_vrt_reading_a_server_file_is_refused(app, spy, private_tmp, name) -> None:
    body = _refused(app, spy, private_tmp, name, _vrt("CSV:/etc/passwd"), 415)
    assert body["code"] == "unsupported_format" and "只接受" in body["message"]


@pytest.mark.parametrize("name", ["boundaries.vrt", "boundaries.geojson"])
def test_a_vrt_with_a_vsicurl_source_makes_no_request(app, spy, private_tmp, name) -> None:
    vrt = _vrt(f"/vsicurl/{spy.url}/layer.geojson")
    assert _refused(app, spy, private_tmp, name, vrt, 415)["code"] == "unsupported_format"


@pytest.mark.parametrize("where", ["top", "geometry"])
def test_a_geojson_crs_link_makes_no_request(app, spy, private_tmp, where) -> None:
    # GDAL's GeoJSON driver itself fetches a `crs` of type link (checked with GDAL 3.12), at either level.
    doc = _square_layer()
    link = {"type": "link", "properties": {"href": f"{spy.url}/crs.wkt", "type": "ogcwkt"}}
    (doc if where == "top" else doc["features"][0]["geometry"])["crs"] = link
    body = _refused(app, spy, private_tmp, "layer.geojson", json.dumps(doc).encode(), 415)
    assert "crs" in body["message"]


@pytest.mark.parametrize(
    "members",
    [
        {"layer.vrt": _vrt("CSV:/etc/passwd")},
        {"layer.geojson": _vrt("CSV:/etc/passwd")},  # once extracted, checked again: not GeoJSON
        {"layer.shp": _vrt("CSV:/etc/passwd"), "layer.shx": b"x", "layer.dbf": b"x"},
        {"layer.gpkg": _vrt("/vsicurl/http://127.0.0.1:9/x")},
        {"inner.zip": _zip({"layer.vrt": _vrt("CSV:/etc/passwd")})},
    ],
    ids=["vrt", "vrt-as-geojson", "vrt-as-shp", "vrt-as-gpkg", "nested-zip"],
)
def test_a_vrt_inside_a_zip_is_refused(app, spy, private_tmp, members) -> None:
    _refused(app, spy, private_tmp, "layer.zip", _zip(members), 415)


@pytest.mark.parametrize(
    "names",
    [
        ("../grids.shp", "../grids.shx", "../grids.dbf"),
        ("a/../../grids.shp", "grids.shx", "grids.dbf"),
        ("/tmp/grids.shp", "/tmp/grids.shx", "/tmp/grids.dbf"),
        ("..\\grids.shp", "..\\grids.shx", "..\\grids.dbf"),
        ("sub/grids.shp", "sub/grids.shx", "sub/grids.dbf"),
        ("grids.shp", "grids.shx", "grids.dbf", "."),
        ("grids.shp", "grids.shx", "grids.dbf", ".."),
        ("C:grids.shp", "grids.shx", "grids.dbf"),
    ],
    ids=["dotdot", "inner-dotdot", "absolute", "backslash", "subdir", "dot", "dotdot-name", "drive"],
)
def test_a_shapefile_zip_with_paths_is_refused(app, spy, private_tmp, shapefile_parts, names) -> None:
    by_ext = {Path(n).suffix: data for n, data in shapefile_parts.items()}
    members = {n: by_ext.get(Path(n).suffix, b"") for n in names}
    body = _refused(app, spy, private_tmp, "grids.zip", _zip(members), 415)
    assert body["code"] == "unsupported_format"
    assert not (private_tmp.parent / "grids.shp").exists() and not Path("/tmp/grids.shp").exists()


@pytest.mark.parametrize(
    "name,content",
    [
        ("addresses.csv", b"code,name,lon,lat\n410105012001001901,a,113.7,34.76\n"),
        ("addresses.geojson", b"code,name\n1,a\n"),
        ("layer.geojson", b'{"type": "FeatureCollection", "features": [}'),
        ("layer.json", b'{"type": "Topology", "objects": {}}'),
        ("layer.geojson", b""),
        ("layer.gpkg", b"SQLite format 3\x00" + b"\x00" * 84),
    ],
    ids=["csv", "csv-as-geojson", "broken-json", "topojson", "empty", "sqlite-not-gpkg"],
)
def test_other_formats_are_refused(app, spy, private_tmp, name, content) -> None:
    body = _refused(app, spy, private_tmp, name, content, 415)
    assert body["code"] == "unsupported_format" and "只接受" in body["message"]


@pytest.mark.parametrize("extra", ["view", "virtual"])
def test_a_geopackage_with_a_view_or_virtual_table_is_refused(app, spy, private_tmp, tmp_path, extra) -> None:
    import geopandas as gpd

    doc = _square_layer()
    path = tmp_path / "grids.gpkg"
    gpd.GeoDataFrame.from_features(doc["features"], crs=4326).to_file(path, driver="GPKG", layer="grids")
    con = sqlite3.connect(path)
    if extra == "view":
        con.execute("CREATE VIEW grids_view AS SELECT * FROM grids")
    else:
        con.execute("CREATE VIRTUAL TABLE notes USING fts5(body)")
    con.commit()
    con.close()
    assert "GeoPackage" in _refused(app, spy, private_tmp, "grids.gpkg", path.read_bytes(), 415)["message"]


@pytest.mark.parametrize("fmt", ["gpkg", "shp"])
def test_a_crs_definition_that_is_a_url_makes_no_request(
    app, spy, private_tmp, tmp_path, shapefile_parts, fmt
):
    """A GeoPackage srs definition or a Shapefile .prj holding a URL passes the checks (GDAL only parses
    them as WKT, checked with GDAL 3.12): whatever the answer, no request is made and nothing is left."""
    import geopandas as gpd

    client, tokens = app
    if fmt == "gpkg":
        path = tmp_path / "grids.gpkg"
        doc = _square_layer()
        gpd.GeoDataFrame.from_features(doc["features"], crs=4326).to_file(path, driver="GPKG", layer="grids")
        con = sqlite3.connect(path)
        con.execute(
            "INSERT INTO gpkg_spatial_ref_sys VALUES ('evil', 990001, 'x', 990001, ?, '')", (spy.url,)
        )
        con.execute("UPDATE gpkg_geometry_columns SET srs_id = 990001")
        con.commit()
        con.close()
        content = path.read_bytes()
    else:
        content = _zip({**shapefile_parts, "grids.prj": f"{spy.url}/grids.prj".encode()})
    r = _post(client, tokens["planner"], f"grids.{fmt}", content)
    assert r.status_code in (201, 422), r.text
    assert spy.hits == [] and os.listdir(private_tmp) == []
    if r.status_code == 201:
        client.delete(f"/generations/{r.json()['generation']}", headers=bearer(tokens["planner"]))


# --- size ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """1 GiB of zeros as grids.shp (plus a small .shx/.dbf), about 1 MB on disk."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("grids.shp", "w", force_zip64=True) as out:
            zeros = b"\0" * MiB
            for _ in range(1024):
                out.write(zeros)
        zf.writestr("grids.shx", b"\0" * 100)
        zf.writestr("grids.dbf", b"\0" * 100)
    return path.read_bytes()


def test_a_zip_bomb_is_refused_without_extracting(app, spy, private_tmp, zip_bomb) -> None:
    assert len(zip_bomb) < 4 * MiB
    t0 = time.perf_counter()
    body = _refused(app, spy, private_tmp, "grids.zip", zip_bomb, 413)
    print(f"zip bomb ({len(zip_bomb) / MiB:.1f} MiB → 1 GiB) refused in {time.perf_counter() - t0:.2f} s")
    assert body["code"] == "payload_too_large"


def test_a_highly_compressed_member_is_refused(app, spy, private_tmp, shapefile_parts) -> None:
    # 50 MiB unpacked is under the size bound, but no boundary file compresses 1000:1.
    members = {n: d for n, d in shapefile_parts.items() if not n.endswith(".dbf")}
    members["grids.dbf"] = b" " * (50 * MiB)
    body = _refused(app, spy, private_tmp, "grids.zip", _zip(members), 413)
    assert "压缩比" in body["message"]


def test_an_upload_over_the_bound_is_refused(db_url, make_client, private_tmp) -> None:
    tokens = create_tokens(db_url)
    with make_client(db_url, max_upload_bytes=MiB) as client:
        doc = _square_layer()
        doc["features"][0]["properties"]["padding"] = "x" * (2 * MiB)
        r = _post(client, tokens["planner"], "big.geojson", json.dumps(doc).encode())
        assert r.status_code == 413 and r.json()["code"] == "payload_too_large", r.text
        assert r.json()["detail"] == {"max_upload_bytes": MiB}
        # Under the bound, the same route imports.
        r = _post(client, tokens["planner"], "small.geojson", json.dumps(_square_layer()).encode())
        assert r.status_code == 201, r.text
    assert os.listdir(private_tmp) == []


# --- what still works, and how errors read ----------------------------------------------------------------


def test_plain_uploads_still_import(app, spy, private_tmp, shapefile_parts) -> None:
    client, tokens = app
    doc = json.dumps(_square_layer(TERTIARY + "902")).encode()
    r = _post(client, tokens["planner"], "layer.json", b"\xef\xbb\xbf" + doc)  # a BOM, a .json name
    assert r.status_code == 201, r.text
    gen = r.json()["generation"]
    r = _post(client, tokens["planner"], "layer.zip", _zip({"layer.geojson": doc}), gen)
    assert r.status_code == 200 and r.json()["features"] == 1, r.text
    upper = {n.replace("grids", "GRIDS").upper(): d for n, d in shapefile_parts.items()}
    r = _post(client, tokens["planner"], "layer.zip", _zip(upper), gen)
    assert r.status_code == 200 and r.json()["features"] == 1, r.text
    named = _square_layer()
    named["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    r = _post(client, tokens["planner"], "layer.geojson", json.dumps(named).encode(), gen)
    assert r.status_code == 200, r.text
    client.delete(f"/generations/{gen}", headers=bearer(tokens["planner"]))
    assert os.listdir(private_tmp) == [] and spy.hits == []


@pytest.mark.parametrize("fmt", ["geojson", "gpkg"])
def test_a_gdal_failure_reads_as_a_fixed_message(app, spy, private_tmp, tmp_path, fmt) -> None:
    """Files that pass the checks but that GDAL cannot read: its text (with server paths) is not shown."""
    if fmt == "geojson":
        content = json.dumps({"type": "FeatureCollection", "features": {"not": "a list"}}).encode()
    else:
        import geopandas as gpd

        path = tmp_path / "grids.gpkg"
        doc = _square_layer()
        gpd.GeoDataFrame.from_features(doc["features"], crs=4326).to_file(path, driver="GPKG", layer="grids")
        con = sqlite3.connect(path)
        con.execute("DROP TABLE rtree_grids_geom")
        con.execute("DROP TABLE grids")  # gpkg_contents still names it
        con.commit()
        con.close()
        content = path.read_bytes()
    body = _refused(app, spy, private_tmp, f"grids.{fmt}", content, 422)
    label = {"geojson": "GeoJSON", "gpkg": "GeoPackage"}[fmt]
    assert body == {
        "code": "import_failed",
        "message": f"grids.{fmt}：无法按 {label} 读取（文件损坏或内容不完整）；未导入任何内容",
        "detail": {"format": fmt},
    }


@pytest.mark.parametrize("crs", ["+init=/etc/passwd:x", "/etc/passwd", "http://127.0.0.1:9/crs"])
def test_a_crs_that_is_a_path_or_url_is_refused(app, spy, private_tmp, crs) -> None:
    body = _refused(
        app, spy, private_tmp, "layer.geojson", json.dumps(_square_layer()).encode(), 422, crs=crs
    )
    assert body["code"] == "invalid_input"


def test_the_cli_refuses_the_same_files(tmp_path, db_url, monkeypatch, spy) -> None:
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", db_url)
    for name, content in [
        ("evil.geojson", _vrt("CSV:/etc/passwd")),
        ("evil.zip", _zip({"../evil.shp": b"x", "evil.shx": b"x", "evil.dbf": b"x"})),
        ("remote.geojson", _vrt(f"/vsicurl/{spy.url}/x.geojson")),
    ]:
        path = tmp_path / name
        path.write_bytes(content)
        result = runner.invoke(cli_app, ["import", "boundaries", str(path), "--level", "micro"])
        assert result.exit_code == 2, result.output
        assert "只接受" in result.output and "root:" not in result.output
    assert spy.hits == []


def test_openapi_still_describes_the_form(app) -> None:
    client, _ = app
    doc = client.get("/openapi.json").json()
    for path in ("/generations/import", "/generations/{generation_id}/import"):
        body = doc["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert body["properties"]["file"]["format"] == "binary"
        assert {"level", "code_field", "name_field", "parent_field", "parent_code", "crs"} <= set(
            body["properties"]
        )
        assert body["required"] == ["file", "level"]


def test_a_missing_or_bad_form_field_is_a_422(app) -> None:
    client, tokens = app
    doc = json.dumps(_square_layer()).encode()
    r = client.post("/generations/import", data={"level": "micro"}, headers=bearer(tokens["planner"]))
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    r = _post(client, tokens["planner"], "layer.geojson", doc, level="street")
    assert r.status_code == 422 and "level" in r.json()["message"]


# --- authentication before the body ----------------------------------------------------------------------


@pytest.fixture
def live_server(db_url: str) -> Iterator[tuple[int, dict[str, str]]]:
    """The app under a real uvicorn (the test client would read the whole body before the app runs)."""
    from geo_grid.api.app import create_app

    tokens = create_tokens(db_url)
    port = free_port()
    app = create_app(Settings(database_url=db_url, max_upload_bytes=MiB))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield port, tokens
    server.should_exit = True
    thread.join(15)


def _stream_upload(port: int, headers: dict[str, str], total: int, chunked: bool = False) -> tuple[int, int]:
    """Send a `total`-byte multipart upload as fast as the server accepts it; stop when it answers.
    Returns (HTTP status, body bytes sent)."""
    boundary = "geogridboundary"
    prelude = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.geojson"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    lines = [
        "POST /generations/import HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Content-Type: multipart/form-data; boundary={boundary}",
        "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sock.setblocking(False)
        block = b"\0" * (256 * 1024)
        sent, pending = 0, b""
        deadline = time.monotonic() + 60
        while sent < total and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable:
                break
            if writable:
                if not pending:
                    data = prelude if sent == 0 else block
                    pending = b"%x\r\n%s\r\n" % (len(data), data) if chunked else data
                try:
                    n = sock.send(pending)
                except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                    continue
                pending = pending[n:]
                sent += n
        sock.setblocking(True)
        head = sock.recv(65536).decode("latin-1")
    return int(head.split(" ", 2)[1]), sent


def test_an_anonymous_upload_is_refused_before_its_body_is_read(live_server) -> None:
    port, tokens = live_server
    # Above the route's bound (MAX_UPLOAD_BYTES, 100 MiB) but below the outer body limit of api/limits.py
    # (256 MiB, which answers a larger declared length 413 at once): the route must refuse on the token.
    total = 200 * MiB
    for headers, status in [({}, 401), (bearer(tokens["dispatcher"]), 403)]:
        got, sent = _stream_upload(port, headers, total)
        print(
            f"{status}: the server took {sent / MiB:.1f} MiB of a {total // MiB} MiB upload before answering"
        )
        assert got == status
        assert sent < 32 * MiB  # what the sockets buffer, not the body


def test_a_planner_upload_over_the_bound_stops_early(live_server) -> None:
    port, tokens = live_server
    total = 300 * MiB
    got, sent = _stream_upload(port, bearer(tokens["planner"]), total)  # declared too large: not read at all
    assert got == 413 and sent < 32 * MiB
    got, sent = _stream_upload(
        port, bearer(tokens["planner"]), total, chunked=True
    )  # streamed until the bound
    print(f"chunked: 413 after {sent / MiB:.1f} MiB of {total // MiB} MiB (bound 1 MiB)")
    assert got == 413 and sent < 32 * MiB
