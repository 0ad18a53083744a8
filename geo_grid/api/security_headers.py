"""Security headers on every response, as a pure ASGI middleware (streaming and background tasks untouched).

HTML pages (the maps, /docs, /redoc) get a Content-Security-Policy that lets them load scripts, styles,
images and data from this service only — plus the configured basemap's tile host in img-src — and forbid
framing; inline scripts/styles stay allowed because Folium, Swagger UI and Redoc boot from them. Every
other response (JSON, assets) gets `default-src 'none'; frame-ancestors 'none'`. All responses also get
nosniff, no-referrer and X-Frame-Options: DENY. A header a route sets itself is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geo_grid.errors import InvalidInput
from geo_grid.render.basemap import Basemap
from geo_grid.services.maps import basemap_of
from geo_grid.settings import Settings

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
_HOST_SOURCE = re.compile(r"^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?$")


def page_policy(img_sources: Iterable[str] = ()) -> str:
    """The CSP of the HTML pages; `img_sources` are the basemap's tile origins."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-inline'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", *img_sources],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],  # Redoc's search index runs in a worker made from a blob
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(" ".join([name, *dict.fromkeys(values)]) for name, values in directives.items())


def tile_source(template: str) -> str | None:
    """The CSP source of a tile URL template: `https://t{s}.tianditu.gov.cn/…` -> `https://*.tianditu.gov.cn`.
    None for a relative URL (covered by 'self') or one whose host cannot be expressed."""
    parts = urlsplit(template)
    if not parts.netloc:
        return None
    labels = parts.netloc.rsplit("@", 1)[-1].split(".")
    if "{" in labels[0]:
        labels[0] = "*"  # Leaflet's {s} subdomain placeholder
    host = ".".join(labels)
    if not _HOST_SOURCE.match(host) or host.startswith("*.") and host.count(".") < 2:
        return None
    return f"{parts.scheme}://{host}" if parts.scheme in ("http", "https") else host


def tile_sources(basemap: Basemap) -> list[str]:
    """Every origin the pages fetch tiles from: the URLs of the tile layers the basemap itself adds."""
    urls = [layer["tiles"] for layer in basemap.tile_layers()]
    sources = (tile_source(url) for url in urls if isinstance(url, str))
    return list(dict.fromkeys(s for s in sources if s))


def page_policy_for(settings: Settings) -> str:
    try:
        basemap = basemap_of(settings)
    except InvalidInput:  # a misconfigured basemap: the map pages report it themselves
        return page_policy()
    return page_policy(tile_sources(basemap))


class SecurityHeaders:
    """Adds the headers above to every HTTP response of the wrapped app."""

    def __init__(self, app: ASGIApp, page_policy: str) -> None:
        self.app = app
        self.page_policy = page_policy
        self._page_policy = (b"content-security-policy", page_policy.encode("latin-1"))
        self._api_policy = (b"content-security-policy", API_POLICY.encode("latin-1"))
        self._common = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in COMMON_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self._with_headers(message.get("headers") or [])
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _with_headers(self, raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """The response's headers plus those above it does not set itself (names compared lower-case;
        one pass over the list, the values encoded once at start-up)."""
        headers = list(raw)
        present = set()
        is_page = False
        for name, value in headers:
            lowered = name.lower()
            present.add(lowered)
            if lowered == b"content-type":
                is_page = value.lower().startswith(b"text/html")
        policy = self._page_policy if is_page else self._api_policy
        if policy[0] not in present:
            headers.append(policy)
        headers.extend(header for header in self._common if header[0] not in present)
        return headers
