"""GET /lookup/address and POST /lookup/address/batch: an address text in, the standard address, its grid
chain and its people (微网格长, 网格长, 楼院长, 路段长) out — from memory, no SQL per lookup.

Statuses: `matched` → 200 with the single answer; `ambiguous` → 200 with `status: "ambiguous"`, the
ranked `candidates` and no `address`/`grid`/`people` (a 200, not 300/409: the request itself succeeded and
the caller must pick — nothing is guessed); `not_found` → 404 `address_not_found` whose `detail` holds the
closest `suggestions`. In a batch every query gets its result object in order, not found included.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from geo_grid.api import batch_pool, limits
from geo_grid.api.deps import PlannerDep, PrincipalDep, RuntimeDep
from geo_grid.api.presenters import person
from geo_grid.api.runtime import Runtime
from geo_grid.api.schemas.addresses import AddressBatchOut, AddressLookupOut, AddressReloadOut
from geo_grid.api.schemas.common import error_responses
from geo_grid.errors import AddressNotFound, PayloadTooLarge, QueryTooLong
from geo_grid.geocoding import Candidate
from geo_grid.services import addresses as address_service
from geo_grid.services import lookup as lookup_service
from geo_grid.services.auth import Principal
from geo_grid.services.directory import GridDirectory, GridInfo

router = APIRouter(tags=["addresses"])


def _candidate(c: Candidate) -> dict[str, Any]:
    return {
        "level": c.level,
        "confidence": round(c.confidence, 4),
        "address": c.address,
        "address_id": c.address_id,
        "representative_id": c.representative_id,
        "n_addresses": c.n_addresses,
        "road": c.road or None,
        "number": c.number or None,
        "courtyard": c.courtyard or None,
        "building": c.building or None,
        "unit": c.unit or None,
        "point": {"lon": c.lon, "lat": c.lat},
        "unmatched": list(c.unmatched),
        "precision_m": c.precision_m,
        "place_kind": c.place_kind or None,
        "place_id": c.place_id or None,
    }


def _ref(grid: GridInfo | None) -> dict[str, str] | None:
    return {"code": grid.code, "name": grid.name} if grid else None


def resolution_body(res: address_service.Resolution, principal: Principal) -> dict[str, Any]:
    r = res.result
    body: dict[str, Any] = {"query": r.query, "normalized": r.normalized, "status": r.status}
    body["qualifier"] = r.qualifier
    if res.best is None or res.point is None or res.placement is None:
        body["confidence"] = round(r.confidence, 4)
        key = "suggestions" if r.status == "not_found" else "candidates"
        body[key] = [_candidate(c) for c in r.candidates]
        return body
    best, point, p = res.best, res.point, res.placement
    body |= {
        "level": best.level,
        "confidence": round(best.confidence, 4),
        "address": _candidate(best),
        # The grid and the people are those of this door plate: the address itself at unit level, the
        # group's address nearest to its centroid at coarser levels.
        "located_by": {
            "address_id": point.address_id,
            "address": point.address,
            "lon": point.lon,
            "lat": point.lat,
        }
        if res.is_door_plate
        else None,
        "precision_m": res.precision_m,
        "grid": {
            "micro": _ref(p.micro),
            "tertiary": _ref(p.tertiary),
            "community": {"code": p.community_code, "name": p.community_name} if p.community_code else None,
            "outside": p.outside,
        },
        "courtyard": {"courtyard_id": point.courtyard[0], "name": point.courtyard[1]}
        if point.courtyard
        else None,
        "road_segment": (
            {
                "segment_id": point.segment[0],
                "road_name": point.segment[1],
                "distance_m": round(point.segment[2], 1),
            }
            if point.segment
            else None
        ),
        "people": {
            # as dicts: the batch answer is serialised by orjson in a worker process
            role: [
                person(x, principal, p.micro.code if p.micro else None).model_dump()
                for x in res.people.get(role, ())
            ]
            for role in address_service.ANSWER_ROLES
        },
        "candidates": [_candidate(c) for c in r.candidates],
        "grid_candidates": [_grid_candidate(g, principal) for g in res.grid_candidates],
    }
    return body


def _grid_candidate(g: address_service.GridCandidate, principal: Principal) -> dict[str, Any]:
    return {
        "micro": _ref(g.micro),
        "tertiary": _ref(g.tertiary),
        "distance_m": g.distance_m,
        "primary": g.primary,
        "people": {
            role: [person(x, principal, g.micro.code if g.micro else None).model_dump() for x in xs]
            for role, xs in g.people.items()
        },
    }


def _resolve(runtime: Runtime, query: str) -> address_service.Resolution:
    book = address_service.require(runtime.address_book.current)
    directory = lookup_service.require(runtime.directory.current)
    return address_service.resolve(book, directory, query)


def _too_long(n: int, max_chars: int) -> QueryTooLong:
    return QueryTooLong(f"地址过长：{n} 个字符，最多 {max_chars} 个", {"length": n, "max_chars": max_chars})


@router.get(
    "/lookup/address",
    summary="Who answers for this address: standard address, grid chain, people",
    response_model=AddressLookupOut,
    # exclude_unset: an ambiguous answer has no address/grid/people keys (not nulls), as documented
    response_model_exclude_unset=True,
    responses=error_responses(404, 422, 503),
)
async def lookup_address(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    q: Annotated[
        str,
        Query(min_length=1, max_length=300, description="the address as typed, e.g. 经三路151号院1号楼1单元"),
    ],
) -> dict[str, Any]:
    max_chars = runtime.settings.max_query_chars
    if len(q) > max_chars:
        raise _too_long(len(q), max_chars)
    res = _resolve(runtime, q)
    body = resolution_body(res, principal)
    if res.result.status == "not_found":
        raise AddressNotFound(
            f"no standard address matches {q!r}",
            {"query": q, "normalized": body["normalized"], "suggestions": body["suggestions"]},
        )
    return body


class AddressBatch(BaseModel):
    queries: list[str] = Field(
        description=f"地址文本，最多 {address_service.MAX_BATCH_QUERIES:,} 条，每条最多 300 个字符",
        examples=[["经三路158号院1号楼1单元", "经三路151号院"]],
    )


@router.post(
    "/lookup/address/batch",
    summary="Look up many addresses; one result per query, in order",
    openapi_extra=limits.json_body_doc(AddressBatch),
    # The answer is bytes from a worker process (not re-validated); the model documents their shape.
    response_model=AddressBatchOut,
    responses=error_responses(413, 422, 429, 503),
)
async def lookup_address_batch(request: Request, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    """Each query gets its result at its `index`: matched, ambiguous, not_found, or `invalid` with an
    `error` (a query longer than the cap, `query_too_long`) — one bad query never fails the batch."""
    raw = await request.body()
    book = address_service.require(runtime.address_book.current)
    directory = lookup_service.require(runtime.directory.current)
    settings = runtime.settings
    # 10,000 matches take seconds: parsed, matched and serialised in a worker process (api/batch_pool).
    args = (
        settings.database_url,
        directory.generation_ids,
        directory.built_at,
        book.built_at,
        raw,
        principal,
    )
    body = await limits.run_batch(
        request, "address", batch_pool.address_batch, *args, settings.max_query_chars
    )
    return Response(body, media_type="application/json")


def compute_batch(
    raw: bytes,
    book: address_service.AddressBook,
    directory: GridDirectory,
    principal: Principal,
    max_chars: int,
) -> bytes:
    """The batch's JSON answer (runs in a batch worker process)."""
    queries = limits.parse_json_body(raw, AddressBatch).queries
    n = len(queries)
    if n > address_service.MAX_BATCH_QUERIES:
        raise PayloadTooLarge(
            f"{n} queries in one request; at most {address_service.MAX_BATCH_QUERIES} — split the batch"
        )
    results: list[dict[str, Any]] = []
    # Identical queries are resolved once (spreadsheets repeat addresses; floods repeat one text).
    seen: dict[str, dict[str, Any]] = {}
    for i, q in enumerate(queries):
        if len(q) > max_chars:
            err = _too_long(len(q), max_chars)
            results.append({"index": i, "query": q[:max_chars], "status": "invalid", "error": err.to_dict()})
            continue
        body = seen.get(q)
        if body is None:
            body = seen[q] = resolution_body(address_service.resolve(book, directory, q), principal)
        results.append({"index": i, **body})
    counts = {s: 0 for s in ("matched", "ambiguous", "not_found", "invalid")}
    for r in results:
        counts[r["status"]] += 1
    return orjson.dumps({"count": n, **counts, "results": results})


@router.post(
    "/lookup/address/reload",
    summary="Rebuild the in-memory address matcher from the database (planner)",
    response_model=AddressReloadOut,
    responses=error_responses(401, 403),
)
def reload_addresses(runtime: RuntimeDep, principal: PlannerDep) -> dict[str, Any]:
    """After `geo-grid import addresses … --commit` on a running server: build the new matcher aside and
    swap it in (lookups keep answering from the old one meanwhile)."""
    book = runtime.after_address_import()
    return {"addresses": len(book.points), "built_at": book.built_at.isoformat()}
