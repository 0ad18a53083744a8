"""Open an uploaded boundary file only as GeoJSON, GeoPackage or a zipped Shapefile, never anything else.

GDAL guesses a format from a file's content, and some formats read other files or the network: a GDAL
VRT (XML) whose source is `CSV:/etc/passwd` or `/vsicurl/http://…`, a GeoJSON whose `crs` is a `link`
(GDAL fetches the URL), a zip opened through `/vsizip/`. So the content is checked here, in Python,
before GDAL sees it, and GDAL is then told the driver:

- GeoJSON: UTF-8 JSON text whose first character is `{`, that parses, whose `type` is FeatureCollection or
  Feature, and whose only `crs` (if any) is a top-level `{"type": "name"}` naming an EPSG/OGC code.
  Opened as `GeoJSON:<path>` (GDAL's GeoJSON driver and nothing else).
- GeoPackage: an SQLite file whose application_id is GPKG/GP10/GP11, inspected read-only (immutable)
  with Python's sqlite3 first: no views and no virtual tables other than the R-tree spatial index.
  Opened as `GPKG:<path>`.
- zip: its member list is checked BEFORE anything is extracted: at most `max_members` entries, plain
  names (no `/`, `\\`, `..`, `.`, drive or absolute names), only .shp/.shx/.dbf/.prj/.cpg/.qix of ONE
  Shapefile (or exactly one .geojson/.json/.gpkg, checked again as above once extracted), no encryption,
  total uncompressed size under `max_unpacked_bytes` and no member compressed more than `max_ratio`
  times (a zip bomb is refused without inflating a byte). The members are then copied, under names this
  module chooses (`layer.shp`, …), into a directory the caller created; .shp/.shx must start with the
  Shapefile file code.

Every refusal is UnsupportedFormat (415) or PayloadTooLarge (413) with a Chinese message that names the
upload as the user called it, never a server path or GDAL's own text.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from geo_grid.errors import PayloadTooLarge, UnsupportedFormat

GDAL_DRIVERS = {"geojson": "GeoJSON", "gpkg": "GPKG", "shp": "ESRI Shapefile"}
FORMAT_LABELS = {"geojson": "GeoJSON", "gpkg": "GeoPackage", "shp": "Shapefile"}
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix")
SHAPEFILE_REQUIRED = (".shp", ".shx", ".dbf")
SINGLE_FILE_MEMBERS = (".geojson", ".json", ".gpkg")
GPKG_APPLICATION_IDS = (b"GPKG", b"GP10", b"GP11")
SQLITE_MAGIC = b"SQLite format 3\x00"
SHAPEFILE_FILE_CODE = 9994
# What GDAL writes and what planners' tools write: urn:ogc:def:crs:EPSG::4547, …:OGC:1.3:CRS84, EPSG:4326.
SAFE_CRS_NAME = re.compile(r"^(urn:ogc:def:crs:[a-z]+:[0-9.]*:[a-z0-9_]+|epsg:\d{1,6})$", re.IGNORECASE)
ACCEPTED = "只接受 GeoJSON、GeoPackage（.gpkg）或 Shapefile 压缩包（.zip，内含 .shp/.shx/.dbf 等）"


@dataclass(frozen=True)
class Limits:
    """Bounds on what a zip may unpack to."""

    max_members: int = 16
    max_unpacked_bytes: int = 400 * 2**20
    max_ratio: float = 200.0  # uncompressed / compressed, checked for members over ratio_floor_bytes
    ratio_floor_bytes: int = 2**20

    @classmethod
    def for_upload_bound(cls, max_upload_bytes: int) -> Limits:
        """A zip may unpack to four times the largest upload (Settings.max_upload_bytes)."""
        return cls(max_unpacked_bytes=4 * max_upload_bytes)


@dataclass(frozen=True)
class Opened:
    """A checked file: its format and the path to hand GDAL (driver-prefixed where GDAL allows it)."""

    fmt: str  # geojson | gpkg | shp
    gdal_path: str

    @property
    def driver(self) -> str:
        return GDAL_DRIVERS[self.fmt]


def display_name(filename: str | None, default: str = "上传的文件") -> str:
    """The user's own file name, for messages: its last component, printable, at most 80 characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable())[:80].strip()
    return name if name not in ("", ".", "..") else default


def _refuse(name: str, why: str) -> UnsupportedFormat:
    return UnsupportedFormat(f"{name}：{why}。{ACCEPTED}。")


