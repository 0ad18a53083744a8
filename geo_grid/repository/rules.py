"""Domain rules as SQL fragments, derived from their one definition so that no query re-lists them."""

from __future__ import annotations

from collections.abc import Iterable

from geo_grid import reporting


def sql_list(values: Iterable[str]) -> str:
    """`('a', 'b')` for `IN`: only for the code's own constants (status names), never for user input."""
    return "(" + ", ".join(f"'{v}'" for v in sorted(values)) + ")"


# Statuses in which a report is no longer open (reporting.TERMINAL) and those not counted as "to handle"
# by the rates (reporting.NOT_HANDLED).
TERMINAL = sql_list(reporting.TERMINAL)
NOT_HANDLED = sql_list(reporting.NOT_HANDLED)


def is_open(alias: str = "r") -> str:
    return f"{alias}.status NOT IN {TERMINAL}"


def covering_micro(point: str, gen: str = "gen") -> str:
    """The lookup rule in SQL, the ground truth of the in-memory index (geo_grid/lookup.py): the micro-grid
    of generation `:{gen}` whose polygon covers `point` (boundary included), ties → the smallest code.
    Invalid draft geometries are skipped because GEOS cannot answer covers() on them."""
    return f"""SELECT g.code, g.parent_code, g.community_code FROM grids g
WHERE g.generation_id = :{gen} AND g.level = 'micro' AND ST_Covers(g.geom, {point})
  AND (NOT g.in_draft OR ST_IsValid(g.geom))
ORDER BY g.code LIMIT 1"""
