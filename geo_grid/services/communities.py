"""Communities (社区) as rows of one subdistrict: list them, import their outlines from a boundary file."""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from sqlalchemy.orm import Session

from geo_grid.errors import OtherSubdistrict
from geo_grid.io.boundaries import ImportedLayer
from geo_grid.repository import audit as audit_repo
from geo_grid.repository import communities as repo
from geo_grid.repository.communities import Community
from geo_grid.services import subdistricts


@dataclass(frozen=True, slots=True)
class CommunityImport:
    subdistrict: str
    features: int
    replaced: int


def listed(session: Session, named: str | None = None, *, caller: str | None = None) -> list[Community]:
    """The communities a listing means: of the subdistrict named, else of the caller's own, else of the
    only one; else (several, a district-level or anonymous caller) of every subdistrict."""
    sub = subdistricts.meant_or_district(session, named, caller=caller)
    return repo.list_communities(session, sub.code if sub is not None else None)


def import_layer(
    session: Session, layer: ImportedLayer, actor: str, subdistrict: str | None = None
) -> CommunityImport:
    """Insert or update the communities of a file as communities of one subdistrict (named, else the only
    one: a write never guesses, subdistricts.for_write); a code that is not 12 digits under the
    subdistrict's code refuses the whole file."""
    code = subdistricts.for_write(session, subdistrict).code
    foreign = [
        g["code"]
        for g in layer.grids
        if not (g["code"].isdigit() and len(g["code"]) == 12 and g["code"].startswith(code))
    ]
    if foreign:
        raise OtherSubdistrict(
            f"{len(foreign)} community code(s) are not 12 digits under subdistrict {code} "
            f"(e.g. {foreign[0]}); nothing was imported",
            {"subdistrict": code, "codes": foreign[:20]},
        )
    rows = [repo.NewCommunity(g["code"], g["name"], shapely.to_wkb(g["geom"]), code) for g in layer.grids]
    replaced = repo.upsert(session, rows)
    result = CommunityImport(code, len(rows), replaced)
    audit_repo.add(
        session, actor, "community_import", {"subdistrict": code, "features": len(rows), "replaced": replaced}
    )
    return result
