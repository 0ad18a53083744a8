"""The in-memory snapshot of the active generation: grids, people per grid and the point→grid index.

Built once at start-up and after each activation, never edited: a new snapshot is built aside and swapped
in with one reference assignment, so a lookup sees either the old or the new generation, never a mix.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import shapely
from sqlalchemy.orm import Session, sessionmaker

from geo_grid import clock
from geo_grid.lookup import GridIndex
from geo_grid.repository import communities as community_repo
from geo_grid.repository import generations as generation_repo
from geo_grid.repository import grids as grid_repo
from geo_grid.repository import people as people_repo
from geo_grid.repository import subdistricts as subdistrict_repo
from geo_grid.repository.people import PersonRole as PersonRole  # the record; re-exported for callers
from geo_grid.repository.subdistricts import Subdistrict
from geo_grid.services import subdistricts
from geo_grid.services.snapshots import SnapshotHolder


@dataclass(frozen=True)
class GridInfo:
    code: str
    name: str
    level: str
    parent_code: str
    community_code: str


@dataclass(frozen=True)
class GridDirectory:
    generation_id: int
    subdistrict: Subdistrict  # the generation's subdistrict (the root of every grid code here)
    grids: Mapping[str, GridInfo]
    communities: Mapping[str, str]
    people: Mapping[str, tuple[PersonRole, ...]]
    index: GridIndex  # over the micro-grids only
    built_at: datetime = field(default_factory=clock.now)
    # Memo of views derived from this snapshot only (e.g. a grid's people as the API presents them);
    # it lives and dies with the snapshot, so it can never serve another generation's people.
    memo: dict[object, object] = field(default_factory=dict, compare=False, repr=False)

    def chain(self, micro_code: str) -> tuple[GridInfo, GridInfo | None]:
        micro = self.grids[micro_code]
        return micro, self.grids.get(micro.parent_code)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for g in self.grids.values():
            out[g.level] += 1
        out["communities"] = len(self.communities)
        return dict(out)


def build(session: Session, generation_id: int, max_cells: int | None = None) -> GridDirectory:
    """The snapshot of one generation; `max_cells` caps the index raster (past generations use a small one)."""
    gen = generation_repo.get(session, generation_id)
    subdistrict = subdistrict_repo.get(session, gen.subdistrict_code) if gen else None
    if subdistrict is None:
        raise ValueError(f"generation {generation_id} or its subdistrict does not exist")
    records = grid_repo.records(session, generation_id)
    grids = {r.code: GridInfo(r.code, r.name, r.level, r.parent_code, r.community_code) for r in records}
    micro = [r for r in records if r.level == "micro"]
    index = GridIndex.build(
        [r.code for r in micro],
        list(shapely.from_wkb([r.wkb for r in micro])),
        [r.name for r in micro],
        **({} if max_cells is None else {"max_cells": max_cells}),
    )
    people: dict[str, list[PersonRole]] = defaultdict(list)
    for r in people_repo.all_grid_roles(session):
        people[r.grid_code].append(r.person)
    return GridDirectory(
        generation_id=generation_id,
        subdistrict=subdistrict,
        grids=grids,
        communities=community_repo.names(session),
        people={k: tuple(v) for k, v in people.items()},
        index=index,
    )


def _active_generation_id(session: Session) -> int | None:
    home = subdistricts.home(session)
    gen = generation_repo.active(session, home.code) if home else None
    return gen.id if gen else None


def _build_active(session: Session, generation_id: object) -> GridDirectory | None:
    return build(session, generation_id) if isinstance(generation_id, int) else None


def directory_holder() -> SnapshotHolder[GridDirectory]:
    """The holder of the live directory: its version is the active generation's id (None: no snapshot)."""
    return SnapshotHolder("directory", _active_generation_id, _build_active)


def load_active(factory: sessionmaker[Session]) -> GridDirectory | None:
    """The active generation's directory, built once (the CLI's commands, which hold no runtime)."""
    return directory_holder().reload(factory)
