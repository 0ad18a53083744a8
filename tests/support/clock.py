"""The suite's clock: the morning after the sample's newest report.

Every "now" of the service (Python and SQL) reads it, in this process and in the servers the tests start
(through GEO_GRID_NOW), so no result depends on the day the suite runs (tests/db/test_clock.py). The
sample is loaded with its files' times. tests/conftest.py calls `fix()` before any test is collected.
"""

from __future__ import annotations

import os
from datetime import datetime

from geo_grid import clock

TEST_NOW = "2026-11-01T09:00:00+08:00"


def fix() -> None:
    os.environ["GEO_GRID_NOW"] = TEST_NOW
    # The service's own sweep (red lights, 催办, parked cases) would write into the shared sample database
    # at a moment no test chooses; tests run it themselves (tests/db/test_case_handling.py).
    os.environ.setdefault("GEO_GRID_SWEEP_EVERY_S", "0")
    clock.configure(datetime.fromisoformat(TEST_NOW))