def sniff(path: Path) -> str:
    """geojson | gpkg | zip, from the first bytes; anything else is refused."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(SQLITE_MAGIC):
        return "gpkg"
    if head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n").startswith(b"{"):
        return "geojson"
    return "unknown"


def _ignore(_: str) -> None:
    return None


def check_geojson(path: Path, name: str) -> None:
    """UTF-8 JSON, a FeatureCollection or Feature, no `crs` GDAL would fetch or read from a file."""
    try:
        # Numbers are not needed for the check: one shared None keeps a big file's parse small.
        doc = json.loads(
            path.read_bytes().decode("utf-8-sig"),
            parse_float=_ignore,
            parse_int=_ignore,
            parse_constant=_ignore,
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _refuse(name, "不是有效的 GeoJSON（JSON 无法解析或不是 UTF-8 编码）") from None
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise _refuse(name, "JSON 不是 GeoJSON 的 FeatureCollection 或 Feature")
    if "crs" in doc:
        crs = doc["crs"]
        props = crs.get("properties") if isinstance(crs, dict) else None
        crs_name = props.get("name") if isinstance(props, dict) else None
        named = isinstance(crs, dict) and crs.get("type") == "name"
        if not (named and isinstance(crs_name, str) and SAFE_CRS_NAME.match(crs_name)):
            raise _refuse(name, "GeoJSON 的 crs 只能以名称声明 EPSG/OGC 坐标系（不接受链接或文件）")
    # A `crs` inside a feature or geometry (GeoJSON 2008) is honoured by GDAL too, links included.
    stack: list[Any] = [v for k, v in doc.items() if k not in ("crs", "properties", "coordinates")]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(x for x in item if isinstance(x, dict | list))
        elif isinstance(item, dict):
            if "crs" in item:
                raise _refuse(name, "GeoJSON 的要素或几何中不能声明 crs")
            stack.extend(v for k, v in item.items() if k not in ("properties", "coordinates"))


def check_gpkg(path: Path, name: str) -> None:
    """An SQLite file marked as GeoPackage, with no views and no virtual tables but R-tree indexes."""
    with open(path, "rb") as fh:
        head = fh.read(100)
    if len(head) < 100 or not head.startswith(SQLITE_MAGIC):
        raise _refuse(name, "不是 GeoPackage 文件")
    if head[68:72] not in GPKG_APPLICATION_IDS:
        raise _refuse(name, "是 SQLite 数据库，但不是 GeoPackage")
    uri = path.resolve().as_uri() + "?mode=ro&immutable=1"
    try:
        con = sqlite3.connect(uri, uri=True)
        try:
            rows = con.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        raise _refuse(name, "GeoPackage 文件已损坏，无法读取其结构") from None
    for kind, obj, sql in rows:
        if kind == "view":
            raise _refuse(name, f"GeoPackage 含视图 {str(obj)[:60]!r}，不予读取")
        if (
            kind == "table"
            and isinstance(sql, str)
            and re.match(r"\s*CREATE\s+VIRTUAL\s+TABLE", sql, re.IGNORECASE)
            and not re.search(r"\bUSING\s+rtree\s*\(", sql, re.IGNORECASE)
        ):
            raise _refuse(name, f"GeoPackage 含虚拟表 {str(obj)[:60]!r}，不予读取")


def _member_name_ok(member: str) -> bool:
    if member in ("", ".", "..") or any(c in member for c in "/\\:\x00"):
        return False
    return PurePosixPath(member).name == member and not member.startswith(".")


def check_zip(path: Path, name: str, limits: Limits) -> list[zipfile.ZipInfo]:
    """The members to extract, checked from the central directory alone (nothing is inflated)."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _refuse(name, "压缩包已损坏，无法读取") from None
    if not infos:
        raise _refuse(name, "压缩包是空的")
    if len(infos) > limits.max_members:
        raise _refuse(name, f"压缩包内文件过多（{len(infos)} 个，至多 {limits.max_members} 个）")
    seen: set[str] = set()
    total = 0
    for info in infos:
        member = info.filename
        if not _member_name_ok(member):
            raise _refuse(
                name, f"压缩包内的文件名 {member[:60]!r} 不可接受（须直接放在压缩包根目录，不能含路径）"
            )
        if member.lower() in seen:
            raise _refuse(name, f"压缩包内有重名文件 {member[:60]!r}")
        seen.add(member.lower())
        suffix = PurePosixPath(member).suffix.lower()
        if suffix not in SHAPEFILE_PARTS + SINGLE_FILE_MEMBERS:
            raise _refuse(name, f"压缩包内的 {member[:60]!r} 不是 Shapefile 的组成文件")
        if info.flag_bits & 0x1:
            raise _refuse(name, "压缩包已加密")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _refuse(name, "压缩包只接受 stored 或 deflate 压缩")
        total += info.file_size
        if total > limits.max_unpacked_bytes:
            raise PayloadTooLarge(
                f"{name}：压缩包解压后超过 {limits.max_unpacked_bytes // 2**20} MiB，不予解压",
                {"max_unpacked_bytes": limits.max_unpacked_bytes},
            )
        if info.file_size > limits.ratio_floor_bytes and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise PayloadTooLarge(
                f"{name}：压缩包内 {member[:60]!r} 的压缩比异常（疑似压缩炸弹），不予解压",
                {"max_ratio": limits.max_ratio},
            )
    suffixes = [PurePosixPath(i.filename).suffix.lower() for i in infos]
    singles = [s for s in suffixes if s in SINGLE_FILE_MEMBERS]
    if singles:
        if len(infos) != 1:
            raise _refuse(name, "压缩包内只能有一个 .geojson/.json/.gpkg 文件，或一个 Shapefile")
        return infos
    stems = {PurePosixPath(i.filename).stem.lower() for i in infos}
    if len(stems) != 1 or any(suffixes.count(s) != 1 for s in SHAPEFILE_REQUIRED):
        raise _refuse(name, "压缩包内须恰好有一个 Shapefile（同名的 .shp、.shx、.dbf，可带 .prj、.cpg）")
    return infos


