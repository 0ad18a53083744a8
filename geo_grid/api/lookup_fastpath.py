"""The fast path of GET /lookup: plain lookups answered without FastAPI's routing, dependency solving and
parameter validation, which cost several times the lookup itself.

A pure ASGI middleware, the innermost one (api/app.py): every outer guard — access log, security headers,
rate and body limits, the text guard — has run as for any request. It answers only the most common
requests, and only when it is certain to give the route's answer:

* `GET /lookup` with a query string of exactly `lon`, `lat` and optionally `crs`, each once, the numbers
  plain decimals (no percent-encoding) and finite, `crs` one of the four names;
* no cookie (a console session's CSRF, idle timeout and refresh live on the route) and no request body;
* from the public (no `Authorization` header): no principal to resolve, no scope to enforce, nothing
  to audit — the public sees masked phones only;
* or from a token holder (the 12345 hotline, district platforms: `Authorization: Bearer …`): the
  principal and its access scope through the route's own dependency (`deps.scoped_principal`: the one
  token cache with its TTL re-validation, revocation and grace while the database is down; then
  `_enforce_scope`), and the read audited by the route's own `audit_rule.audit_after` once the body is made
  (only when it showed people unmasked: `audit_rule.personal_data_shown`, as the route).
  An unknown or revoked token or a refused scope (a domain error of that dependency) is answered by the
  app's own handler of that error (api/errors.py: the route's 401/403/404, byte for byte), without
  asking the database a second time; any other failure (the database unreachable) hands the request to
  the route, which asks again and answers;
* an active generation loaded, the coordinates in range.

Anything else — a session, `at=`, `generation=`, any other or repeated parameter, a value the route
would refuse or read differently — goes on to the FastAPI route unchanged, which answers it (and its
errors) as before. The body is the route's own (`routers.lookup.lookup_json`, with the caller's
principal: phones unmasked only where `Principal.sees_personal_data_in`), byte for byte, with the route's
headers; `tests/db/test_lookup_fastpath.py` compares the two.
"""

from __future__ import annotations

import inspect
import math
import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from geo_grid.api import audit_rule, deps
from geo_grid.api.routers.lookup import lookup_json
from geo_grid.api.runtime import Runtime
from geo_grid.errors import GeoGridError
from geo_grid.services.auth import PUBLIC
from geo_grid.services.directory import GridDirectory

_PATH = "/lookup"
_NUMBER = re.compile(rb"-?[0-9]{1,4}(?:\.[0-9]{1,30})?")
_CRS = {b"wgs84": "wgs84", b"cgcs2000": "cgcs2000", b"gcj02": "gcj02", b"bd09": "bd09"}
_PASS_HEADERS = frozenset({b"cookie", b"content-length", b"transfer-encoding"})


def plain_query(query: bytes) -> tuple[float, float, str] | None:
    """(lon, lat, crs) of a query string the fast path may answer, else None."""
    lon = lat = crs = None
    for part in query.split(b"&"):
        name, eq, value = part.partition(b"=")
        if not eq:
            return None
        if name == b"lon" and lon is None and _NUMBER.fullmatch(value):
            lon = float(value)
        elif name == b"lat" and lat is None and _NUMBER.fullmatch(value):
            lat = float(value)
        elif name == b"crs" and crs is None and value in _CRS:
            crs = _CRS[value]
        else:
            return None
    if lon is None or lat is None or not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    return lon, lat, crs or "wgs84"


class LookupFastPath:
    """See the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != _PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        answer = await self._answer(scope)
        if answer is None:
            await self.app(scope, receive, send)
        elif isinstance(answer, Response):
            await answer(scope, receive, send)
        else:
            headers = [(b"content-length", str(len(answer)).encode()), (b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": answer})

    @staticmethod
    async def _answer(scope: Scope) -> bytes | Response | None:
        token = False
        for name, value in scope["headers"]:
            if name == b"authorization":
                token = True
            elif name in _PASS_HEADERS and (name != b"content-length" or value != b"0"):
                return None
        parsed = plain_query(scope["query_string"])
        if parsed is None:
            return None
        state = getattr(scope["app"], "state", None)
        runtime: Runtime | None = getattr(state, "runtime", None)
        directory = runtime.directory.current if runtime is not None else None
        if runtime is None or directory is None:
            return None  # starting, or nothing active: the route says so (503)
        if token:
            return await _token_answer(scope, runtime, directory, parsed)
        try:
            return lookup_json(directory, *parsed, PUBLIC).body
        except GeoGridError:
            return None  # e.g. coordinates out of range: the route's 422


async def _token_answer(
    scope: Scope, runtime: Runtime, directory: GridDirectory, parsed: tuple[float, float, str]
) -> bytes | Response | None:
    """A token holder's answer, through the route's dependency and audit (see the module docstring)."""
    request = Request(scope)
    credentials = await deps.bearer_credentials(request)
    if credentials is None:
        return None  # not a bearer token: the route reads the header as it always has
    try:
        principal = await deps.scoped_principal(request, runtime, credentials)
    except GeoGridError as exc:  # an unknown or revoked token, a scope refused: the route's error answer
        return await _error_answer(request, exc)
    except Exception:  # e.g. the database unreachable: the route asks again and answers
        return None
    try:
        answer = lookup_json(directory, *parsed, principal)
    except GeoGridError:
        return None
    audit_rule.personal_data_shown(request, answer.personal)  # as the route: audited only if people unmasked
    await audit_rule.audit_after(request, runtime, principal)
    return answer.body


async def _error_answer(request: Request, exc: GeoGridError) -> Response | None:
    """What the app answers when the route's dependency raises `exc`: the handler the app registered for
    it (api/errors.py), found as Starlette's exception middleware finds it (the class, then its bases)."""
    handlers = getattr(request.scope["app"], "exception_handlers", {})
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            response = handler(request, exc)
            response = await response if inspect.isawaitable(response) else response
            return response if isinstance(response, Response) else None
    return None  # no handler: the route
