"""The in-memory snapshot of the active boundaries: grids, people per grid and the point→grid index.

The live snapshot holds every subdistrict's active generation (a point on a border between two
subdistricts follows the one lookup rule, the smallest code); a past or draft snapshot holds one
generation. Built once at start-up and after each activation, never edited: a new snapshot is built aside
and swapped in with one reference assignment, so a lookup sees either the old or the new boundaries,
never a mix.

The index of one subdistrict is a GridIndex. With several, it is a DistrictIndex (one part per
subdistrict behind a router, geo_grid/lookup_district.py): an activation of one subdistrict rebuilds only
its part (`replace`), and with a store the index is published once per content and loaded, memory-mapped,
by every other process (services/index_publication.py).
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from sys import intern

import shapely
from sqlalchemy.orm import Session, sessionmaker

from geo_grid import clock
from geo_grid.lookup import GridIndex
from geo_grid.lookup_district import DistrictIndex
from geo_grid.repository import communities as community_repo
from geo_grid.repository import generations as generation_repo
from geo_grid.repository import grids as grid_repo
from geo_grid.repository import people as people_repo
from geo_grid.repository import subdistricts as subdistrict_repo
from geo_grid.repository.people import PersonRole as PersonRole  # the record; re-exported for callers
from geo_grid.repository.subdistricts import Subdistrict
from geo_grid.services import index_publication
from geo_grid.services.snapshots import SnapshotHolder

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GridInfo:
    """One grid of a snapshot (130,750 of them in a city: slotted, and the strings many grids share —
    level, parent and community codes — held once, `sys.intern`)."""

    code: str
    name: str
    level: str
    parent_code: str
    community_code: str
    subdistrict_code: str  # the subdistrict of the grid's generation


@dataclass(frozen=True)
class GridDirectory:
    # The newest generation held (of a one-generation snapshot: its generation); `generations` has all.
    generation_id: int
    subdistrict: Subdistrict  # the subdistrict of `generation_id`
    grids: Mapping[str, GridInfo]
    communities: Mapping[str, str]
    people: Mapping[str, tuple[PersonRole, ...]]
    index: GridIndex | DistrictIndex  # over the micro-grids only
    # Every subdistrict held, and the generation of each (the live snapshot: every active one).
    subdistricts: Mapping[str, Subdistrict] = field(default_factory=dict)
    generations: Mapping[str, int] = field(default_factory=dict)
    built_at: datetime = field(default_factory=clock.now)
    # How the index came to be: "built" here, "loaded" (published in the store by another process or an
    # earlier run) or "in_memory" (no store); and, for a DistrictIndex, its name in the store.
    index_how: str = "built"
    index_name: str | None = None
    # Memo of views derived from this snapshot only (e.g. a grid's people as the API presents them);
    # it lives and dies with the snapshot, so it can never serve another generation's people.
    memo: dict[object, object] = field(default_factory=dict, compare=False, repr=False)

    def chain(self, micro_code: str) -> tuple[GridInfo, GridInfo | None]:
        micro = self.grids[micro_code]
        return micro, self.grids.get(micro.parent_code)

    @property
    def generation_ids(self) -> tuple[int, ...]:
        """The generations held, in id order (what `build` takes to build this snapshot again)."""
        return tuple(sorted(self.generations.values())) or (self.generation_id,)

    def subdistrict_of(self, grid: GridInfo | None) -> Subdistrict | None:
        return self.subdistricts.get(grid.subdistrict_code) if grid is not None else None

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for g in self.grids.values():
            out[g.level] += 1
        out["communities"] = len(self.communities)
        return dict(out)


def build(
    session: Session,
    generation_id: int | Sequence[int],
    max_cells: int | None = None,
    *,
    store: Path | None = None,
    previous: GridDirectory | None = None,
) -> GridDirectory:
    """The snapshot of one generation, or of several (of different subdistricts: the live snapshot holds
    every active one); `max_cells` caps the index raster (past generations use a small one). With several
    subdistricts, `store` is where the index is published and `previous` the snapshot this one replaces
    (when only one subdistrict's generation differs, only its part of the index is rebuilt)."""
    ids = [generation_id] if isinstance(generation_id, int) else sorted(generation_id)
    if not ids:
        raise ValueError("a directory needs at least one generation")
    generations: dict[str, int] = {}
    subdistrict_rows: dict[str, Subdistrict] = {}
    grids: dict[str, GridInfo] = {}
    micro: list[grid_repo.GridRecord] = []
    for gen_id in ids:
        gen = generation_repo.get(session, gen_id)
        subdistrict = subdistrict_repo.get(session, gen.subdistrict_code) if gen else None
        if gen is None or subdistrict is None:
            raise ValueError(f"generation {gen_id} or its subdistrict does not exist")
        if subdistrict.code in generations:
            raise ValueError(
                f"generations {generations[subdistrict.code]} and {gen_id} are both of {subdistrict.code}"
            )
        generations[subdistrict.code], subdistrict_rows[subdistrict.code] = gen_id, subdistrict
        for r in grid_repo.records(session, gen_id):
            grids[r.code] = GridInfo(
                r.code,
                r.name,
                intern(r.level),
                intern(r.parent_code),
                intern(r.community_code),
                subdistrict.code,
            )
            if r.level == "micro":
                micro.append(r)
    micro.sort(key=lambda r: r.code)
    index: GridIndex | DistrictIndex
    how, name = "built", None
    if _by_subdistrict(generations, micro, grids) and max_cells is None:
        got = _district_index(micro, generations, store, previous)
        index, how, name = got.index, got.how, got.name
    else:
        index = GridIndex.build(
            [r.code for r in micro],
            list(shapely.from_wkb([r.wkb for r in micro])),
            [r.name for r in micro],
            **({} if max_cells is None else {"max_cells": max_cells}),
        )
    people: dict[str, list[PersonRole]] = defaultdict(list)
    for role in people_repo.all_grid_roles(session):
        people[role.grid_code].append(role.person)
    newest = max(ids)
    return GridDirectory(
        generation_id=newest,
        subdistrict=next(s for c, s in subdistrict_rows.items() if generations[c] == newest),
        grids=grids,
        communities=community_repo.names(session),
        people={k: tuple(v) for k, v in people.items()},
        index=index,
        subdistricts=subdistrict_rows,
        generations=generations,
        index_how=how,
        index_name=name,
    )


def _by_subdistrict(
    generations: Mapping[str, int], micro: Sequence[grid_repo.GridRecord], grids: Mapping[str, GridInfo]
) -> bool:
    """Whether a DistrictIndex can hold these grids: several subdistricts, and every micro-grid's code
    starts with its subdistrict's (how DistrictIndex groups them; foreign codes keep one GridIndex)."""
    return len(generations) > 1 and all(
        r.code.startswith(grids[r.code].subdistrict_code) and len(grids[r.code].subdistrict_code) == 9
        for r in micro
    )


def _district_index(
    micro: Sequence[grid_repo.GridRecord],
    generations: Mapping[str, int],
    store: Path | None,
    previous: GridDirectory | None,
) -> index_publication.Obtained:
    codes, names, wkb = [r.code for r in micro], [r.name for r in micro], [r.wkb for r in micro]
    name = index_publication.published_name(codes, names, wkb)

    changed = _only_changed(previous, generations)
    replace = changed is not None and previous is not None and isinstance(previous.index, DistrictIndex)
    # A whole build of a large index in a child process (index_publication.build_in_child): its peak
    # stays out of this serving process. An activation's replace() of one part stays here (fast).
    elsewhere = (
        functools.partial(index_publication.build_in_child, codes, names, wkb)
        if not replace and len(codes) >= index_publication.BUILD_ELSEWHERE_FROM
        else None
    )

    def make() -> DistrictIndex:
        if changed is not None and previous is not None and isinstance(previous.index, DistrictIndex):
            mine = [r for r in micro if r.code.startswith(changed)]
            return previous.index.replace(
                changed,
                [r.code for r in mine],
                list(shapely.from_wkb([r.wkb for r in mine])),
                [r.name for r in mine],
            )
        return DistrictIndex.build(codes, list(shapely.from_wkb(wkb)), names)

    got = index_publication.obtain(store, name, make, elsewhere)
    log.info(
        "lookup index %s: %s in %.2f s (%d micro-grids)", got.name[:12], got.how, got.seconds, len(codes)
    )
    return got


def _only_changed(previous: GridDirectory | None, generations: Mapping[str, int]) -> str | None:
    """The one subdistrict whose generation differs from `previous` (the others equal), else None."""
    if previous is None or set(previous.generations) != set(generations):
        return None
    changed = [code for code, gen in generations.items() if previous.generations[code] != gen]
    return changed[0] if len(changed) == 1 else None


def _active_generation_ids(session: Session) -> tuple[int, ...] | None:
    """The version of the live directory: every subdistrict's active generation (None: none is active)."""
    ids = tuple(sorted(g.id for g in generation_repo.all_active(session)))
    return ids or None


def build_active(session: Session) -> GridDirectory | None:
    """The live directory built now, outside any holder (every active generation; None: none is active)."""
    return _build_active(session, _active_generation_ids(session))


def _build_active(
    session: Session, generation_ids: object, store: Path | None = None, previous: GridDirectory | None = None
) -> GridDirectory | None:
    if not isinstance(generation_ids, tuple):
        return None
    return build(session, generation_ids, store=store, previous=previous)


def directory_holder(store: Path | None = None) -> SnapshotHolder[GridDirectory]:
    """The holder of the live directory: its version is the active generations' ids (None: no snapshot).
    Each rebuild starts from the snapshot it replaces; `store` is where the index is published."""
    holder: SnapshotHolder[GridDirectory]

    def rebuild(session: Session, generation_ids: object) -> GridDirectory | None:
        return _build_active(session, generation_ids, store, holder.current)

    holder = SnapshotHolder("directory", _active_generation_ids, rebuild)
    return holder


def load_active(factory: sessionmaker[Session]) -> GridDirectory | None:
    """The active generation's directory, built once (the CLI's commands, which hold no runtime)."""
    return directory_holder().reload(factory)
