"""Bulk point → grid assignment of table chunks (geo-grid assign): the columns to add to each row.

Same rule as every lookup (geo_grid.lookup): the covering micro-grid, ties to the smallest code. A row
whose coordinates are missing, not numbers, infinite or out of range is kept and gets an `error`
instead of codes; it is never dropped, so the output has the input's rows in the input's order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo_grid import crs
from geo_grid.services.directory import GridDirectory

COLUMNS = ("micro_code", "tertiary_code", "community_code", "outside", "error")


class Assigner:
    """Holds the per-grid code columns of one directory so that each chunk is a few array lookups."""

    def __init__(self, directory: GridDirectory, crs_name: str = "wgs84") -> None:
        self.crs_name = crs.normalize_crs(crs_name)
        index = directory.index
        micro = [directory.grids[c] for c in index.codes]
        # position -1 (outside, error) indexes the trailing None
        self.micro = np.array([*index.codes, None], dtype=object)
        self.tertiary = np.array([*(g.parent_code for g in micro), None], dtype=object)
        self.community = np.array([*(g.community_code for g in micro), None], dtype=object)
        self.index = index

    def assign(self, lon: Any, lat: Any, problem: NDArray[Any] | None = None) -> dict[str, NDArray[Any]]:
        """Columns for one chunk. `lon`/`lat` may be text or numbers; `problem` carries reasons found
        before (e.g. a geometry that is not a point)."""
        (x, blank_x), (y, blank_y) = _numbers(lon), _numbers(lat)
        n = len(x)
        error = np.full(n, None, dtype=object) if problem is None else np.array(problem, dtype=object)
        blank = blank_x | blank_y
        ok = error == None  # noqa: E711 (element-wise comparison on an object array)
        error[ok & blank] = "missing coordinates"
        ok &= ~blank
        error[ok & (np.isnan(x) | np.isnan(y))] = "coordinates are not numbers"
        ok &= ~(np.isnan(x) | np.isnan(y))
        error[ok & (np.isinf(x) | np.isinf(y))] = "coordinates must be finite"
        ok &= np.isfinite(x) & np.isfinite(y)
        bad_range = ok & ((np.abs(x) > 180) | (np.abs(y) > 90))
        error[bad_range] = "out of range: lon must be in [-180, 180], lat in [-90, 90]"
        ok &= ~bad_range
        x = np.where(ok, x, np.nan)
        y = np.where(ok, y, np.nan)
        wx, wy = crs.to_wgs84(x, y, self.crs_name)
        pos = self.index.locate_many(wx, wy)
        outside = np.full(n, None, dtype=object)
        outside[ok] = pos[ok] < 0
        return {
            "micro_code": self.micro[pos],
            "tertiary_code": self.tertiary[pos],
            "community_code": self.community[pos],
            "outside": outside,
            "error": error,
        }


def _numbers(values: Any) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Floats (NaN where not a number) and where the value is missing (null, NaN or blank text)."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        x = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return x, np.isnan(x)
    x = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    text = series.astype(str).str.strip().to_numpy()
    return x, series.isna().to_numpy() | (text == "")
