"""Shapes domain rows into API output: GeoJSON collections and people with personal data masked."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from geo_grid.labels import ROLE_LABELS
from geo_grid.masking import mask_phone
from geo_grid.services.auth import Principal


def feature_collection(rows: Iterable[Mapping[str, Any]], id_key: str = "code") -> dict[str, Any]:
    features = []
    for row in rows:
        props = {k: v for k, v in row.items() if k != "geometry"}
        features.append(
            {"type": "Feature", "id": row.get(id_key), "properties": props, "geometry": row["geometry"]}
        )
    return {"type": "FeatureCollection", "features": features}


def person(p: Mapping[str, Any] | Any, principal: Principal) -> dict[str, Any]:
    """One person in a role; the phone is masked unless the caller may see personal data."""
    get = p.get if isinstance(p, Mapping) else lambda k: getattr(p, k)
    phone = get("phone")
    role = str(get("role"))
    return {
        "person_id": get("person_id"),
        "name": get("name"),
        "role": role,
        "role_label": ROLE_LABELS.get(role, role),
        "duty": get("duty"),
        "target_id": get("target_id"),
        "phone": phone if principal.sees_personal_data else mask_phone(phone),
    }
