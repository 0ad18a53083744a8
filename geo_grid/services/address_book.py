"""The one in-memory address book: the matcher, and per door plate its point, 楼院长 and 路段长.

Built from the database at start-up and after an import, never edited: a new book is built aside and
swapped in with one reference assignment (as the grid directory is). The courtyard and road segment that
answer for every address are precomputed into it, so a lookup runs no SQL.

At city scale (124,000 door plates) the book is held columnar: the door plates' points, courtyards and
segments are flat arrays aligned with one list of ids (`AddressPoints`), each courtyard and segment is
stored once, and an `AddressPoint` record is made only for the address a lookup asks about; the matcher
likewise (geo_grid/geocoding/blocking.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session, sessionmaker

from geo_grid import clock
from geo_grid.geocoding import AddressMatcher, MatchResult, place_prefixes
from geo_grid.geocoding.landmarks import Landmark
from geo_grid.geocoding.places import CourtyardCover, CourtyardShape, RoadNetwork, SegmentLine, radius_m
from geo_grid.geocoding.spoken import SpokenMatcher
from geo_grid.memory import release_freed_memory
from geo_grid.repository import addresses as address_repo
from geo_grid.repository import communities as community_repo
from geo_grid.repository import subdistricts as subdistrict_repo
from geo_grid.repository.people import PersonRole
from geo_grid.services.snapshots import SnapshotHolder


@dataclass(frozen=True, slots=True)
class AddressPoint:
    """One standard address with what is precomputed for it."""

    address_id: str
    address: str
    lon: float
    lat: float
    courtyard: tuple[str, str] | None  # (courtyard_id, name) of the courtyard covering the point
    segment: tuple[str, str, float] | None  # (segment_id, road_name, distance_m) answering for it
    courtyard_chiefs: tuple[PersonRole, ...] = ()
    road_chiefs: tuple[PersonRole, ...] = ()


_NONE = -1  # no courtyard covers the point / no segment within reach


class AddressPoints(Mapping[str, AddressPoint]):
    """The door plates by address_id, held as columns; `points[id]` makes the record it asks for."""

    def __init__(
        self,
        rows: Sequence[address_repo.Address],
        courtyards: Mapping[str, tuple[str, str]],
        segments: Mapping[str, tuple[str, str, float]],
        courtyard_chiefs: Mapping[str, tuple[PersonRole, ...]],
        road_chiefs: Mapping[str, tuple[PersonRole, ...]],
    ) -> None:
        n = len(rows)
        self._ids = [r.address_id for r in rows]
        self._texts = [r.address for r in rows]
        self._at = {address_id: i for i, address_id in enumerate(self._ids)}
        self._lon: NDArray[np.float64] = np.fromiter((r.lon for r in rows), np.float64, n)
        self._lat: NDArray[np.float64] = np.fromiter((r.lat for r in rows), np.float64, n)
        court_no: dict[tuple[str, str], int] = {}
        seg_no: dict[tuple[str, str], int] = {}
        self._court = np.full(n, _NONE, dtype=np.int32)
        self._seg = np.full(n, _NONE, dtype=np.int32)
        self._seg_m = np.zeros(n, dtype=np.float64)
        for i, address_id in enumerate(self._ids):
            court = courtyards.get(address_id)
            if court is not None:
                self._court[i] = court_no.setdefault(court, len(court_no))
            seg = segments.get(address_id)
            if seg is not None:
                self._seg[i] = seg_no.setdefault((seg[0], seg[1]), len(seg_no))
                self._seg_m[i] = seg[2]
        self._courtyards = list(court_no)  # each (courtyard_id, name) once
        self._segments = list(seg_no)  # each (segment_id, road_name) once
        self._court_chiefs = courtyard_chiefs
        self._road_chiefs = road_chiefs

    def __getitem__(self, address_id: str) -> AddressPoint:
        i = self._at[address_id]
        c, s = int(self._court[i]), int(self._seg[i])
        court = self._courtyards[c] if c != _NONE else None
        seg = (*self._segments[s], float(self._seg_m[i])) if s != _NONE else None
        return AddressPoint(
            address_id,
            self._texts[i],
            float(self._lon[i]),
            float(self._lat[i]),
            court,
            seg,
            self._court_chiefs.get(court[0], ()) if court else (),
            self._road_chiefs.get(seg[0], ()) if seg else (),
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, address_id: object) -> bool:
        return address_id in self._at


@dataclass(frozen=True)
class AddressBook:
    matcher: AddressMatcher
    points: Mapping[str, AddressPoint]
    built_at: datetime = field(default_factory=clock.now)
    # The newest address import (audit log id) this book includes; a newer one means rebuild.
    import_mark: int = 0
    # Spoken addresses: the door-plate matcher plus intersections (road centrelines) and landmarks
    # (facilities, courtyards, communities), all read from the database when the book is built.
    spoken: SpokenMatcher | None = None
    courtyards: CourtyardCover | None = None
    courtyard_chiefs: Mapping[str, tuple[PersonRole, ...]] = field(default_factory=dict)
    road_chiefs: Mapping[str, tuple[PersonRole, ...]] = field(default_factory=dict)

    def match(self, query: str) -> MatchResult:
        return self.spoken.match(query) if self.spoken is not None else self.matcher.match(query)


def build(session: Session) -> AddressBook:
    mark = address_repo.import_mark(session)
    rows = address_repo.all_rows(session)
    court_chiefs = {k: tuple(v) for k, v in address_repo.people_by_target(session, "courtyard_chief").items()}
    road_chiefs = {
        k: tuple(v) for k, v in address_repo.people_by_target(session, "road_section_chief").items()
    }
    points = AddressPoints(
        rows,
        address_repo.courtyards_of_addresses(session),
        address_repo.road_segments_of_addresses(session),
        court_chiefs,
        road_chiefs,
    )
    # One book for every subdistrict of the database: the prefixes people write before an address in any.
    chains = [name for sub in subdistrict_repo.list_all(session) for name in sub.admin_chain]
    communities = community_repo.names(session)
    prefixes = place_prefixes(chains, communities.values())
    matcher = AddressMatcher.from_rows((r.as_row() for r in rows), prefixes=prefixes)
    del rows
    network = RoadNetwork(
        SegmentLine(s.segment_id, s.road_name, s.geometry) for s in address_repo.road_segment_lines(session)
    )
    landmarks: list[Landmark] = []
    for place in address_repo.named_places(session):
        code = place.community_code
        landmarks.append(
            Landmark(
                place.kind,
                place.ref_id,
                place.name,
                place.lon,
                place.lat,
                radius_m(place.geometry, place.lon, place.lat),
                code,
                communities.get(code) if code else None,
            )
        )
    courts = CourtyardCover(
        CourtyardShape(c.ref_id, c.name, c.geometry)
        for c in address_repo.named_places(session, kinds=("courtyard",))
    )
    return AddressBook(
        matcher,
        points,
        import_mark=mark,
        spoken=SpokenMatcher(matcher, network, landmarks),
        courtyards=courts,
        courtyard_chiefs=court_chiefs,
        road_chiefs=road_chiefs,
    )


def _build_book(session: Session, _import_mark: object) -> AddressBook:
    book = build(session)
    release_freed_memory()
    return book


def _book_version(session: Session) -> tuple[int, str]:
    return address_repo.import_mark(session), address_repo.places_mark(session)


def address_book_holder() -> SnapshotHolder[AddressBook]:
    """The holder of the one address book: its version is the newest address import
    (`address_repo.import_mark`), so an import by another process (the CLI) is noticed, and the
    fingerprint of the facilities, courtyards, road segments and communities it finds by name
    (`address_repo.places_mark`), so a facility added later is found without a reload."""
    return SnapshotHolder("address_book", _book_version, _build_book)


def load(factory: sessionmaker[Session]) -> AddressBook:
    """The address book, built once (the CLI's commands, which hold no runtime)."""
    with factory() as session:
        book = build(session)
    release_freed_memory()
    return book
