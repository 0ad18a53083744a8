"""The sample's place names as the service reads them from the database: its communities (the sample's
communities file) behind the subdistrict's administrative chain, as address prefixes."""

from __future__ import annotations

import json

from geo_grid.geocoding import place_prefixes
from geo_grid.services.sample import sample_subdistrict
from geo_grid.settings import SAMPLE_DIR

with open(SAMPLE_DIR / "communities.geojson", encoding="utf-8") as _fh:
    SAMPLE_COMMUNITIES: tuple[str, ...] = tuple(f["properties"]["name"] for f in json.load(_fh)["features"])

SAMPLE_SUBDISTRICT = sample_subdistrict(SAMPLE_DIR)
SAMPLE_PREFIXES = place_prefixes(SAMPLE_SUBDISTRICT.admin_chain, SAMPLE_COMMUNITIES)
