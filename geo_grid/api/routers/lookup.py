"""GET /lookup and POST /lookup/batch: a coordinate in, the grid chain and its people out (from memory)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, NamedTuple, cast

import anyio
import anyio.to_thread
import numpy as np
import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from numpy.typing import NDArray
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from geo_grid import crs
from geo_grid.api import batch_pool, limits
from geo_grid.api.audit_rule import personal_data_shown
from geo_grid.api.deps import PersonalShownDep, RuntimeDep
from geo_grid.api.presenters import person
from geo_grid.api.runtime import Runtime
from geo_grid.api.schemas.common import error_responses
from geo_grid.api.schemas.lookup import CrsName, LookupBatchOut, LookupOut
from geo_grid.errors import PayloadTooLarge
from geo_grid.services import lookup as lookup_service
from geo_grid.services.auth import Principal
from geo_grid.services.directory import GridDirectory, GridInfo
from geo_grid.timeparse import ApiDatetime

router = APIRouter(tags=["lookup"])


def _ref(grid: GridInfo | None) -> dict[str, str] | None:
    return {"code": grid.code, "name": grid.name} if grid else None


def placement_body(directory: GridDirectory, p: lookup_service.Placement) -> dict[str, Any]:
    community = {"code": p.community_code, "name": p.community_name} if p.community_code else None
    nearest = None
    if p.outside and p.nearest is not None:
        nearest = {
            "code": p.nearest.code,
            "name": p.nearest.name,
            "distance_m": round(p.distance_m or 0.0, 2),
        }
    # The subdistrict of the covering micro-grid (outside: of the nearest one) and its generation.
    return {
        "wgs84": {"lon": p.lon, "lat": p.lat},
        "outside": p.outside,
        "on_boundary": p.on_boundary,
        "micro": _ref(p.micro),
        "tertiary": _ref(p.tertiary),
        "community": community,
        "nearest": nearest,
        **_subdistrict_part(directory, p.micro or p.nearest),
    }


# The hot paths answer with bytes serialised by orjson (here, or in a batch worker process): the declared
# response_model documents the shape in the OpenAPI document, and FastAPI sends a returned Response as is.
@router.get(
    "/lookup",
    summary="Which micro-grid, tertiary grid and community a point is in, and who answers",
    response_model=LookupOut,
    responses=error_responses(404, 422, 503),
)
async def lookup(
    request: Request,
    runtime: RuntimeDep,
    principal: PersonalShownDep,
    lon: Annotated[float, Query(description="longitude in the given crs")],
    lat: Annotated[float, Query(description="latitude in the given crs")],
    crs_name: Annotated[CrsName, Query(alias="crs", description="input coordinate system")] = "wgs84",
    at: Annotated[
        ApiDatetime | None, Query(description="answer with the boundaries active then (ISO 8601)")
    ] = None,
    generation: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="a generation id")] = None,
) -> Response:
    directory = lookup_service.require(runtime.directory.current)
    if at is not None or generation is not None:
        directory = await _past_directory(runtime, directory, at, generation)
    answer = lookup_json(directory, lon, lat, crs_name, principal)
    personal_data_shown(request, answer.personal)  # audited only when it showed people unmasked
    return Response(answer.body, media_type="application/json")


class LookupAnswer(NamedTuple):
    body: bytes  # the JSON body (LookupOut)
    personal: bool  # whether it shows people unmasked (audited as a read of personal data, api/audit_rule.py)


def lookup_json(
    directory: GridDirectory, lon: float, lat: float, crs_name: str, principal: Principal
) -> LookupAnswer:
    """GET /lookup's JSON body (LookupOut) and whether it shows personal data (people of a micro-grid the
    caller sees unmasked, `Principal.sees_personal_data_in`), for the route and for its fast path
    (api/lookup_fastpath.py).

    Written as bytes, not through FastAPI's generic encoder (which walks every person and costs more than
    the lookup itself): what depends only on the micro-grid — the grid chain with its subdistrict, and
    its people as this caller may see them — is serialised once per grid into the directory's memo (a
    new directory, after any change, starts with an empty one); a request adds its point, its flags and
    its query around them. The bytes are those of orjson.dumps of the same dict, key for key."""
    x, y = lookup_service.to_wgs84(lon, lat, crs_name)
    placement = lookup_service.place(directory, x, y)
    query = orjson.dumps({"lon": lon, "lat": lat, "crs": crs_name})
    if placement.micro is None:  # outside every grid: the nearest one and its distance, per point
        head = orjson.dumps(placement_body(directory, placement))[:-1]
        return LookupAnswer(head + b',"query":' + query + b',"people":[]}', False)
    flags = b',"outside":false,"on_boundary":true,' if placement.on_boundary else _INSIDE
    people = _people_json(directory, placement, principal)
    body = b"".join(
        (
            b'{"wgs84":',
            orjson.dumps({"lon": x, "lat": y}),
            flags,
            _grid_json(directory, placement),
            b',"query":',
            query,
            b',"people":',
            people,
            b"}",
        )
    )
    return LookupAnswer(body, people != b"[]" and principal.sees_personal_data_in(placement.micro.code))


_INSIDE = b',"outside":false,"on_boundary":false,'


def _grid_json(directory: GridDirectory, placement: lookup_service.Placement) -> bytes:
    """`"micro":…,"tertiary":…,"community":…,"nearest":null,"subdistrict":…,"generation":…` of a point
    inside a micro-grid: the same for every point of that grid, so serialised once per grid."""
    assert placement.micro is not None
    key = ("lookup_grid_json", placement.micro.code)
    cached = directory.memo.get(key)
    if cached is None:
        body = placement_body(directory, placement)
        part = {
            k: body[k] for k in ("micro", "tertiary", "community", "nearest", "subdistrict", "generation")
        }
        cached = directory.memo[key] = orjson.dumps(part)[1:-1]
    return cast(bytes, cached)


def _people_json(
    directory: GridDirectory, placement: lookup_service.Placement, principal: Principal
) -> bytes:
    """The placement's people as this caller may see them (`_people`), serialised once per micro-grid and
    visibility."""
    if placement.micro is None:
        return b"[]"
    key = ("lookup_people_json", placement.micro.code, principal.sees_personal_data_in(placement.micro.code))
    cached = directory.memo.get(key)
    if cached is None:
        cached = directory.memo[key] = orjson.dumps(_people(directory, placement, principal))
    return cast(bytes, cached)


async def _past_directory(
    runtime: Runtime, current: GridDirectory, at: datetime | None, generation: int | None
) -> GridDirectory:
    """A past moment's directory. A miss builds in one worker thread at a time (anyio limiter): callers
    waiting for a build wait on the event loop, holding no thread, and the cache answers them after it."""
    past, factory = runtime.past_directories, runtime.session_factory
    gen_id, stamp = await run_in_threadpool(past.identify, factory, at, generation)
    if current.generation_ids == gen_id:  # several subdistricts: `at` names each one's (past_directories)
        return current
    hit = past.cached(gen_id, stamp)
    if hit is not None:
        return hit
    limiter = runtime.past_build_limiter
    return await anyio.to_thread.run_sync(past.build, factory, gen_id, stamp, limiter=limiter)


def _people(
    directory: GridDirectory, placement: lookup_service.Placement, principal: Principal
) -> list[dict[str, Any]]:
    """The placement's people as presented to this caller; built once per micro-grid and visibility
    (masking ~15 people per request was most of the endpoint's own time)."""
    if placement.micro is None:
        return []
    code = placement.micro.code
    key = ("lookup_people", code, principal.sees_personal_data_in(code))
    cached = directory.memo.get(key)
    if cached is None:
        people = lookup_service.responsible_people(directory, placement)
        cached = directory.memo[key] = [person(p, principal, code).model_dump() for p in people]
    return cast(list[dict[str, Any]], cached)


class BatchRequest(BaseModel):
    crs: CrsName = Field(default="wgs84", description="points 的坐标系")
    points: list[Any] = Field(
        description="[[lon, lat], ...]，最多 100,000 个点", examples=[[[113.6887, 34.7683]]]
    )


@router.post(
    "/lookup/batch",
    summary="Look up many points at once; one result per point, in order",
    openapi_extra=limits.json_body_doc(BatchRequest),
    response_model=LookupBatchOut,
    responses=error_responses(413, 422, 429, 503),
)
async def lookup_batch(request: Request, runtime: RuntimeDep) -> Response:
    # The body is read here but parsed, placed and serialised in a worker process (api/limits.run_batch,
    # api/batch_pool): a 100,000-point batch is ~0.5 s of CPU that must not stall single lookups.
    raw = await request.body()
    directory = lookup_service.require(runtime.directory.current)
    settings = runtime.settings
    args = (
        settings.database_url,
        directory.generation_ids,
        directory.built_at,
        raw,
        settings.max_batch_points,
    )
    body = await limits.run_batch(request, "lookup", batch_pool.lookup_batch, *args)
    return Response(body, media_type="application/json")


def compute_batch(raw: bytes, directory: GridDirectory, max_points: int) -> bytes:
    """The batch's JSON answer (runs in a batch worker process, api/batch_pool)."""
    body = limits.parse_json_body(raw, BatchRequest)
    n = len(body.points)
    if n > max_points:
        raise PayloadTooLarge(f"{n} points in one request; at most {max_points} — split the batch")
    lon, lat, errors = _parse_points(body.points)
    wlon, wlat = crs.to_wgs84(lon, lat, body.crs)
    bulk = lookup_service.place_many(directory, wlon, wlat)
    results = _batch_results(directory, bulk, errors)
    # orjson: the 100,000-point answer is ~30 MB of JSON, which the stdlib encoder takes ~0.4 s to write
    return orjson.dumps(
        {"crs": body.crs, "generation": directory.generation_id, "count": n, "results": results}
    )


def _parse_points(points: list[Any]) -> tuple[NDArray[np.float64], NDArray[np.float64], dict[int, str]]:
    """Coordinates as arrays (NaN where invalid) and a message per invalid point."""
    fast = _parse_points_fast(points)
    if fast is not None:
        return fast
    n = len(points)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    errors: dict[int, str] = {}
    for i, pt in enumerate(points):
        try:
            if not isinstance(pt, list | tuple) or len(pt) != 2:
                raise ValueError  # e.g. a dict or a triple: pt[0] would mean something else
            x, y = float(pt[0]), float(pt[1])
        except (TypeError, ValueError, OverflowError):
            errors[i] = "a point is [lon, lat] with two numbers"
            continue
        if not (math.isfinite(x) and math.isfinite(y)):
            errors[i] = "lon and lat must be finite numbers"
        elif not (-180 <= x <= 180 and -90 <= y <= 90):
            errors[i] = "out of range: lon must be in [-180, 180], lat in [-90, 90]"
        else:
            lon[i], lat[i] = x, y
    return lon, lat, errors


def _parse_points_fast(
    points: list[Any],
) -> tuple[NDArray[np.float64], NDArray[np.float64], dict[int, str]] | None:
    """The common case in one vectorised step: every point is a pair of plain numbers (no strings, no
    nulls, all finite). None sends anything else to the per-point loop and its exact messages."""
    if not points or not all(type(p) is list and len(p) == 2 for p in points):
        return None
    flat = [v for p in points for v in p]
    if not all(type(v) is float or type(v) is int for v in flat):
        return None
    try:
        xy = np.array(flat, dtype=np.float64).reshape(-1, 2)
    except (OverflowError, ValueError):
        return None
    if not np.isfinite(xy).all():
        return None
    lon, lat = xy[:, 0].copy(), xy[:, 1].copy()
    bad = ~((lon >= -180) & (lon <= 180) & (lat >= -90) & (lat <= 90))
    errors = {
        int(i): "out of range: lon must be in [-180, 180], lat in [-90, 90]" for i in np.flatnonzero(bad)
    }
    lon[bad] = np.nan
    lat[bad] = np.nan
    return lon, lat, errors


def _batch_results(
    directory: GridDirectory, bulk: lookup_service.BulkPlacement, errors: dict[int, str]
) -> list[dict[str, Any]]:
    """One body per point, like placement_body; the parts that depend only on the grid are built once
    per grid and shared (100,000 points fall into at most a few hundred grids)."""
    codes, grids = directory.index.codes, directory.grids
    inside: dict[int, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    rows = zip(
        bulk.lon.tolist(),
        bulk.lat.tolist(),
        bulk.pos.tolist(),
        bulk.on_boundary.tolist(),
        bulk.nearest.tolist(),
        bulk.distance_m.tolist(),
        strict=True,
    )
    for i, (x, y, pos, tie, near, dist) in enumerate(rows):
        if errors and i in errors:
            results.append({"index": i, "error": {"code": "invalid_coordinates", "message": errors[i]}})
            continue
        point = {"lon": x, "lat": y}
        if pos >= 0:
            part = inside.get(pos)
            if part is None:
                micro, tertiary = directory.chain(codes[pos])
                part = inside[pos] = {
                    "micro": _ref(micro),
                    "tertiary": _ref(tertiary),
                    "community": {
                        "code": micro.community_code,
                        "name": directory.communities.get(micro.community_code),
                    },
                    **_subdistrict_part(directory, micro),
                    "nearest": None,
                }
            results.append({"index": i, "wgs84": point, "outside": False, "on_boundary": tie, **part})
            continue
        nearest, g = None, None
        if near >= 0:
            g = grids[codes[near]]
            nearest = {"code": g.code, "name": g.name, "distance_m": round(dist, 2)}
        results.append(
            {
                "index": i,
                "wgs84": point,
                "outside": True,
                "on_boundary": False,
                "micro": None,
                "tertiary": None,
                "community": None,
                "nearest": nearest,
                **_subdistrict_part(directory, g),
            }
        )
    return results


def _subdistrict_part(directory: GridDirectory, grid: GridInfo | None) -> dict[str, Any]:
    """`subdistrict` and `generation` of an answer: of the grid's subdistrict (none: the directory's)."""
    sub = directory.subdistrict_of(grid)
    if sub is None:
        return {"subdistrict": None, "generation": directory.generation_id}
    return {
        "subdistrict": {"code": sub.code, "name": sub.name},
        "generation": directory.generations.get(sub.code, directory.generation_id),
    }
