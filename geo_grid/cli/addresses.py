"""`geo-grid import addresses FILE` and `geo-grid geocode INPUT -o OUTPUT` (standard address table)."""

from __future__ import annotations
