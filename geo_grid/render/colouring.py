"""Colour neighbouring grids differently: the adjacency graph of a polygon coverage, coloured by DSatur."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import shapely

# Ten soft, clearly distinct fills; four suffice for a planar map, DSatur rarely needs more than five.
PALETTE = (
    "#8dd3c7",
    "#fdb462",
    "#bebada",
    "#fb8072",
    "#80b1d3",
    "#b3de69",
    "#fccde5",
    "#ffed6f",
    "#bc80bd",
    "#ccebc5",
)


def adjacency(geoms: Sequence[Any]) -> list[set[int]]:
    """Neighbours share a stretch of boundary (or overlap, in a faulty draft); a single shared corner
    does not count, as on any political map."""
    tree = shapely.STRtree(list(geoms))
    left, right = tree.query(list(geoms), predicate="intersects")
    adj: list[set[int]] = [set() for _ in geoms]
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        a, b = geoms[i], geoms[j]
        shared = a.boundary.intersection(b.boundary)
        if shared.length > 0 or a.intersection(b).area > 0:
            adj[i].add(j)
            adj[j].add(i)
    return adj


def dsatur(adj: Sequence[set[int]]) -> list[int]:
    """Colour index per node; no two adjacent nodes share one. Deterministic (ties → lowest index).

    DSatur (Brélaz 1979): colour next the node whose neighbours already use the most distinct colours,
    then the one with most uncoloured neighbours; give it the smallest colour its neighbours do not use.
    """
    n = len(adj)
    colour = [-1] * n
    for _ in range(n):
        best = max(
            (i for i in range(n) if colour[i] < 0),
            key=lambda i: (len({colour[j] for j in adj[i] if colour[j] >= 0}), len(adj[i]), -i),
        )
        used = {colour[j] for j in adj[best]}
        colour[best] = next(c for c in range(n + 1) if c not in used)
    return colour


def colours_for(geoms: Sequence[Any], palette: Sequence[str] = PALETTE) -> list[str]:
    """A fill colour per polygon such that neighbours differ (cycling the palette if it ever ran out)."""
    return [palette[c % len(palette)] for c in dsatur(adjacency(geoms))]
