"""Shapes domain rows into API output: GeoJSON collections, people and reports as the caller's role may
see them (the rules are geo_grid/privacy.py's; this module only applies them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from geo_grid import labels, privacy, reporting
from geo_grid.api.schemas.people import PersonOut
from geo_grid.labels import ROLE_LABELS
from geo_grid.services.auth import Principal
from geo_grid.services.directory import PersonRole


class FeatureRecord(Protocol):
    """A record that is a GeoJSON feature: its code is the feature id (grids, communities)."""

    @property
    def code(self) -> str: ...

    @property
    def geometry(self) -> dict[str, Any] | None: ...

    def properties(self) -> dict[str, Any]: ...


def feature(record: FeatureRecord, **extra: Any) -> dict[str, Any]:
    """A GeoJSON Feature of a record; `extra` adds properties."""
    props = record.properties() | extra
    return {"type": "Feature", "id": record.code, "properties": props, "geometry": record.geometry}


def feature_collection(records: Iterable[FeatureRecord]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [feature(r) for r in records]}


def person(p: PersonRole, principal: Principal, where: str | None = None) -> PersonOut:
    """One person in a role, as the API shows them: the phone as privacy.phone lets the caller see it
    (masked unless its role sees personal data, and, when `where` names the grid or subdistrict the person
    serves, unless that is in the caller's own subdistrict: Principal.sees_personal_data_in), the role's
    Chinese label added."""
    role = principal.role if principal.sees_personal_data_in(where) else privacy.role_for(False)
    return PersonOut(
        person_id=p.person_id,
        name=p.name,
        role=p.role,
        role_label=ROLE_LABELS.get(p.role, p.role),
        duty=p.duty,
        target_id=p.target_id,
        phone=privacy.phone(p.phone, role),
    )


def report(row: Mapping[str, Any], principal: Principal) -> dict[str, Any]:
    """A report for output: fields as the principal's role may see them (privacy.report: the public gets
    no reporter contact, a coarse point, a road-level address and free text scrubbed of phone and ID
    numbers), Chinese labels, allowed next states, responsible people (phones masked likewise)."""
    shown = privacy.report(row, principal.role)
    out = {k: v for k, v in shown.items() if k not in ("people", "history")}
    out["status_label"] = reporting.status_label(row["status"])
    out["category_label"] = row.get("category_label") or row["category"]  # the categories table's name
    out["channel_label"] = labels.CHANNEL_LABELS.get(row["channel"], row["channel"])
    out["allowed_next"] = list(reporting.allowed_next(row["status"]))
    out["stage_label"] = reporting.stage_label(row.get("stage"))
    if "people" in row:
        out["people"] = [person(p, principal) for p in row["people"]]
    if "history" in shown:
        out["history"] = shown["history"]
    return out
