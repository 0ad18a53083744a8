"""The one way geo_grid writes CSV: UTF-8 with a BOM (so that Excel and WPS open Chinese text correctly)
and every text cell that a spreadsheet would run as a formula neutralised (OWASP "CSV injection").

A cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a leading `'`,
unless it is a plain number (`-113.5`, `+86` stay numbers). Every CSV reader of the project opens files
as `utf-8-sig`, so it reads these files (and files without a BOM) alike.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import IO, Any

BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def safe_cell(value: Any) -> Any:
    """A value ready for a CSV cell: None → "", datetimes in ISO 8601, formula-like text escaped."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def write_rows(fh: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]], bom: bool = True) -> None:
    """Write a header and rows to a text file opened with newline="" (the BOM first, unless appending)."""
    if bom:
        fh.write(BOM)
    writer = csv.writer(fh)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])


def to_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A whole CSV document as text (BOM included), e.g. for an HTTP response."""
    buf = io.StringIO(newline="")
    write_rows(buf, header, rows)
    return buf.getvalue()
