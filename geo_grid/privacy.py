"""The one personal-data policy: what each role sees of each field, free-text scrubbing (phone and ID
numbers), sensitive categories and coarse public locations. Presenters, exports, maps and the CLI call it;
nothing else decides visibility (README: "Security and data protection" → "Who sees what").

Roles, in order: `public` (no token; a resident holding a report's tracking code sees that one report, also
as public), `grid_worker` (网格员, a console user or token: acts in the field; sees personal data as the public
does, and the photos of the reports the public may see listed), `dispatcher`, `planner`, `admin`.
Dispatcher-or-higher sees everything, and that read is audited. A browser session and a bearer token of the
same role see the same (the principal's role is all this module is told).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from geo_grid.masking import mask_phone

# Roles that see personal data unmasked (phones, reporter contacts, exact points, free text as written).
FULL_ROLES = frozenset({"dispatcher", "planner", "admin"})
ROLES = ("public", "grid_worker", "dispatcher", "planner", "admin")
# Staff in the field: they handle reports, so they see their photos (of the reports they may see listed).
PHOTO_ROLES = frozenset({"grid_worker"}) | FULL_ROLES
PUBLIC = "public"


def role_for(personal: bool) -> str:
    """The role whose view a caller that only knows "personal data or not" gets (maps, CLI files)."""
    return "dispatcher" if personal else PUBLIC


# Public locations are rounded to 3 decimals: ≈ 111 m north–south and ≈ 91 m east–west at 34.75°N,
# about a block, never a door plate.
PUBLIC_DECIMALS = 3

# What the public sees of each report field (dispatcher-or-higher: everything as stored). Fields not
# named here are shown as they are (status, category, grid codes, times …).
PUBLIC_REPORT_FIELDS: dict[str, str] = {
    "reporter_contact": "dropped",
    "input_lon": "dropped",
    "input_lat": "dropped",
    "input_crs": "dropped",
    "tracking_code_hash": "dropped",
    "address_text": "road",  # reduced to the road name ("民航路"), else dropped
    "lon": "coarse",
    "lat": "coarse",
    "description": "scrubbed",
    "rating_comment": "scrubbed",
    "photo_urls": "scrubbed",
    "claimed_by_name": "kept",  # a volunteer's name on a public task (双报到 is public service)
}

# ---------------------------------------------------------------------------------- free-text scrubbing
_SEP = r"[\s\-‐－—]?"  # a space or a dash (ASCII, hyphen, full-width, em) between digit groups
# 18-digit resident ID (area, YYYYMMDD birth date, sequence, check digit 0-9/X) and the old 15-digit one
# (area, YYMMDD, sequence). The birth-date shape keeps grid codes (410105012004003005) from matching.
_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
ID_NUMBER = re.compile(
    rf"(?<![0-9A-Za-z])(?:[1-9]\d{{5}}(?:18|19|20)\d{{2}}{_DATE}\d{{3}}[0-9Xx]|[1-9]\d{{7}}{_DATE}\d{{3}})"
    r"(?![0-9A-Za-z])"
)
# Mainland mobiles 1[3-9]x xxxx xxxx (optionally +86), spaces/dashes between groups allowed.
MOBILE = re.compile(rf"(?<![\d+])(?:(?:\+|00)?86{_SEP})?1[3-9]\d(?:{_SEP}\d){{8}}(?!\d)")
# Landlines: area code 0xx or 0xxx (optionally in brackets), then 7–8 digits, optional extension.
LANDLINE = re.compile(
    rf"(?<!\d)(?:\(0\d{{2,3}}\)|（0\d{{2,3}}）|0\d{{2,3}}){_SEP}\d{{3,4}}{_SEP}\d{{4}}(?:{_SEP}(?:转|ext\.?|x)\d{{1,5}})?(?!\d)"
)
ID_PLACEHOLDER = "[身份证号已隐藏]"


def _mask_match(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    return mask_phone(digits) or "****"


def scrub_text(value: str | None) -> str | None:
    """Free text with every ID number replaced and every phone number masked (`138****5678`)."""
    if not value:
        return value
    out = ID_NUMBER.sub(ID_PLACEHOLDER, value)
    out = MOBILE.sub(_mask_match, out)
    return LANDLINE.sub(_mask_match, out)


def contains_personal_numbers(value: str) -> bool:
    """True when `value` still holds a phone or ID number (used by tests and checks)."""
    return bool(ID_NUMBER.search(value) or MOBILE.search(value) or LANDLINE.search(value))


def _scrub_any(value: Any) -> Any:
    """Scrub every string inside a JSON-like value; points inside it are coarsened."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if k in ("lon", "lat") and isinstance(v, int | float):
                out[k] = round(float(v), PUBLIC_DECIMALS)
            else:
                out[k] = _scrub_any(v)
        return out
    if isinstance(value, list | tuple):
        return [_scrub_any(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------- role rules
def sees_personal_data(role: str) -> bool:
    return role in FULL_ROLES


def phone(value: str | None, role: str) -> str | None:
    """A structured phone number: as stored for dispatcher-or-higher, else masked (`138****5678`)."""
    return value if sees_personal_data(role) else mask_phone(value)


def text(value: str | None, role: str) -> str | None:
    """A free-text field: as written for dispatcher-or-higher, else scrubbed of phone and ID numbers."""
    return value if sees_personal_data(role) else scrub_text(value)


# Sensitive categories are the categories table's `sensitive` column (养老诈骗 names an old person living
# alone, at a door plate): callers pass the current set, `services.categories.table(session).sensitive`.
def is_sensitive(category: str | None, sensitive: Collection[str]) -> bool:
    return category in sensitive


def listed(category: str | None, role: str, sensitive: Collection[str]) -> bool:
    """Whether a report of `category` is shown one by one (sensitive ones only as counts to the public)."""
    return sees_personal_data(role) or not is_sensitive(category, sensitive)


def hidden_categories(role: str, sensitive: Collection[str]) -> list[str]:
    """Categories a listing for `role` must leave out (in SQL, so totals and pages stay right)."""
    return [] if sees_personal_data(role) else sorted(sensitive)


def coarse(value: float | None, role: str) -> float | None:
    """A coordinate: exact for dispatcher-or-higher, rounded to PUBLIC_DECIMALS for the public."""
    if value is None or sees_personal_data(role):
        return value
    return round(float(value), PUBLIC_DECIMALS)


def personal_on_map(category: str | None, role: str, sensitive: Collection[str]) -> bool:
    """Whether a report drawn on a map tile (its id, state, category, position: never free text or a
    contact) shows `role` personal data, which the audit log then names: a report of a sensitive category,
    drawn for dispatcher-or-higher (the public's tiles leave those out: where it lies is where the person
    lives). Any other report on a tile is a public matter at a place (a pothole, noise): not audited."""
    return sees_personal_data(role) and is_sensitive(category, sensitive)


# The administrative names an address may start with, by the general rule of their endings (省/自治区,
# 市/州/盟, 区/县/旗 — not 社区/小区/园区 —, 街道(办事处)/镇/乡): 河南省郑州市金水区未来路街道, whatever the
# subdistrict. A subdistrict named after a road (未来路街道) is stripped whole, so its road is not taken;
# a name above it holds no road, number or building (经三路东区 is not a district).
_ADMIN_NAME = r"(?:(?![路街巷号院楼])[\u4e00-\u9fff]){1,8}?"
_SUBDISTRICT_NAME = r"[\u4e00-\u9fff]{1,8}?"
_PLACE_PREFIX = re.compile(
    rf"^(?:{_ADMIN_NAME}(?:省|自治区))?"
    rf"(?:{_ADMIN_NAME}(?:市|自治州|盟))?"
    rf"(?:{_ADMIN_NAME}(?<![社小园校厂])(?:区|县|旗))?"
    rf"(?:{_SUBDISTRICT_NAME}(?:街道(?:办事处)?|办事处|镇|乡))?"
)
# A road's name ends in 路/街/大道/大街/巷/胡同/弄 (the general rule; no list of this city's roads).
_ROAD = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]{1,20}?(?:大道|大街|路|街|巷|胡同|弄)")


def road_level(address: str | None) -> str | None:
    """An address reduced to its road ("金水区民航路12号院3号楼" → "民航路"); None when no road is named."""
    if not address:
        return None
    rest = _PLACE_PREFIX.sub("", address.strip())
    m = _ROAD.search(rest)
    if m is None:
        return None
    return scrub_text(re.sub(r"^\d+", "", m.group(0))) or None


def report(row: Mapping[str, Any], role: str) -> dict[str, Any]:
    """One report (and its history, if present) as `role` may see it. The caller decides first whether the
    report is shown at all (`listed`)."""
    out = dict(row)
    if sees_personal_data(role):
        return out
    for field, rule in PUBLIC_REPORT_FIELDS.items():
        if field not in out:
            continue
        if rule == "dropped":
            out.pop(field)
        elif rule == "road":
            out[field] = road_level(out[field])
        elif rule == "coarse":
            out[field] = coarse(out[field], role)
        elif rule == "scrubbed":
            out[field] = _scrub_any(out[field])
    if "history" in out:
        out["history"] = [history_event(e, role) for e in out["history"]]
    return out


def history_event(event: Mapping[str, Any], role: str) -> dict[str, Any]:
    """A history event: notes and data scrubbed (and points in it coarsened) for the public."""
    out = dict(event)
    if sees_personal_data(role):
        return out
    out["note"] = scrub_text(out.get("note"))
    out["data"] = _scrub_any(out.get("data") or {})
    return out


def photos_visible(
    category: str | None, role: str, sensitive: Collection[str], *, reporter: bool = False
) -> bool:
    """Whether `role` may see a report's photos. Dispatcher-or-higher: every report's. A grid worker: those of
    the reports listed to them (not sensitive ones). The reporter (tracking code): their own report's. The
    public: none — a photo cannot be scrubbed like text (faces, number plates, door plates)."""
    if sees_personal_data(role):
        return True
    if reporter:
        return True
    return role in PHOTO_ROLES and listed(category, role, sensitive)


# ------------------------------------------------------------------------- a grid worker's own tasks
# 网格手机终端 (README "网格手机终端 (grid worker)"): a grid worker sees the reports dispatched to the team of
# a grid where their person holds a role (the caller checks that). To find the place and do the work they
# see the exact point and the full address; the reporter's contact stays masked (138****5678: the centre
# calls the reporter back, not the neighbourhood's worker); free text is scrubbed as for the public.
# Sensitive categories are not listed to them (`listed`): the centre handles those.
ASSIGNED_TASK_FIELDS: dict[str, str] = {
    "lon": "kept",
    "lat": "kept",
    "address_text": "kept",
    "reporter_contact": "masked",
    "description": "scrubbed",
}


def assigned_task(row: Mapping[str, Any], role: str) -> dict[str, Any]:
    """One of a grid worker's own tasks (the caller checked the grid) as `role` may see it: the public's
    view (`report`) with ASSIGNED_TASK_FIELDS applied over it; dispatcher-or-higher see everything."""
    if sees_personal_data(role):
        return dict(row)
    out = report(row, role)
    for field, rule in ASSIGNED_TASK_FIELDS.items():
        if field not in row:
            continue
        if rule == "kept":
            out[field] = row[field]
        elif rule == "masked":
            out[field] = mask_phone(row[field]) if row[field] else None
        elif rule == "scrubbed":
            out[field] = scrub_text(row[field])
    return out
