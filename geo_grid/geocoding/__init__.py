"""Pure address normalisation and matching against the standard door-plate table, and the places people
name without one (intersections, landmarks; geo_grid.geocoding.spoken) — no DB, no web."""

from .landmarks import Landmark
from .matcher import CONFIDENT_AT, MARGIN, NOT_FOUND_BELOW, AddressMatcher
from .normalize import (
    COUNTRY_PREFIXES,
    DEFAULT_PREFIXES,
    DEFAULT_ROAD_ALIASES,
    ParsedAddress,
    normalize_address,
    normalize_part,
    parse_address,
    parse_normalized,
    place_prefixes,
    strip_prefixes,
)
from .results import LEVELS, SPOKEN_LEVELS, Candidate, Level, MatchResult, Status
from .spoken import SpokenMatcher

__all__ = [
    "CONFIDENT_AT",
    "COUNTRY_PREFIXES",
    "DEFAULT_PREFIXES",
    "DEFAULT_ROAD_ALIASES",
    "LEVELS",
    "SPOKEN_LEVELS",
    "MARGIN",
    "NOT_FOUND_BELOW",
    "AddressMatcher",
    "Candidate",
    "Landmark",
    "Level",
    "MatchResult",
    "ParsedAddress",
    "SpokenMatcher",
    "Status",
    "normalize_address",
    "normalize_part",
    "parse_address",
    "parse_normalized",
    "place_prefixes",
    "strip_prefixes",
]
