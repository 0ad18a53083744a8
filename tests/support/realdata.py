"""Locate the real public test data (see /work/shared/realdata/SOURCES.md) or skip with the reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ENV_VAR = "GEO_GRID_REALDATA_DIR"


def realdata_path(name: str) -> Path:
    """Path of real-data file `name`; skips the calling test when it is not available."""
    root = os.environ.get(ENV_VAR)
    if not root:
        pytest.skip(
            f"real-data test: set {ENV_VAR} to the real-data directory (CI uses /work/shared/realdata)"
        )
    path = Path(root) / name
    if not path.is_file():
        pytest.skip(f"real-data file {name} not found in {ENV_VAR}={root}")
    return path
