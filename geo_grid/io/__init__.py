"""File formats in and out: boundary layers (boundaries.py), report files (reports.py)."""
