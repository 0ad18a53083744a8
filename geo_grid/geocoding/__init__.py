"""Pure address normalisation and matching against the standard door-plate table (no DB, no web)."""

from .matcher import (
    CONFIDENT_AT,
    LEVELS,
    MARGIN,
    NOT_FOUND_BELOW,
    AddressMatcher,
    Candidate,
    Level,
    MatchResult,
    Status,
)
from .normalize import (
    COMMUNITY_NAMES,
    DEFAULT_PREFIXES,
    DEFAULT_ROAD_ALIASES,
    ParsedAddress,
    normalize_address,
    normalize_part,
    parse_address,
    parse_normalized,
    strip_prefixes,
)

__all__ = [
    "CONFIDENT_AT",
    "COMMUNITY_NAMES",
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
    "strip_prefixes",
]
