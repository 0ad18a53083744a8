"""The audit trail of a request, one rule: every write is audited; a read is audited only when its answer
showed personal data (`audited_read`).

A write that succeeded gets its entry in the request's own transaction (`audit_write`, called by
api/deps.get_session: it exists iff the write does), or after it succeeded when its route manages its own
transactions (`audit_after`). A read that showed personal data is queued for the audit log
(`read_personal`, `audit_after`, called once the handler has succeeded by the principal dependencies of
api/deps.py and by GET /lookup's fast path, api/lookup_fastpath.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from geo_grid.api.runtime import Runtime
from geo_grid.db import transaction
from geo_grid.repository import audit as audit_repo
from geo_grid.services import auth

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# POST routes that only read (a body too large for a query string): audited as reads, not writes.
READ_ONLY_POSTS = frozenset({"/lookup/batch", "/lookup/address/batch"})


def route_path(request: Request) -> str:
    """The path of the route the request matched (its template, `/grids/{code}`), else its URL's path."""
    route = request.scope.get("route")
    return str(getattr(route, "path", request.url.path))


def is_write(request: Request) -> bool:
    return request.method in WRITE_METHODS and route_path(request) not in READ_ONLY_POSTS


def _subject(request: Request) -> str:
    """The record a request is about: set by the handler (`request.state.audit_subject`), else named by
    its path parameters, else its path and query."""
    given = getattr(request.state, "audit_subject", None)
    if given:
        return str(given)[:200]
    p = request.path_params
    if "report_id" in p:
        return f"report:{p['report_id']}"
    if "generation_id" in p:
        return f"generation:{p['generation_id']}" + (f"/grid:{p['code']}" if "code" in p else "")
    if "ref" in p:
        return f"facility:{p['ref']}"
    if "code" in p:
        return f"grid:{p['code']}"
    query = request.url.query
    return (request.url.path + (f"?{query}" if query else ""))[:200]


def _entry(request: Request, principal: auth.Principal, action: str) -> dict[str, Any]:
    detail: dict[str, Any] = {"method": request.method, "path": request.url.path}
    if request.url.query:
        detail["query"] = request.url.query[:2000]
    detail.update(getattr(request.state, "audit_detail", None) or {})
    return {
        "actor": principal.name,
        "actor_token_id": principal.token_id,
        "actor_user_id": principal.user_id,
        "action": action,
        "subject": _subject(request),
        "detail": detail,
    }


def audit_write(session: Session, request: Request, principal: auth.Principal) -> None:
    """The audit entry of a write, added in `session` (the write's own transaction)."""
    audit_repo.add_many(session, [_entry(request, principal, f"{request.method} {route_path(request)}")])


def _write_without_session(request: Request, runtime: Runtime, principal: auth.Principal) -> None:
    # A write route that manages its own transactions (activation, reloads): audited after it succeeded.
    with transaction(runtime.session_factory) as session:
        audit_write(session, request, principal)


async def audit_after(request: Request, runtime: Runtime, principal: auth.Principal) -> None:
    """The audit of a request whose handler has succeeded: a write without the request's session is
    audited here, and a read that showed personal data is queued for the audit log (`audited_read`).
    Also called by GET /lookup's fast path (api/lookup_fastpath.py) for a token holder."""
    if is_write(request):
        if not getattr(request.state, "uses_session", False):
            await run_in_threadpool(_write_without_session, request, runtime, principal)
    elif audited_read(request, principal):
        runtime.audit_queue.put(_entry(request, principal, "read_personal"))


# Which reads are audited (`read_personal`), one rule: a read by a principal that sees personal data, on a
# route whose answer holds some. A route declares it by the principal it takes (api/deps.py):
# - `PrincipalDep`: its answer may hold personal data (a report, a listing, phones): every such read;
# - `ScopeDep` or the router's SCOPE_CHECK alone: it never does (grid tiles, labels, search): none;
# - `PersonalShownDep`: it does only sometimes (a reports tile, a lookup): the handler names what this
#   answer showed (`personal_shown`, audited with `detail.ids`; or `personal_data_shown`), and only a read
#   that showed some is audited.
def audited_read(request: Request, principal: auth.Principal) -> bool:
    if not principal.sees_personal_data or is_write(request):
        return False
    shown = getattr(request.state, "personal_shown", None)
    return shown is None or bool(shown)


def personal_data_shown(request: Request, shown: bool) -> None:
    """A `PersonalShownDep` route's answer showed personal data (`shown`) with no record ids to name: GET
    /lookup's people unmasked (its route and its fast path, api/lookup_fastpath.py)."""
    request.state.personal_shown = shown


def personal_shown(request: Request, ids: Sequence[int]) -> None:
    """A `PersonalShownDep` route's answer showed the personal data of these reports (none: not audited)."""
    request.state.personal_shown = tuple(ids)
    if ids:
        request.state.audit_detail = {
            **(getattr(request.state, "audit_detail", None) or {}),
            "ids": list(ids),
        }
