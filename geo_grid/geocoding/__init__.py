"""Pure address normalisation and matching against the standard door-plate table (no DB, no web)."""

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
from .results import LEVELS, Candidate, Level, MatchResult, Status

__all__ = [
    "CONFIDENT_AT",
    "COUNTRY_PREFIXES",
    "DEFAULT_PREFIXES",
    "DEFAULT_ROAD_ALIASES",
    "LEVELS",
    "MARGIN",
    "NOT_FOUND_BELOW",
    "AddressMatcher",
    "Candidate",
    "Level",
    "MatchResult",
    "ParsedAddress",
    "Status",
    "normalize_address",
    "normalize_part",
    "parse_address",
    "parse_normalized",
    "place_prefixes",
    "strip_prefixes",
]
