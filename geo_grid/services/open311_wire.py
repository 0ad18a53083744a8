"""The Open311 GeoReport v2 wire format (services/open311.py holds the rules): the XML the specification
requires next to JSON, its list of errors, and its date parameters."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from geo_grid.errors import InvalidInput
from geo_grid.timeparse import LOCAL_TZ

# -- XML (the specification's required format) ------------------------------------------------------------

# Element name of the items of each list (the specification's XML).
_ITEM = {"services": "service", "service_requests": "request", "attributes": "attribute", "values": "value",
         "endpoints": "endpoint", "formats": "format", "errors": "error"}  # fmt: skip


def _xml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _fill(parent: ET.Element, name: str, value: Any) -> None:
    el = ET.SubElement(parent, name)
    if isinstance(value, list):
        for item in value:
            _fill(el, _ITEM.get(name, "item"), item)
    elif isinstance(value, dict):
        for k, v in value.items():
            _fill(el, k, v)
    else:
        el.text = _xml_value(value)


def to_xml(root: str, content: list[Any] | dict[str, Any]) -> bytes:
    """`content` as the specification's XML: a list under `root` (items named by _ITEM), or an object
    whose fields are the root's children. UTF-8 with the XML declaration."""
    el = ET.Element(root)
    if isinstance(content, list):
        for item in content:
            _fill(el, _ITEM.get(root, "item"), item)
    else:
        for k, v in content.items():
            _fill(el, k, v)
    return bytes(ET.tostring(el, encoding="utf-8", xml_declaration=True))


def errors_body(status: int, messages: Iterable[str]) -> list[dict[str, Any]]:
    """GeoReport errors: an array of {code, description} (code = the HTTP status)."""
    return [{"code": status, "description": m} for m in messages]


def parse_time(value: str | None, name: str) -> datetime | None:
    """A GeoReport date parameter (ISO 8601; without an offset: Beijing time, as every time input)."""
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"{name} 须为 ISO 8601 时间，不是 {value!r}") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=LOCAL_TZ)
