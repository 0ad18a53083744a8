"""Typed FastAPI dependencies: the app's runtime and its parts (settings, snapshots, caches; api/runtime.py),
one transaction per request, the caller's principal with its access scope, and its role. Which requests
they audit, and how: api/audit_rule.py."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from geo_grid.api.audit_rule import audit_after, audit_write, is_write, personal_shown, route_path
from geo_grid.api.runtime import Runtime, runtime_of
from geo_grid.db import transaction
from geo_grid.errors import (
    CsrfFailed,
    GenerationNotFound,
    GeoGridError,
    GridNotFound,
    NotAuthenticated,
    PhotoNotFound,
    ReportNotFound,
)
from geo_grid.repository import scope as scope_repo
from geo_grid.services import accounts, auth
from geo_grid.services.addresses import AddressBook
from geo_grid.services.directory import GridDirectory
from geo_grid.services.past_directories import PastDirectories
from geo_grid.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="geo_grid API token (geo-grid token create)")


# The runtime and its parts: `async def`, so that FastAPI calls them on the event loop (a plain `def`
# dependency would cost every request a thread-pool hop, on in-memory endpoints too).
async def get_runtime(request: Request) -> Runtime:
    return runtime_of(request.app)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


async def get_session_factory(runtime: RuntimeDep) -> sessionmaker[Session]:
    return runtime.session_factory


async def current_directory(runtime: RuntimeDep) -> GridDirectory | None:
    """The live generation's snapshot as the request starts (None before any generation is active); the
    whole request answers from this one snapshot, even if a new one is swapped in meanwhile."""
    return runtime.directory.current


async def current_address_book(runtime: RuntimeDep) -> AddressBook | None:
    return runtime.address_book.current


async def get_past_directories(runtime: RuntimeDep) -> PastDirectories:
    return runtime.past_directories


SessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]
DirectoryDep = Annotated[GridDirectory | None, Depends(current_directory)]
AddressBookDep = Annotated[AddressBook | None, Depends(current_address_book)]
PastDirectoriesDep = Annotated[PastDirectories, Depends(get_past_directories)]


def get_session(request: Request, runtime: RuntimeDep) -> Iterator[Session]:
    """One transaction per request: committed whole when the handler returns, rolled back on error.
    A write that succeeded gets its audit entry in this same transaction (it exists iff the write does)."""
    request.state.uses_session = True
    with transaction(runtime.session_factory) as session:
        yield session
        if is_write(request):
            principal = getattr(request.state, "principal", auth.PUBLIC)
            audit_write(session, request, principal)


async def bearer_credentials(request: Request) -> HTTPAuthorizationCredentials | None:
    """The request's bearer token as every route reads it (FastAPI's HTTPBearer, `_bearer`)."""
    return await _bearer(request)


async def scoped_principal(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> auth.Principal:
    """Who calls (no token → public), with its access scope enforced (`_enforce_scope`). Routes that only
    need the scope (public reads of generations and grid statistics) depend on this alone, as `ScopeDep`.
    GET /lookup's fast path (api/lookup_fastpath.py) calls it for a token holder, with `bearer_credentials`."""
    principal = await _resolve(request, runtime, credentials)
    request.state.principal = principal
    await _enforce_scope(request, runtime, principal)
    return principal


async def get_principal(
    request: Request,
    runtime: RuntimeDep,
    principal: Annotated[auth.Principal, Depends(scoped_principal)],
) -> AsyncIterator[auth.Principal]:
    """The caller (`scoped_principal`). Then, once the handler has succeeded, its audit (`audit_after`)."""
    yield principal
    await audit_after(request, runtime, principal)


async def principal_naming_shown(
    request: Request, principal: Annotated[auth.Principal, Depends(get_principal)]
) -> auth.Principal:
    """The caller (`get_principal`) on a route that names the personal data each answer shows: until the
    handler calls `personal_shown`, the answer showed none."""
    personal_shown(request, ())
    return principal


