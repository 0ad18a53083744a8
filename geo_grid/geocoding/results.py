"""Result types of address matching: ranked candidates and the overall answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .normalize import ParsedAddress

Level = Literal["road", "number", "courtyard", "building", "unit", "intersection", "landmark"]
Status = Literal["matched", "ambiguous", "not_found"]
# The door-plate levels (groups of the standard address table), coarse to fine.
LEVELS: tuple[Level, ...] = ("road", "number", "courtyard", "building", "unit")
# Places people name without a door plate: two roads' meeting point, a facility / courtyard / community.
SPOKEN_LEVELS: tuple[Level, ...] = ("intersection", "landmark")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ranked answer. Part fields are in canonical spelling; absent parts are ''."""

    level: Level
    confidence: float
    address: str  # the standard address text (unit level) or the group's canonical label
    lon: float
    lat: float
    address_id: str | None  # only at unit level
    representative_id: str  # the group's address nearest to the centroid (= address_id at unit level)
    n_addresses: int
    road: str
    number: str = ""
    courtyard: str = ""
    building: str = ""
    unit: str = ""
    community_code: str | None = None  # None when the group spans several communities
    unmatched: tuple[str, ...] = ()  # parts the query gave that do not exist in this group
    # How far the place meant may be from (lon, lat), in metres: 0 for a door plate, the group's spread
    # for coarser levels, tens of metres for an intersection; qualifiers (对面, 附近 …) add to it.
    precision_m: float = 0.0
    # intersection / landmark only: what it is (intersection, a facility kind, courtyard, community) and
    # its id in its table (facility_id, courtyard_id, community code; '' for an intersection)
    place_kind: str = ""
    place_id: str = ""


@dataclass(frozen=True, slots=True)
class MatchResult:
    query: str
    normalized: str
    parsed: ParsedAddress
    status: Status
    candidates: tuple[Candidate, ...] = ()
    qualifier: str | None = None  # 门口, 对面, 附近, 东侧 … as said after the place (None when absent)

    @property
    def best(self) -> Candidate | None:
        """The answer, only when ``status == 'matched'``."""
        return self.candidates[0] if self.status == "matched" and self.candidates else None

    @property
    def confidence(self) -> float:
        return self.candidates[0].confidence if self.candidates else 0.0

    @property
    def level(self) -> Level | None:
        return self.best.level if self.best else None

    @property
    def address_id(self) -> str | None:
        return self.best.address_id if self.best else None
