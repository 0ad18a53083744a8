"""Open311 GeoReport v2 under /open311/v2, checked against the specification's field lists and types
(http://wiki.open311.org/GeoReport_v2 and …/Service_Discovery; written out below), in JSON and in XML
(parsed with a real XML parser), with requests posted and read back through both formats; privacy for
the public (geo_grid/privacy.py) and errors as arrays of {code, description}."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from tests.support.api import bearer, create_tokens
from tests.support.report_helpers import interior_point

BASE = "/open311/v2"
MICRO = "410105012004003005"

# -- The specification's field lists and types ---------------------------------------------------------
DATETIME, DECIMAL, STRING, BOOL, INT = "datetime", "decimal", "string", "boolean", "integer"
DISCOVERY = {"changeset": DATETIME, "contact": STRING, "key_service": STRING, "endpoints": list}
ENDPOINT = {"specification": STRING, "url": STRING, "changeset": DATETIME, "type": STRING, "formats": list}
SERVICE = {"service_code": STRING, "service_name": STRING, "description": STRING, "metadata": BOOL,
           "type": STRING, "keywords": STRING, "group": STRING}  # fmt: skip
SERVICE_TYPES = {"realtime", "batch", "blackbox"}
DEFINITION = {"service_code": STRING, "attributes": list}
ATTRIBUTE = {"variable": BOOL, "code": STRING, "datatype": STRING, "required": BOOL,
             "datatype_description": STRING, "order": INT, "description": STRING, "values": list}  # fmt: skip
DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
VALUE = {"key": STRING, "name": STRING}
REQUEST = {"service_request_id": STRING, "status": STRING, "status_notes": STRING, "service_name": STRING,
           "service_code": STRING, "description": STRING, "agency_responsible": STRING,
           "service_notice": STRING, "requested_datetime": DATETIME, "updated_datetime": DATETIME,
           "expected_datetime": DATETIME, "address": STRING, "address_id": STRING, "zipcode": STRING,
           "lat": DECIMAL, "long": DECIMAL, "media_url": STRING}  # fmt: skip
POSTED = {"service_request_id": STRING, "token": STRING, "service_notice": STRING, "account_id": STRING}
TOKEN = {"service_request_id": STRING, "token": STRING}
ERROR = {"code": INT, "description": STRING}
# ISO 8601 with the time zone (Z or ±HH:MM), as the specification requires of every date/time.
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def _json_ok(value: Any, kind: Any) -> bool:
    if value is None:
        return kind not in (BOOL, list)  # optional scalar fields may be null
    if kind is list:
        return isinstance(value, list)
    if kind == DATETIME:
        return isinstance(value, str) and bool(ISO.match(value))
    if kind == DECIMAL:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == BOOL:
        return isinstance(value, bool)
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def check_json(obj: dict[str, Any], fields: dict[str, Any]) -> None:
    assert set(obj) == set(fields), set(obj) ^ set(fields)
    for name, kind in fields.items():
        assert _json_ok(obj[name], kind), (name, obj[name])


def _xml_ok(text: str | None, kind: Any) -> bool:
    if not text:
        return kind not in (BOOL, INT)
    if kind == DATETIME:
        return bool(ISO.match(text))
    if kind == DECIMAL:
        return re.fullmatch(r"-?\d+(\.\d+)?", text) is not None
    if kind == BOOL:
        return text in ("true", "false")
    if kind == INT:
        return text.isdigit()
    return True


def check_xml(el: ET.Element, fields: dict[str, Any]) -> dict[str, str | None]:
    """An element's children are exactly the specification's fields, typed; returns name → text."""
    children = {c.tag: c for c in el}
    assert set(children) == set(fields), set(children) ^ set(fields)
    for name, kind in fields.items():
        if kind is not list:
            assert _xml_ok(children[name].text, kind), (name, children[name].text)
    return {name: children[name].text for name in fields if fields[name] is not list}


def parse(response: Any) -> ET.Element:
    assert response.headers["content-type"].startswith("text/xml"), response.headers["content-type"]
    assert response.content.startswith(
        b"<?xml version='1.0' encoding='utf-8'?>"
    ) or response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(response.content)


# -- Fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env(db_factory: Callable[[], str], make_client: Callable[..., Any]) -> Iterator[dict[str, Any]]:
    url = db_factory()
    tokens = create_tokens(url)
    with make_client(url, outbox_poll_s=0, rate_anonymous_writes_per_min=0) as client:
        r = client.post("/exchange/sources", json={"name": "district"}, headers=bearer(tokens["admin"]))
        assert r.status_code == 201, r.text
        yield {"client": client, "tokens": tokens, "key": r.json()["api_key"]}


def _form(env: dict[str, Any], **extra: Any) -> dict[str, Any]:
    lon, lat = interior_point(MICRO)
    return {"api_key": env["key"], "service_code": "littering", "lat": lat, "long": lon,
            "description": "楼下垃圾堆放，联系我 13812345678", **extra}  # fmt: skip


# -- Tests ---------------------------------------------------------------------------------------------


def test_discovery_in_json_and_xml(env: dict[str, Any]) -> None:
    client = env["client"]
    body = client.get(f"{BASE}/discovery.json").json()
    check_json(body, DISCOVERY)
    for endpoint in body["endpoints"]:
        check_json(endpoint, ENDPOINT)
        assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert endpoint["url"].endswith("/open311/v2") and set(endpoint["formats"]) == {
            "text/xml",
            "application/json",
        }
    root = parse(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    check_xml(root, DISCOVERY)
    endpoints = root.find("endpoints")
    assert endpoints is not None
    for ep in endpoints.findall("endpoint"):
        check_xml(ep, ENDPOINT)
        assert [f.text for f in ep.findall("formats/format")] == ["text/xml", "application/json"]


def test_services_and_definitions_in_json_and_xml(env: dict[str, Any]) -> None:
    client = env["client"]
    services = client.get(f"{BASE}/services.json").json()
    for s in services:
        check_json(s, SERVICE)
        assert s["type"] in SERVICE_TYPES
    listed = client.get("/categories").json()["items"]
    assert [s["service_code"] for s in services] == [c["code"] for c in listed if c.get("active", True)]
    assert {s["group"] for s in services} <= {c["major_class"] for c in listed}
    root = parse(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    xml_services = [check_xml(el, SERVICE) for el in root.findall("service")]
    assert [s["service_code"] for s in xml_services] == [s["service_code"] for s in services]
    assert [s["metadata"] for s in xml_services] == [str(s["metadata"]).lower() for s in services]
    with_attributes = [s["service_code"] for s in services if s["metadata"]]
    assert "noise" in with_attributes
    for code in (s["service_code"] for s in services):
        d = client.get(f"{BASE}/services/{code}.json").json()
        check_json(d, DEFINITION)
        assert d["service_code"] == code and bool(d["attributes"]) == (code in with_attributes)
        for a in d["attributes"]:
            check_json(a, ATTRIBUTE)
            assert a["datatype"] in DATATYPES
            for v in a["values"]:
                check_json(v, VALUE)
        droot = parse(client.get(f"{BASE}/services/{code}.xml"))
        assert droot.tag == "service_definition"
        check_xml(droot, DEFINITION)
        xml_attrs = droot.findall("attributes/attribute")
        assert [check_xml(a, ATTRIBUTE)["code"] for a in xml_attrs] == [a["code"] for a in d["attributes"]]
        for a in xml_attrs:
            for v in a.findall("values/value"):
                check_xml(v, VALUE)
    assert client.get(f"{BASE}/services.json", params={"jurisdiction_id": "410105012"}).status_code == 200


def _errors_json(r: Any, status: int) -> list[dict[str, Any]]:
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body, list) and body
    for e in body:
        check_json(e, ERROR)
        assert e["code"] == status
    return body


def _errors_xml(r: Any, status: int) -> None:
    assert r.status_code == status, r.text
    root = parse(r)
    assert root.tag == "errors" and root.findall("error")
    for e in root.findall("error"):
        assert check_xml(e, ERROR)["code"] == str(status)


def test_errors_are_arrays_of_code_and_description(env: dict[str, Any]) -> None:
    client = env["client"]
    _errors_json(client.get(f"{BASE}/services/ufo.json"), 404)
    _errors_xml(client.get(f"{BASE}/services/ufo.xml"), 404)
    _errors_json(client.get(f"{BASE}/requests/999999999.json"), 404)
    _errors_xml(client.get(f"{BASE}/requests/999999999.xml"), 404)
    _errors_json(client.get(f"{BASE}/requests.json", params={"status": "pending"}), 400)
    _errors_json(client.get(f"{BASE}/requests.json", params={"start_date": "yesterday"}), 400)
    _errors_json(client.get(f"{BASE}/services.json", params={"jurisdiction_id": "110000"}), 400)
    _errors_json(client.post(f"{BASE}/requests.json", data=_form(env, api_key="wrong")), 403)
    _errors_xml(client.post(f"{BASE}/requests.xml", data=_form(env, api_key="wrong")), 403)
    missing = {k: v for k, v in _form(env).items() if k != "api_key"}
    _errors_json(client.post(f"{BASE}/requests.json", data=missing), 400)
    _errors_xml(client.post(f"{BASE}/requests.xml", data=missing), 400)
    nowhere = {k: v for k, v in _form(env).items() if k not in ("lat", "long")}
    _errors_json(client.post(f"{BASE}/requests.json", data=nowhere), 400)
    _errors_json(
        client.post(f"{BASE}/requests.json", data=_form(env, service_code="noise")), 400
    )  # required attr
    _errors_json(client.get(f"{BASE}/tokens/nope.json"), 404)


def test_post_and_read_back_through_json_and_xml(env: dict[str, Any]) -> None:
    client = env["client"]
    contact = {"first_name": "小明", "last_name": "王", "phone": "13912345678", "email": "wang@example.cn"}
    form = _form(env, service_code="noise", **contact, media_url="https://img.example.cn/1.jpg")
    form["attribute[noise_period]"] = "night"
    posted = client.post(f"{BASE}/requests.json", data=form)
    assert posted.status_code == 201, posted.text
    [created] = posted.json()
    check_json(created, POSTED)
    rid = created["service_request_id"]
    xml_posted = client.post(f"{BASE}/requests.xml", data=_form(env))
    assert xml_posted.status_code == 201
    root = parse(xml_posted)
    assert root.tag == "service_requests"
    [xml_created] = [check_xml(el, POSTED) for el in root.findall("request")]
    xid = xml_created["service_request_id"]
    assert xid and xid != rid

    for sid in (rid, xid):
        [one] = client.get(f"{BASE}/requests/{sid}.json").json()
        check_json(one, REQUEST)
        rroot = parse(client.get(f"{BASE}/requests/{sid}.xml"))
        assert rroot.tag == "service_requests"
        [xml_one] = [check_xml(el, REQUEST) for el in rroot.findall("request")]
        # The same request through both formats.
        for name, value in one.items():
            expected = (
                None if value is None else str(value).lower() if isinstance(value, bool) else str(value)
            )
            assert (xml_one[name] or None) == expected, name
        assert one["status"] == "open" and one["service_request_id"] == sid
    [mine] = client.get(f"{BASE}/requests/{rid}.json").json()
    assert mine["service_code"] == "noise" and "夜间" in mine["description"]
    assert mine["media_url"] == "https://img.example.cn/1.jpg"
    assert mine["agency_responsible"].endswith("网格队伍")
    # Public: coarse point, no phone numbers, never the contact fields.
    public_text = (
        client.get(f"{BASE}/requests/{rid}.json").text + client.get(f"{BASE}/requests/{rid}.xml").text
    )
    for secret in ("13912345678", "13812345678", "wang@example.cn", "小明"):
        assert secret not in public_text
    assert round(mine["lat"], 3) == mine["lat"]
    # A dispatcher sees the exact point; the contact is the report's (dispatcher-only) reporter_contact.
    [full] = client.get(f"{BASE}/requests/{rid}.json", headers=bearer(env["tokens"]["dispatcher"])).json()
    assert full["lat"] == pytest.approx(float(form["lat"]))
    report = client.get(f"/reports/{rid}", headers=bearer(env["tokens"]["dispatcher"])).json()
    assert (
        report["reporter_contact"] == "王小明 13912345678 wang@example.cn" and report["channel"] == "hotline"
    )
    # The token (shown once at POST) names the request, in both formats.
    [tok] = client.get(f"{BASE}/tokens/{created['token']}.json").json()
    check_json(tok, TOKEN)
    assert tok["service_request_id"] == rid
    troot = parse(client.get(f"{BASE}/tokens/{created['token']}.xml"))
    assert [check_xml(el, TOKEN)["service_request_id"] for el in troot.findall("request")] == [rid]


def test_get_requests_filters_and_status_mapping(env: dict[str, Any]) -> None:
    client, disp = env["client"], bearer(env["tokens"]["dispatcher"])
    a = client.post(f"{BASE}/requests.json", data=_form(env, service_code="illegal_advertising")).json()[0]
    b = client.post(f"{BASE}/requests.json", data=_form(env, service_code="illegal_advertising")).json()[0]
    r = client.post(f"/reports/{b['service_request_id']}/transitions", json={"to": "rejected", "note": "不属实"},
                    headers=disp)  # fmt: skip
    assert r.status_code == 200
    got = client.get(f"{BASE}/requests.json", params={"service_code": "illegal_advertising"}).json()
    by_id = {g["service_request_id"]: g for g in got}
    assert by_id[a["service_request_id"]]["status"] == "open"
    assert by_id[b["service_request_id"]]["status"] == "closed"
    assert by_id[b["service_request_id"]]["status_notes"] == "不予受理：不属实"
    ours = {a["service_request_id"], b["service_request_id"]}
    for fmt in ("json", "xml"):
        for status, expected in (("closed", [b["service_request_id"]]), ("open", [a["service_request_id"]])):
            r = client.get(
                f"{BASE}/requests.{fmt}", params={"service_code": "illegal_advertising", "status": status}
            )
            if fmt == "json":
                rows = [(g["service_request_id"], g["status"]) for g in r.json()]
            else:
                rows = [
                    (el.findtext("service_request_id"), el.findtext("status"))
                    for el in parse(r).findall("request")
                ]
            assert {s for _, s in rows} == {status}
            assert [i for i, _ in rows if i in ours] == expected
    both = client.get(
        f"{BASE}/requests.json",
        params={"service_request_id": f"{a['service_request_id']},{b['service_request_id']}"},
    )
    assert {g["service_request_id"] for g in both.json()} == {
        a["service_request_id"],
        b["service_request_id"],
    }
    # Dates: a window that ends before the requests were made holds none of them.
    made = datetime.fromisoformat(by_id[a["service_request_id"]]["requested_datetime"])
    before = client.get(f"{BASE}/requests.json", params={"service_code": "illegal_advertising",
                                                          "end_date": made.replace(year=made.year - 1).isoformat()})  # fmt: skip
    assert before.json() == []
    around = client.get(f"{BASE}/requests.json", params={"service_code": "illegal_advertising",
                                                          "start_date": made.replace(microsecond=0).isoformat()})  # fmt: skip
    assert {a["service_request_id"], b["service_request_id"]} <= {
        g["service_request_id"] for g in around.json()
    }


def test_sensitive_requests_are_hidden_from_the_public(env: dict[str, Any]) -> None:
    client = env["client"]
    [made] = client.post(f"{BASE}/requests.json", data=_form(env, service_code="elderly_fraud")).json()
    sid = made["service_request_id"]
    _errors_json(client.get(f"{BASE}/requests/{sid}.json"), 404)
    public = client.get(f"{BASE}/requests.json", params={"service_code": "elderly_fraud"}).json()
    assert public == []
    disp = bearer(env["tokens"]["dispatcher"])
    assert client.get(f"{BASE}/requests/{sid}.json", headers=disp).json()[0]["service_request_id"] == sid


def test_post_with_external_id_is_idempotent(env: dict[str, Any]) -> None:
    client = env["client"]
    first = client.post(f"{BASE}/requests.json", data=_form(env, external_id="D-77"))
    assert first.status_code == 201
    again = client.post(f"{BASE}/requests.xml", data=_form(env, external_id="D-77"))
    assert again.status_code == 200
    [row] = [check_xml(el, POSTED) for el in parse(again).findall("request")]
    assert row["service_request_id"] == first.json()[0]["service_request_id"] and not row["token"]


def test_post_with_an_address_string_is_placed_through_the_address_lookup(env: dict[str, Any]) -> None:
    client, disp = env["client"], bearer(env["tokens"]["dispatcher"])
    form = {k: v for k, v in _form(env).items() if k not in ("lat", "long")}
    posted = client.post(f"{BASE}/requests.json", data={**form, "address_string": "经三路151号院1号楼1单元"})
    assert posted.status_code == 201, posted.text
    [full] = client.get(f"{BASE}/requests/{posted.json()[0]['service_request_id']}.json", headers=disp).json()
    assert full["lat"] == pytest.approx(34.7679479, abs=1e-6) and full["long"] == pytest.approx(
        113.6862721, abs=1e-6
    )
    [public] = client.get(f"{BASE}/requests/{posted.json()[0]['service_request_id']}.json").json()
    assert public["address"] == "经三路"  # the public sees the road only
    unknown = client.post(f"{BASE}/requests.json", data={**form, "address_string": "火星路999号"})
    _errors_json(unknown, 400)