async def _resolve(
    request: Request, runtime: Runtime, credentials: HTTPAuthorizationCredentials | None
) -> auth.Principal:
    """A bearer token first (browsers cannot forge one: no CSRF check); else the session cookie; else the
    public. A session's write must carry its CSRF token."""
    if credentials is not None and credentials.credentials:
        return await principal_for_token(runtime, credentials.credentials, write=is_write(request))
    cookie = request.cookies.get(accounts.SESSION_COOKIE)
    if not cookie:
        return auth.PUBLIC
    active = await run_in_threadpool(_session_principal, runtime, cookie)
    if active is None:
        return auth.PUBLIC  # ended or unknown session: the caller is the public (the route decides the rest)
    if is_write(request) and not accounts.csrf_matches(cookie, await _csrf_given(request)):
        raise CsrfFailed(
            "缺少或错误的 CSRF 令牌：请刷新页面后重试（请求头 X-CSRF-Token 或表单字段 csrf_token）"
        )
    return active


# Writes to one's own session, not to data: a district/city-level (read-only) user may still log out.
OWN_SESSION_WRITES = frozenset({"/login", "/logout"})
_MAX_ID = 2**63 - 1


async def _enforce_scope(request: Request, runtime: Runtime, principal: auth.Principal) -> None:
    """Access is scoped (issue 15), checked once here for every route: a district/city-level principal
    that is not admin changes nothing (403 `district_read_only`); a subdistrict's principal reaches the
    records a path (or `?generation=`) names — report, photo, generation or draft, grid — only inside its
    subdistrict, and is
    answered 404 otherwise, as if they did not exist. A read of a draft (path or `?generation=`) is 404
    to anyone but a planner or admin (scope.reads_drafts), the public and the district level included
    (writes keep their role checks: 401/403). Listings filter by `principal.scope` themselves.
    The rules of what belongs where: repository/scope.py."""
    write = is_write(request)
    if write and route_path(request) not in OWN_SESSION_WRITES:
        principal.require_change()
    drafts = write or scope_repo.reads_drafts(principal.role)
    if principal.district_wide and drafts:
        return
    checks = _scope_checks(request)
    if principal.district_wide:  # only the draft rule applies: a draft is 404 to all but its planners
        checks = [c for c in checks if c[0] == "generation"]
    if checks:
        await run_in_threadpool(_check_scope, runtime.session_factory, principal.scope, drafts, checks)


def _as_id(value: object) -> int | None:
    """A path's id as the route will accept it; anything else is left to the route's validation (422)."""
    text = str(value)
    if not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if 1 <= number <= _MAX_ID else None


def _scope_checks(request: Request) -> list[tuple[str, object]]:
    """The records the request's path names: (kind, id or code)."""
    route, p = route_path(request), request.path_params
    checks: list[tuple[str, object]] = []
    for name, kind in (("report_id", "report"), ("photo_id", "photo"), ("generation_id", "generation")):
        if name in p and (number := _as_id(p[name])) is not None:
            checks.append((kind, number))
    if route.startswith("/generations/{a}/diff/{b}"):
        checks += [("generation", n) for n in (_as_id(p.get("a")), _as_id(p.get("b"))) if n is not None]
    if route.startswith(("/grids/{code}", "/maps/grids/{code}")) and "code" in p:
        checks.append(("grid", str(p["code"])))
    # A draft named by a read's `?generation=` (grids, maps): one's own subdistrict's only.
    if (number := _as_id(request.query_params.get("generation", ""))) is not None:
        checks.append(("generation", number))
    return checks


def _check_scope(
    factory: sessionmaker[Session], scope: scope_repo.Scope, drafts: bool, checks: list[tuple[str, object]]
) -> None:
    with transaction(factory) as session:
        for kind, key in checks:
            error: GeoGridError | None = None
            if kind == "report" and not scope_repo.report_visible(session, scope, int(str(key))):
                error = ReportNotFound(f"no report {key}")
            elif kind == "photo" and not scope_repo.photo_visible(session, scope, int(str(key))):
                error = PhotoNotFound(f"没有编号为 {key} 的照片")
            elif kind == "generation" and not scope_repo.generation_visible(
                session, scope, int(str(key)), drafts
            ):
                error = GenerationNotFound(f"no generation {key}")
            elif kind == "grid" and not scope_repo.grid_code_in(scope, str(key)):
                error = GridNotFound(f"no grid with code {key!r}")
            if error is not None:
                raise error


CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