def extract_zip(path: Path, infos: list[zipfile.ZipInfo], dest: Path, name: str, limits: Limits) -> Path:
    """Copy the checked members into `dest` as layer.<ext>; returns the file to open (.shp or the single)."""
    written = 0
    out_paths: dict[str, Path] = {}
    with zipfile.ZipFile(path) as zf:
        for info in infos:
            suffix = PurePosixPath(info.filename).suffix.lower()
            target = dest / f"layer{suffix}"
            try:
                with zf.open(info) as src, open(target, "xb") as out:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > limits.max_unpacked_bytes:
                            raise PayloadTooLarge(
                                f"{name}：压缩包解压后超过 {limits.max_unpacked_bytes // 2**20} MiB"
                            )
                        out.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, zipfile.LargeZipFile):
                raise _refuse(name, "压缩包已损坏，无法解压") from None
            out_paths[suffix] = target
    if ".shp" not in out_paths:
        return next(iter(out_paths.values()))
    for part in (".shp", ".shx"):
        with open(out_paths[part], "rb") as fh:
            head = fh.read(4)
        if len(head) < 4 or struct.unpack(">i", head)[0] != SHAPEFILE_FILE_CODE:
            raise _refuse(name, f"压缩包内的 {part} 文件不是 Shapefile")
    return out_paths[".shp"]


def _check_plain(path: Path, name: str) -> Opened:
    kind = sniff(path)
    if kind == "geojson":
        check_geojson(path, name)
        return Opened("geojson", f"GeoJSON:{path.resolve()}")
    if kind == "gpkg":
        check_gpkg(path, name)
        return Opened("gpkg", f"GPKG:{path.resolve()}")
    if kind == "zip":
        raise _refuse(name, "压缩包内不能再套压缩包")
    raise _refuse(name, "文件格式不受支持")


def prepare(path: Path, workdir: Path, name: str, limits: Limits | None = None) -> Opened:
    """Check `path` (a regular local file) and return what GDAL may open; zips are unpacked into
    `workdir`, a private directory the caller created and removes. Raises UnsupportedFormat /
    PayloadTooLarge."""
    limits = limits or Limits()
    if not path.is_file():
        raise _refuse(name, "不是普通文件")
    kind = sniff(path)
    if kind != "zip":
        if ":" in str(path.resolve()):
            # GDAL's GPKG:<file>:<table> syntax would split such a name; read a copy instead.
            copy = workdir / "upload.copy"
            shutil.copyfile(path, copy)
            path = copy
        return _check_plain(path, name)
    infos = check_zip(path, name, limits)
    inner = extract_zip(path, infos, workdir, name, limits)
    if inner.suffix == ".shp":
        return Opened("shp", str(inner.resolve()))
    return _check_plain(inner, name)
