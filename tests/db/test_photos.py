"""Report photos (issue 13): accepted only when the content is a JPEG, PNG or WebP that decodes within the
pixel limit; stored re-encoded without EXIF, with a thumbnail, under the photos directory; served only to
those the privacy policy lets see the report's photos (privacy.photos_visible)."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.support.accounts import create_token, create_user, login
from tests.support.api import bearer
from tests.support.report_helpers import interior_point
from tests.support.sql import query as _query

MICRO = "410105012004003005"
GPS_IFD = 0x8825


def _image(fmt: str, size: tuple[int, int] = (800, 600), mode: str = "RGB", exif: bool = True) -> bytes:
    img = Image.new(mode, size, (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30))
    for x in range(0, size[0], 50):  # some content, so that re-encoding has something to keep
        img.paste((20, 120, 220) if mode == "RGB" else (20, 120, 220, 255), (x, 0, x + 20, size[1]))
    out = io.BytesIO()
    kwargs: dict[str, Any] = {}
    if exif:
        ex = Image.Exif()
        ex[0x010F] = "SecretCam"  # Make
        ex[0x0131] = "geo-leak-test"  # Software
        ex[0x0112] = 1  # Orientation
        ex.get_ifd(GPS_IFD)[2] = (34.0, 45.0, 30.0)  # GPSLatitude
        kwargs["exif"] = ex
    img.save(out, fmt, **kwargs)
    return out.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that declares `width`×`height` (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def env(
    db_factory: Callable[[], str], make_client: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    url = db_factory()
    photos = tmp_path_factory.mktemp("photos")
    with make_client(url, photos_dir=photos, rate_anonymous_writes_per_min=0, photo_max_bytes=2 << 20,
                     body_limit_photo_bytes=3 << 20, photo_max_pixels=20_000_000) as client:  # fmt: skip
        lon, lat = interior_point(MICRO)
        made = client.post(
            "/reports", json={"category": "noise", "channel": "hotline", "lon": lon, "lat": lat}
        )
        assert made.status_code == 201
        sensitive = _query(url, "SELECT id FROM reports WHERE category = 'elderly_fraud' LIMIT 1")[0].id
        yield {
            "client": client, "url": url, "dir": photos,
            "report": made.json()["id"], "tracking": made.json()["tracking_code"], "sensitive": sensitive,
            "dispatcher": create_token(url, "dispatcher", "photo-dispatcher"),
            "worker": create_token(url, "grid_worker", "photo-worker"),
            "planner": create_token(url, "planner", "photo-planner"),
        }  # fmt: skip


def _upload(
    client: TestClient, rid: int, data: bytes, token: str | None, name: str = "p.jpg", **kw: Any
) -> Any:
    headers = bearer(token) if token else {}
    return client.post(
        f"/reports/{rid}/photos", files={"file": (name, data, "image/jpeg")}, headers=headers, **kw
    )


@pytest.mark.parametrize(("fmt", "mode", "stored"), [
    ("JPEG", "RGB", "image/jpeg"), ("PNG", "RGB", "image/jpeg"), ("WEBP", "RGB", "image/jpeg"),
    ("PNG", "RGBA", "image/webp"), ("WEBP", "RGBA", "image/webp"),
])  # fmt: skip
def test_valid_photos_are_stored_re_encoded_without_exif(
    env: dict[str, Any], fmt: str, mode: str, stored: str
) -> None:
    client = env["client"]
    original = _image(fmt, mode=mode)
    if fmt == "JPEG":
        assert b"SecretCam" in original  # the EXIF is really there before
    r = _upload(client, env["report"], original, env["worker"])
    assert r.status_code == 201, r.text
    photo = r.json()
    assert photo["content_type"] == stored and (photo["width"], photo["height"]) == (800, 600)
    body = client.get(photo["url"], headers=bearer(env["dispatcher"]))
    assert body.status_code == 200 and body.headers["content-type"] == stored
    assert b"SecretCam" not in body.content and b"geo-leak-test" not in body.content
    served = Image.open(io.BytesIO(body.content))
    assert not served.getexif() and served.size == (800, 600)
    assert "exif" not in served.info and "icc_profile" not in served.info
    thumb = client.get(photo["thumb_url"], headers=bearer(env["dispatcher"]))
    assert thumb.status_code == 200
    assert max(Image.open(io.BytesIO(thumb.content)).size) == 320
    row = _query(env["url"], "SELECT * FROM photos WHERE id = :i", i=photo["id"])[0]
    on_disk = Path(env["dir"]) / row.path
    assert on_disk.read_bytes() == body.content and (Path(env["dir"]) / row.thumb_path).is_file()
    assert row.uploaded_by == "photo-worker" and row.report_id == env["report"]


def test_large_photos_are_scaled_down_and_exif_orientation_applied(env: dict[str, Any]) -> None:
    img = Image.new("RGB", (4000, 1000), (10, 200, 10))
    ex = Image.Exif()
    ex[0x0112] = 6  # rotate 90° clockwise to display
    out = io.BytesIO()
    img.save(out, "JPEG", exif=ex)
    r = _upload(env["client"], env["report"], out.getvalue(), env["dispatcher"])
    assert r.status_code == 201, r.text
    assert (r.json()["width"], r.json()["height"]) == (640, 2560)  # upright, longest side 2560


def test_appended_payload_is_dropped(env: dict[str, Any]) -> None:
    """A JPEG with a ZIP/HTML appended (a polyglot that decodes): only the pixels are kept."""
    payload = b"<html><script>alert(1)</script></html>PK\x03\x04"
    r = _upload(env["client"], env["report"], _image("JPEG") + payload, env["dispatcher"])
    assert r.status_code == 201
    body = env["client"].get(r.json()["url"], headers=bearer(env["dispatcher"])).content
    assert b"<script>" not in body and b"PK\x03\x04" not in body


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    return out.getvalue()


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'


@pytest.mark.parametrize(("name", "data"), [
    ("gif", _gif()),
    ("svg", SVG),
    ("html", b"<html><body>not a photo</body></html>"),
    ("polyglot: JPEG magic, then HTML", b"\xff\xd8\xff\xe0<html><script>alert(1)</script></html>" * 4),
    ("polyglot: PNG signature, then a script", b"\x89PNG\r\n\x1a\n<script>alert(1)</script>"),
    ("truncated JPEG", _image("JPEG")[:400]),
    ("bomb beyond Pillow's own limit", _png_header_only(60_000, 60_000)),
    ("bomb beyond the setting", _png_header_only(6_000, 6_000)),
    ("empty", b""),
])  # fmt: skip
def test_anything_else_is_refused(env: dict[str, Any], name: str, data: bytes) -> None:
    before = _query(env["url"], "SELECT count(*) AS n FROM photos")[0].n
    r = _upload(env["client"], env["report"], data, env["dispatcher"])
    assert r.status_code == 415 and r.json()["code"] == "invalid_image", (name, r.text)
    assert "JPEG、PNG 或 WebP" in r.json()["message"]
    assert _query(env["url"], "SELECT count(*) AS n FROM photos")[0].n == before


def test_oversized_uploads_are_refused(env: dict[str, Any]) -> None:
    client = env["client"]
    # The file above GEO_GRID_PHOTO_MAX_BYTES (2 MiB here), the body within the route's body limit.
    big = _upload(client, env["report"], b"\xff\xd8\xff" + b"\0" * (2 << 20), env["dispatcher"])
    assert big.status_code == 413 and big.json()["code"] == "payload_too_large"
    # A body above the photo routes' body limit (3 MiB here) is refused before it is read.
    huge = _upload(client, env["report"], b"\xff\xd8\xff" + b"\0" * (4 << 20), env["dispatcher"])
    assert huge.status_code == 413 and huge.json()["detail"]["limit_bytes"] == 3 << 20


def test_who_may_upload(env: dict[str, Any]) -> None:
    client, rid = env["client"], env["report"]
    jpeg = _image("JPEG", exif=False)
    assert _upload(client, rid, jpeg, None).status_code == 401
    assert _upload(client, rid, jpeg, env["planner"]).status_code == 403
    assert _upload(client, 10**12, jpeg, env["dispatcher"]).status_code == 404
    # A grid worker cannot see a sensitive report, so cannot add to it; a dispatcher can.
    assert _upload(client, env["sensitive"], jpeg, env["worker"]).status_code == 404
    assert _upload(client, env["sensitive"], jpeg, env["dispatcher"]).status_code == 201


def test_who_may_see(env: dict[str, Any]) -> None:
    client, rid = env["client"], env["report"]
    jpeg = _image("JPEG", exif=False)
    photo = _upload(client, rid, jpeg, env["dispatcher"]).json()
    secret = _upload(client, env["sensitive"], jpeg, env["dispatcher"]).json()
    for url in (photo["url"], photo["thumb_url"]):
        assert client.get(url).status_code == 404  # the public: no photos
        for who in ("dispatcher", "worker", "planner"):
            assert client.get(url, headers=bearer(env[who])).status_code == 200, who
        # The reporter, with the tracking code (header or link); a wrong code is refused.
        assert client.get(url, headers={"X-Tracking-Code": env["tracking"]}).status_code == 200
        assert client.get(url, params={"tracking_code": env["tracking"]}).status_code == 200
        assert client.get(url, headers={"X-Tracking-Code": "wrong"}).status_code == 403
    assert client.get(secret["url"], headers=bearer(env["worker"])).status_code == 404
    assert client.get(secret["url"], headers=bearer(env["dispatcher"])).status_code == 200
    assert client.get("/photos/999999999", headers=bearer(env["dispatcher"])).status_code == 404
    # The listing follows the same policy.
    listed = client.get(f"/reports/{rid}/photos", headers=bearer(env["worker"]))
    assert listed.status_code == 200 and photo["id"] in [p["id"] for p in listed.json()]
    assert client.get(f"/reports/{rid}/photos").status_code == 404
    assert (
        client.get(f"/reports/{rid}/photos", headers={"X-Tracking-Code": env["tracking"]}).status_code == 200
    )
    assert client.get(f"/reports/{env['sensitive']}/photos", headers=bearer(env["worker"])).status_code == 404


def test_upload_with_a_session_needs_the_csrf_token(env: dict[str, Any]) -> None:
    create_user(env["url"], "photo_worker", "grid_worker")
    browser = TestClient(env["client"].app)
    csrf = login(browser, "photo_worker")
    jpeg = _image("JPEG", exif=False)
    url = f"/reports/{env['report']}/photos"
    refused = browser.post(url, files={"file": ("p.jpg", jpeg, "image/jpeg")})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    by_field = browser.post(url, files={"file": ("p.jpg", jpeg, "image/jpeg")}, data={"csrf_token": csrf})
    assert by_field.status_code == 201, by_field.text
    by_header = browser.post(
        url, files={"file": ("p.jpg", jpeg, "image/jpeg")}, headers={"X-CSRF-Token": csrf}
    )
    assert by_header.status_code == 201
    assert by_header.json()["uploaded_by"] == "测试photo_worker（photo_worker）"
    assert browser.get(by_header.json()["url"]).status_code == 200


def test_the_reporter_adds_photos_with_the_tracking_code_until_accepted(env: dict[str, Any]) -> None:
    """The reporter (X-Tracking-Code, no account) may add photos to their own report while it is 上报, at
    most 3 in all (services/photos.REPORTER_PHOTO_MAX); the content checks are the same as for staff."""
    client = env["client"]
    lon, lat = interior_point(MICRO)
    made = client.post(
        "/reports", json={"category": "noise", "channel": "public_account", "lon": lon, "lat": lat}
    )
    assert made.status_code == 201
    rid, code = made.json()["id"], made.json()["tracking_code"]
    jpeg = _image("JPEG")

    def as_reporter(data: bytes, tracking: str, report: int = rid) -> Any:
        return client.post(
            f"/reports/{report}/photos",
            files={"file": ("p.jpg", data, "image/jpeg")},
            headers={"X-Tracking-Code": tracking},
        )

    assert as_reporter(jpeg, "wrong").status_code == 403
    # Another report's code does not open this one.
    assert as_reporter(jpeg, code, report=env["report"]).status_code == 403
    assert as_reporter(b"not an image", code).status_code == 415
    first = as_reporter(jpeg, code)
    assert first.status_code == 201, first.text
    assert first.json()["uploaded_by"] == "上报人" and first.json()["report_id"] == rid
    stored = (
        env["dir"] / _query(env["url"], "SELECT path FROM photos WHERE id = :i", i=first.json()["id"])[0].path
    )
    assert b"SecretCam" not in stored.read_bytes()  # re-encoded without EXIF, as for staff
    for _ in range(2):
        assert as_reporter(_image("PNG", exif=False), code).status_code == 201
    fourth = as_reporter(jpeg, code)
    assert fourth.status_code == 409 and fourth.json()["code"] == "reporter_photo_refused"
    assert "最多" in fourth.json()["message"] and fourth.json()["detail"]["limit"] == 3
    listed = client.get(f"/reports/{rid}/photos", headers={"X-Tracking-Code": code})
    assert listed.status_code == 200 and len(listed.json()) == 3

    # Once the centre has accepted a report, the reporter's upload is refused (staff may still add).
    other = client.post(
        "/reports", json={"category": "noise", "channel": "public_account", "lon": lon, "lat": lat}
    )
    oid, ocode = other.json()["id"], other.json()["tracking_code"]
    moved = client.post(
        f"/reports/{oid}/transitions", json={"to": "accepted"}, headers=bearer(env["dispatcher"])
    )
    assert moved.status_code == 200, moved.text
    late = as_reporter(jpeg, ocode, report=oid)
    assert late.status_code == 409 and late.json()["code"] == "reporter_photo_refused"
    assert "已被受理" in late.json()["message"] and late.json()["detail"]["status"] == "accepted"
    assert _upload(client, oid, jpeg, env["dispatcher"]).status_code == 201
    # A tracking code does not stand in for a role on someone else's report, and no code is still 401.
    assert as_reporter(jpeg, ocode, report=10**12).status_code == 404
    assert _upload(client, oid, jpeg, None).status_code == 401
