"""Boundary files in and out of a generation: import a layer into a draft of one subdistrict (a new draft
when none is named), export a generation as GeoJSON, GeoPackage or zipped Shapefile."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import shapely
from sqlalchemy.orm import Session

from geo_grid.errors import Conflict, OtherSubdistrict
from geo_grid.io.boundaries import EXPORT_FIELDS, ImportedLayer, write_layer
from geo_grid.repository import boundaries as repo
from geo_grid.repository import generations as generation_repo
from geo_grid.repository import subdistricts as subdistrict_repo
from geo_grid.repository.boundaries import NewGrid
from geo_grid.services import subdistricts
from geo_grid.services.generations import get, open_draft, open_empty_draft, require_draft


@dataclass(frozen=True, slots=True)
class ImportResult:
    generation: int
    source: str
    level: str
    features: int
    replaced: int
    source_crs: str
    shifted_from: str | None


def import_layer(
    session: Session,
    layer: ImportedLayer,
    actor: str,
    generation_id: int | None = None,
    source: str = "",
    subdistrict: str | None = None,
) -> ImportResult:
    """Replace one level of a draft of one subdistrict with the imported grids. The draft is the one named,
    else a new one of the subdistrict (named, else the only one; with several 422) copied from its active generation — an
    empty one when it has none yet (its first boundaries). A grid whose code or parent names another
    subdistrict is refused: one subdistrict's import never touches another's grids. All or nothing: the
    caller's transaction holds every change."""
    if generation_id is not None:
        gen = require_draft(session, generation_id)
        if subdistrict is not None and subdistrict != gen.subdistrict_code:
            raise OtherSubdistrict(
                f"generation {generation_id} is a draft of {gen.subdistrict_code}, not of {subdistrict}",
                {"generation": generation_id, "subdistrict": gen.subdistrict_code},
            )
        gen_id, code = generation_id, gen.subdistrict_code
        _check_codes(session, layer, code)
    else:
        code = subdistricts.for_write(session, subdistrict).code
        _check_codes(session, layer, code)  # before a draft is opened for it
        gen_id = (
            open_draft(session, actor, f"import {source}", code).id
            if generation_repo.active(session, code) is not None
            else open_empty_draft(session, code, actor, f"import {source}")
        )
    require_draft(session, gen_id)
    before = {g.code: g for g in repo.load_grids(session, gen_id)}
    tertiary_community = {c: g.community_code for c, g in before.items() if g.level == "tertiary"}
    if layer.level == "tertiary":
        tertiary_community = {}
    rows: list[NewGrid] = []
    for g in layer.grids:
        if layer.level == "micro":
            community = tertiary_community.get(g["parent_code"]) or g["parent_code"][:12]
        else:
            community = g["parent_code"][:12]
        old = before.get(g["code"])
        if old is not None and old.level != layer.level:
            raise Conflict(
                f"code {g['code']} is a {old.level} grid in the draft; it cannot be a {layer.level}"
            )
        rows.append(
            NewGrid(
                code=g["code"],
                level=layer.level,
                name=g["name"],
                parent_code=g["parent_code"],
                community_code=community,
                wkb=shapely.to_wkb(g["geom"]),
                # A re-imported grid gets a new version, so an ETag taken before the import is stale.
                version=(old.version + 1) if old else 1,
            )
        )
    removed = repo.delete_level(session, gen_id, layer.level)
    repo.insert_grids(session, gen_id, rows, actor)
    result = ImportResult(
        generation=gen_id,
        source=source,
        level=layer.level,
        features=len(rows),
        replaced=removed,
        source_crs=layer.source_crs,
        shifted_from=layer.shifted_from,
    )
    detail = {k: v for k, v in asdict(result).items() if k != "generation"}
    repo.audit(session, actor, "import", gen_id, None, detail)
    return result


def _check_codes(session: Session, layer: ImportedLayer, subdistrict: str) -> None:
    """No grid may name another subdistrict: a code or parent whose first 9 digits are another
    subdistrict's code is refused (a foreign file's own codes, e.g. LA's nc_id, name none)."""
    others = {s.code for s in subdistrict_repo.list_all(session)} - {subdistrict}
    foreign = [g["code"] for g in layer.grids if g["code"][:9] in others or g["parent_code"][:9] in others]
    if foreign:
        raise OtherSubdistrict(
            f"{len(foreign)} grid(s) of the file belong to another subdistrict than {subdistrict} "
            f"(e.g. {foreign[0]}); nothing was imported",
            {"subdistrict": subdistrict, "codes": foreign[:20]},
        )


def export(session: Session, generation_id: int, fmt: str, path: Path, level: str | None = None) -> Path:
    get(session, generation_id)
    rows = repo.load_grids(session, generation_id, level)
    grids = [{**{k: getattr(r, k) for k in EXPORT_FIELDS}, "geom": shapely.from_wkb(r.wkb)} for r in rows]
    return write_layer(grids, fmt, path)
