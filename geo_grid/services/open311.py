"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) over the report workflow: the services
are the report categories, a service request is a report.

The rules live here, once: the categories as services (`categories`, the ONE place they are read),
open/closed from the workflow (`open311_status`), the agency responsible, the request as the caller's
role may see it (through geo_grid/privacy.py). The XML the specification asks for next to JSON, its error
list and date parameters: services/open311_wire.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from geo_grid import labels, privacy, reporting
from geo_grid.errors import InvalidInput, NotFound, ReportNotFound
from geo_grid.labels import STAGE_LABELS
from geo_grid.repository import open311 as open311_repo
from geo_grid.repository import reports as report_repo
from geo_grid.repository import scope as scope_repo
from geo_grid.repository.report_records import Report
from geo_grid.repository.scope import EVERYTHING, Scope
from geo_grid.repository.subdistricts import Subdistrict
from geo_grid.services import categories as category_service
from geo_grid.services import reports as report_service
from geo_grid.services import subdistricts
from geo_grid.services.directory import GridDirectory

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-30T00:00:00+08:00"  # when the service list or definitions last changed
DEFAULT_WINDOW = timedelta(days=90)  # GET requests without dates: the last 90 days (the specification)
MAX_REQUESTS = 1000  # the specification's default upper limit of one GET requests answer
BEIJING = ZoneInfo("Asia/Shanghai")

# Extra questions (attributes) of the categories that need
# them; the category table itself comes from `categories()`.


@dataclass(frozen=True, slots=True)
class AttributeValue:
    key: str
    name: str


@dataclass(frozen=True, slots=True)
class Attribute:
    """A question a category asks (a GeoReport service definition attribute)."""

    code: str
    datatype: str  # string | number | datetime | text | singlevaluelist | multivaluelist
    required: bool
    description: str
    datatype_description: str
    order: int
    values: tuple[AttributeValue, ...] = ()
    variable: bool = True