async def _csrf_given(request: Request) -> str | None:
    """The CSRF token a request carries: its header, else the hidden field of a form post."""
    given = request.headers.get(CSRF_HEADER)
    if given:
        return given
    ctype = request.headers.get("content-type", "").lower()
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)  # parsed once; the route reads the same form
        return value if isinstance(value, str) else None
    return None


def _session_principal(runtime: Runtime, cookie: str) -> auth.Principal | None:
    with transaction(runtime.session_factory) as session:
        active = accounts.resolve_session(session, runtime.settings, cookie)
    if active is None:
        return None
    user = active.user
    return auth.principal_for_user(user.role, accounts.actor_label(user), user.id, user.subdistrict_code)


async def principal_for_token(runtime: Runtime, token: str, write: bool) -> auth.Principal:
    """The one token cache (`runtime.token_cache`, shared with the rate limiter in api/limits.py).

    Known tokens are re-validated every GEO_GRID_TOKEN_CACHE_TTL_S (5 s), so a revocation takes effect
    within seconds in every running service. When the database cannot be asked, a token validated within
    GEO_GRID_TOKEN_GRACE_S (1 h) keeps working for reads (in-memory lookups stay available to token
    holders during an outage); writes need the database anyway. Async, so that in-memory endpoints never
    pay for a thread-pool hop; the database is only asked when the cache entry is due, in the thread pool.
    An unknown or revoked token raises NotAuthenticated."""
    settings = runtime.settings
    key = auth.hash_token(token)
    cache = runtime.token_cache  # token hash → (principal, validated_at, next_check_at), monotonic s
    hit = cache.get(key)
    now = time.monotonic()
    if hit and hit[2] > now:
        return hit[0]
    try:
        principal = await run_in_threadpool(_authenticate, runtime.session_factory, token)
    except NotAuthenticated:
        cache.pop(key, None)
        raise
    except (DBAPIError, PoolTimeout):
        if hit and not write and now - hit[1] < settings.token_grace_s:
            # Serve the last known principal; ask the database again after another TTL.
            cache[key] = (hit[0], hit[1], now + settings.token_cache_ttl_s)
            return hit[0]
        raise
    cache[key] = (principal, now, now + settings.token_cache_ttl_s)
    return principal


def _authenticate(factory: sessionmaker[Session], token: str) -> auth.Principal:
    with transaction(factory) as session:
        return auth.authenticate(session, token)


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the transaction commits before the response is sent, so a 2xx means it is stored
# (FastAPI's default for dependencies with yield runs their exit code after the response has gone out).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
PrincipalDep = Annotated[auth.Principal, Depends(get_principal)]
# The caller on a route whose answer holds personal data only sometimes, named by `personal_shown`
# (api/audit_rule.py: which reads are audited).
PersonalShownDep = Annotated[auth.Principal, Depends(principal_naming_shown)]
# The caller with its scope enforced, not audited as a read of personal data (api/deps._enforce_scope).
ScopeDep = Annotated[auth.Principal, Depends(scoped_principal)]
# For a router's `dependencies=[...]`: the scope check of every route it holds.
SCOPE_CHECK = Depends(scoped_principal)


# Roles on the route: a handler that takes `principal: PlannerDep` may only run for a planner (or admin);
# the requirement is in its signature, and api/openapi.py writes it into the OpenAPI document.
ROLE_LABELS_ZH = {"dispatcher": "调度员", "planner": "规划员", "admin": "管理员", "grid_worker": "网格员"}


def require_role(*roles: str) -> Callable[[auth.Principal], auth.Principal]:
    """A dependency that lets the caller through when they hold one of `roles` (admin always may)."""

    def dependency(principal: PrincipalDep) -> auth.Principal:
        principal.require(*roles)
        return principal

    dependency.required_roles = roles  # type: ignore[attr-defined]
    return dependency


DispatcherDep = Annotated[auth.Principal, Depends(require_role("dispatcher"))]
PlannerDep = Annotated[auth.Principal, Depends(require_role("planner"))]
AdminDep = Annotated[auth.Principal, Depends(require_role("admin"))]
# Field work (photos, later the phone pages): a grid worker or a dispatcher (or admin).
FieldDep = Annotated[auth.Principal, Depends(require_role("dispatcher", "grid_worker"))]
