"""The one datetime type of every API time input (`at`, `since`, `until`, body timestamps).

Users in 郑州 write local times: a time without a UTC offset means Beijing time (Asia/Shanghai, the tz
database zone, so historical offsets are right too). Every accepted value comes out timezone-aware in
UTC, which PostgreSQL stores as is; a value whose UTC instant falls outside Python's datetime range
(e.g. 0001-01-01T00:00:00+14:00, 9999-12-31T23:59:59-23:59) is refused as invalid input, never a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, WithJsonSchema

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

NAIVE_NOTE = "ISO 8601；不带时区偏移的时间按北京时间（Asia/Shanghai, UTC+8）理解"


def to_utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime; naive means Beijing time. ValueError when out of range."""
    aware = value if value.utcoffset() is not None else value.replace(tzinfo=LOCAL_TZ)
    try:
        return aware.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValueError(
            f"时间 {value.isoformat()} 换算成 UTC 后超出可表示的范围（0001-01-01 至 9999-12-31）"
        ) from exc


# Annotate a query parameter or a body field with this instead of `datetime`.
ApiDatetime = Annotated[
    datetime,
    AfterValidator(to_utc),
    WithJsonSchema({"type": "string", "format": "date-time", "description": NAIVE_NOTE}),
]