_ATTRIBUTES: dict[str, tuple[Attribute, ...]] = {
    "parking": (
        Attribute("fire_lane", "singlevaluelist", False, "是否占用消防通道", "请选择", 1,
                  (AttributeValue("yes", "是"), AttributeValue("no", "否"))),
    ),
    "noise": (
        Attribute("noise_period", "singlevaluelist", True, "噪音发生时段", "请选择", 1,
                  (AttributeValue("day", "白天（6–22时）"), AttributeValue("night", "夜间（22–6时）"))),
    ),
    "facility_repair": (
        Attribute("facility_kind", "string", False, "设施类型（路灯、井盖、健身器材……）", "文字", 1),
    ),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Category:
    """A report category as an Open311 service."""

    code: str
    name: str
    description: str
    group: str
    keywords: tuple[str, ...]
    attributes: tuple[Attribute, ...] = field(default=())

    @property
    def metadata(self) -> bool:
        return bool(self.attributes)


def jurisdiction_id(session: Session, caller: str | None = None) -> str | None:
    """The GeoReport jurisdiction_id meant when a request names none: the caller's own subdistrict, else
    the only one; None with several (the whole district has no one jurisdiction_id: see `jurisdiction`)."""
    sub = subdistricts.meant_or_district(session, caller=caller)
    return sub.code if sub is not None else None


def jurisdiction(session: Session, named: str | None, caller: str | None = None) -> Subdistrict | None:
    """The GeoReport jurisdiction a request is about: a jurisdiction_id is a subdistrict's statistical code
    (unknown: 404). Else the caller's own subdistrict, else the only one; None: every subdistrict (the
    whole district) — services are the same everywhere, requests are read across the district and a new
    request's position decides its subdistrict (services/subdistricts.py)."""
    return subdistricts.meant_or_district(session, named, caller=caller)


def jurisdiction_access(sub: Subdistrict | None, access: Scope) -> Scope:
    """The scope the requests of a jurisdiction are read in (a subdistrict's caller: always its own)."""
    return Scope(sub.code) if sub is not None and access.everything else access


_UNIT_LABELS = {"natural_hours": "小时", "working_hours": "工作时", "working_days": "工作日"}


def categories(session: Session) -> list[Category]:
    """THE one place Open311 reads the report categories: the active rows of the categories table, each
    with its name, a description of its 大类/小类 and stage limits, its 大类 as group, and attributes."""
    out = []
    for c in category_service.table(session).categories:
        if not c.active:
            continue
        limits = "，".join(
            f"{STAGE_LABELS.get(stage, stage)}{lim.value:g}{_UNIT_LABELS.get(lim.unit, lim.unit)}"
            for stage, lim in c.stage_limits.items()
        )
        description = f"{c.name}（{c.major_class}·{c.minor_class}）：{limits}"
        keywords = (c.name, c.code, c.department)
        out.append(
            Category(c.code, c.name, description, c.major_class, keywords, _ATTRIBUTES.get(c.code, ()))
        )
    return out


def category(session: Session, code: str) -> Category:
    for c in categories(session):
        if c.code == code:
            return c
    raise NotFound(f"没有服务 {code!r}", {"service_code": code})


def open311_status(status: str) -> str:
    """The workflow status as GeoReport's: terminal statuses (closed, rejected, duplicate) are `closed`,
    every other status is `open`."""
    return "closed" if status in reporting.TERMINAL else "open"


def statuses_for(open311: str) -> list[str]:
    """The workflow statuses behind a GeoReport status."""
    return [s for s in reporting.STATUSES if open311_status(s) == open311]


def agency_responsible(report: Report, directory: GridDirectory | None) -> str:
    """Who handles the report: the grid team (its micro-grid's name), a department, the community's
    volunteers, or the subdistrict centre."""
    kind, target = report.dispatch_kind, report.dispatch_target
    code = target if kind == "grid_team" else report.micro_code if kind in (None, "") else None
    if kind == "department" and target:
        return target
    if kind == "volunteer":
        return f"双报到党员（社区 {target}）"
    if code and directory is not None and code in directory.grids:
        return f"{directory.grids[code].name}网格队伍"
    if code:
        return f"微网格 {code} 网格队伍"
    return labels.SUBDISTRICT_CENTRE


def _time(value: datetime | None) -> str | None:
    return value.astimezone(BEIJING).isoformat(timespec="seconds") if value is not None else None


def request_of(
    report: Report, note: str | None, role: str, directory: GridDirectory | None
) -> dict[str, Any]:
    """One service request as `role` may see it (geo_grid/privacy.py: the public gets a coarse point, a
    road-level address, text without phone or ID numbers, never the reporter's contact)."""
    shown = privacy.report(report.as_dict(), role)
    label = reporting.status_label(report.status) or report.status
    scrubbed = privacy.text(note, role)
    category_name = report.category_label  # the categories table's name
    expected = None if report.status in reporting.TERMINAL else report.due_at
    return {
        "service_request_id": str(report.id),
        "status": open311_status(report.status),
        "status_notes": f"{label}：{scrubbed}" if scrubbed else label,
        "service_name": category_name,
        "service_code": report.category,
        "description": shown.get("description") or "",
        "agency_responsible": agency_responsible(report, directory),
        "service_notice": f"办结期限 {_time(report.due_at)}",
        "requested_datetime": _time(report.created_at),
        "updated_datetime": _time(report.closed_at or report.updated_at),
        "expected_datetime": _time(expected),
        "address": shown.get("address_text"),
        "address_id": None,
        "zipcode": None,
        "lat": shown.get("lat"),
        "long": shown.get("lon"),
        "media_url": shown["photo_urls"][0] if shown.get("photo_urls") else None,
    }


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def find_requests(
    session: Session,
    directory: GridDirectory | None,
    role: str,
    now: datetime,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    status: str | None = None,
    access: Scope = EVERYTHING,
) -> list[dict[str, Any]]:
    """GET requests: by ids (the other parameters are then ignored, as the specification says), or by
    service codes, date range (default: the last 90 days) and open/closed; newest first, at most 1000.
    Reports of a sensitive category are left out for the public; those of another subdistrict than the
    caller's (`access`, repository/scope.py) for a subdistrict's principal."""
    hidden = set(privacy.hidden_categories(role, category_service.table(session).sensitive))
    if service_request_id:
        ids = []
        for part in _split(service_request_id):
            if not part.isdigit() or not 1 <= int(part) < 2**63:
                raise InvalidInput(f"service_request_id 不正确：{part!r}")
            ids.append(int(part))
        reports = [r for i in ids if (r := report_repo.get(session, i, now)) is not None]
        reports = [r for r in reports if r.category not in hidden]
        if not access.everything:
            reports = [r for r in reports if scope_repo.report_visible(session, access, r.id)]
    else:
        codes = _split(service_code)
        known = {c.code for c in categories(session)}
        for code in codes:
            if code not in known:
                raise InvalidInput(f"没有服务 {code!r}", {"allowed": sorted(known)})
        wanted = _split(status)
        for s in wanted:
            if s not in ("open", "closed"):
                raise InvalidInput(f"status 只能是 open 或 closed，不是 {s!r}")
        until = end_date or now
        since = start_date or (until - DEFAULT_WINDOW)
        if since > until:
            raise InvalidInput("start_date 晚于 end_date")
        workflow = [s for w in wanted for s in statuses_for(w)] or None
        f = report_repo.ReportFilter(status=workflow, category=codes or None, since=since, until=until,
                                     exclude_categories=sorted(hidden), access=access)  # fmt: skip
        reports = report_repo.select(session, f, now, MAX_REQUESTS)
    notes = open311_repo.last_status_notes(session, [r.id for r in reports])
    return [request_of(r, notes.get(r.id), role, directory) for r in reports]


def one_request(
    session: Session,
    directory: GridDirectory | None,
    role: str,
    now: datetime,
    report_id: int,
    access: Scope = EVERYTHING,
) -> dict[str, Any]:
    found = find_requests(session, directory, role, now, service_request_id=str(report_id), access=access)
    if not found:
        raise ReportNotFound(f"没有服务请求 {report_id}")
    return found[0]


def request_for_token(session: Session, token: str) -> dict[str, Any]:
    """tokens/{token}: the request a token (the tracking code given at POST) stands for."""
    report_id = open311_repo.report_for_tracking_hash(session, report_service.hash_tracking_code(token))
    if report_id is None:
        raise NotFound("没有这个 token")
    return {"service_request_id": str(report_id), "token": token}


def contact(
    first_name: str | None, last_name: str | None, phone: str | None, email: str | None
) -> str | None:
    """The GeoReport contact fields as the report's reporter contact (personal data: never shown to the
    public, privacy.py)."""
    name = "".join(p.strip() for p in (last_name, first_name) if p and p.strip())
    parts = [p for p in (name, (phone or "").strip(), (email or "").strip()) if p]
    value = " ".join(parts)
    if len(value) > 200:
        raise InvalidInput("联系方式过长（最多 200 个字符）")
    return value or None


def attribute_text(cat: Category, given: Mapping[str, str]) -> str:
    """The answers to a category's attributes as a line appended to the description; required ones and
    list values are checked."""
    lines = []
    for attr in cat.attributes:
        value = (given.get(attr.code) or "").strip()
        if not value:
            if attr.required:
                raise InvalidInput(f"缺少必填属性 attribute[{attr.code}]（{attr.description}）")
            continue
        if attr.values:
            names = {v.key: v.name for v in attr.values}
            if value not in names:
                raise InvalidInput(f"attribute[{attr.code}] 只能是 {'、'.join(names)}")
            value = names[value]
        lines.append(f"{attr.description}：{value}")
    return "；".join(lines)


def discovery(base_url: str, sub: Subdistrict | None = None, title: str | None = None) -> dict[str, Any]:
    """The Service Discovery document (http://wiki.open311.org/Service_Discovery) of a jurisdiction (the
    subdistrict `sub`; None: the whole district, named by `title`)."""
    contact = (
        f"{sub.name}综治中心（网格化服务管理）"
        if sub is not None
        else f"{title or ''}各街道综治中心（网格化服务管理；jurisdiction_id 为街道编码）"
    )
    return {
        "changeset": CHANGESET,
        "contact": contact,
        "key_service": "接入密钥由街道中心发放：geo-grid exchange source add NAME",
        "endpoints": [
            {"specification": SPECIFICATION, "url": base_url.rstrip("/") + "/open311/v2", "changeset": CHANGESET,
             "type": "production", "formats": ["text/xml", "application/json"]},
        ],
    }  # fmt: skip


def service_list(session: Session) -> list[dict[str, Any]]:
    return [
        {"service_code": c.code, "service_name": c.name, "description": c.description,
         "metadata": c.metadata, "type": "realtime", "keywords": ",".join(c.keywords), "group": c.group}
        for c in categories(session)
    ]  # fmt: skip


def service_definition(session: Session, code: str) -> dict[str, Any]:
    cat = category(session, code)
    return {
        "service_code": cat.code,
        "attributes": [
            {"variable": a.variable, "code": a.code, "datatype": a.datatype, "required": a.required,
             "datatype_description": a.datatype_description, "order": a.order, "description": a.description,
             "values": [{"key": v.key, "name": v.name} for v in a.values]}
            for a in cat.attributes
        ],
    }  # fmt: skip
