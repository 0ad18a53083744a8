"""Read report files (CSV or GeoJSON points) for import; every problem names its row, nothing is guessed."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from geo_grid import reporting
from geo_grid.errors import ImportFailed
from geo_grid.reporting import NewReport

# The columns an import understands (the sample's reports.csv header); others are ignored.
FIELDS = (
    "report_id", "category", "description", "channel", "created_at", "lon", "lat", "crs", "status",
    "accepted_at", "closed_at", "solved", "rating", "address", "reporter_contact",
)  # fmt: skip
# Besides ISO 8601: the US style of many 311 exports (e.g. MyLA311: `1/1/20 0:05`).
TIME_FORMATS = ("%m/%d/%y %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p")
MAX_ERRORS = 20


@dataclass
class ReadOptions:
    """How to read a foreign file: column renames, category mapping, defaults, time zone of naive times."""

    columns: Mapping[str, str] = field(default_factory=dict)  # our field → the file's column
    category_map: Mapping[str, str] = field(default_factory=dict)  # the file's value → our category
    default_category: str | None = None
    default_channel: str | None = None
    crs: str = "wgs84"
    tz: str = "Asia/Shanghai"
    # Rows without coordinates: refused (default) or taken without a point, flagged outside (→ 街道中心).
    allow_missing_point: bool = False
    # The category codes the database knows (services/categories.py); None: the map's targets and the
    # default are the known ones, and any other value is checked when the rows are stored.
    categories: Collection[str] | None = None


@dataclass(frozen=True)
class ImportRow:
    where: str  # "line 7 (R00006)" / "feature 3": how an error names the row
    report: NewReport


def _raw_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    if path.suffix.lower() in (".geojson", ".json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as exc:
            raise ImportFailed(f"{path.name}: not readable GeoJSON: {exc}") from exc
        if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
            raise ImportFailed(f"{path.name}: a GeoJSON FeatureCollection of points is expected")
        for n, feature in enumerate(data.get("features") or [], start=1):
            props = dict(feature.get("properties") or {})
            geom = feature.get("geometry")
            if geom is not None:
                if geom.get("type") != "Point" or len(geom.get("coordinates") or []) < 2:
                    props["__error"] = f"geometry must be a Point, not {geom.get('type')}"
                else:
                    props["__lon"], props["__lat"] = geom["coordinates"][:2]
            yield f"feature {n}", props
        return
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                yield f"line {reader.line_num}", dict(row)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ImportFailed(f"{path.name}: not a readable UTF-8 CSV file: {exc}") from exc


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def parse_time(value: str | None, tz: ZoneInfo) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        for fmt in TIME_FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"unreadable time {value!r} (ISO 8601 or M/D/YY H:MM)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    low = value.lower()
    if low in ("true", "1", "yes", "y", "t"):
        return True
    if low in ("false", "0", "no", "n", "f"):
        return False
    raise ValueError(f"solved must be true or false, not {value!r}")


def _float(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite")
    return number


def _row(raw: dict[str, Any], opts: ReadOptions, tz: ZoneInfo) -> NewReport:
    if raw.get("__error"):
        raise ValueError(raw["__error"])

    def get(name: str) -> str | None:
        return _text(raw.get(opts.columns.get(name, name)))

    source = get("category")
    category = opts.category_map.get(source, source) if source else None
    known = opts.categories
    if known is None and opts.default_category:
        known = {*opts.category_map.values(), opts.default_category}
    if category is None or (known is not None and category not in known):
        if not opts.default_category:
            raise ValueError(
                f"unknown category {source!r} (map it with --category-map or --default-category)"
            )
        category = opts.default_category
    channel = get("channel")
    if channel not in reporting.CHANNELS:
        if not opts.default_channel:
            raise ValueError(f"unknown channel {channel!r}; one of {', '.join(reporting.CHANNELS)}")
        channel = opts.default_channel
    created = parse_time(get("created_at"), tz)
    if created is None:
        raise ValueError("created_at is missing")
    if "__lon" in raw:
        lon_raw, lat_raw = raw["__lon"], raw["__lat"]
    else:
        lon_raw, lat_raw = get("lon"), get("lat")
    address = get("address")
    lon = lat = None
    if lon_raw is None or lat_raw is None:
        if not opts.allow_missing_point:
            raise ValueError(
                "no coordinates (lon/lat are blank); use --allow-missing-point to take it unlocated"
            )
        address = None  # an unlocated import is not geocoded: it goes to the centre as it is
    else:
        lon, lat = _float(lon_raw, "lon"), _float(lat_raw, "lat")
    status = get("status") or "reported"
    rating = get("rating")
    return NewReport(
        category=category,
        channel=channel,
        description=get("description") or "",
        lon=lon,
        lat=lat,
        crs=get("crs") or opts.crs,
        address=address if lon is None else None,
        reporter_contact=get("reporter_contact"),
        external_id=get("report_id"),
        created_at=created,
        status=status,
        accepted_at=parse_time(get("accepted_at"), tz),
        closed_at=parse_time(get("closed_at"), tz),
        solved=_bool(get("solved")),
        rating=int(_float(rating, "rating")) if rating is not None else None,
    )


def read_reports(path: str | Path, options: ReadOptions | None = None) -> list[ImportRow]:
    """Every row of the file as a NewReport; ImportFailed names the bad rows (up to MAX_ERRORS)."""
    path = Path(path)
    opts = options or ReadOptions()
    if not path.is_file():
        raise ImportFailed(f"no such file: {path}")
    tz = ZoneInfo(opts.tz)
    rows: list[ImportRow] = []
    errors: list[str] = []
    for where, raw in _raw_rows(path):
        rid = _text(raw.get(opts.columns.get("report_id", "report_id")))
        label = f"{where} ({rid})" if rid else where
        try:
            rows.append(ImportRow(label, _row(raw, opts, tz)))
        except ValueError as exc:
            errors.append(f"{label}: {exc}")
            if len(errors) >= MAX_ERRORS:
                break
    if errors:
        raise ImportFailed(f"{path.name}: {errors[0]}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
                           {"errors": errors})  # fmt: skip
    if not rows:
        raise ImportFailed(f"{path.name}: no reports in the file")
    return rows
