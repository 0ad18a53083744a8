"""How a staff page of the web console answers (the 受理台, the planner's pages, the grid worker's phone
pages): an anonymous browser is sent to the login form and brought back; any other anonymous client gets
401; a known caller must hold the page's role (or be admin). The page goes out with its own CSP."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from geo_grid.services.auth import Principal


def staff_page(request: Request, principal: Principal, body: str, role: str, policy: str) -> Response:
    anonymous = principal.user_id is None and principal.token_id is None
    if anonymous and "text/html" in request.headers.get("accept", ""):
        return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)
    principal.require(role)
    return HTMLResponse(body, headers={"Content-Security-Policy": policy, "Cache-Control": "no-store"})
