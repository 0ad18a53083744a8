"""Refuses text PostgreSQL cannot store, up front, for every route: NUL characters and lone surrogates.

PostgreSQL `text` and `jsonb` cannot hold U+0000, and a lone UTF-16 surrogate (JSON "\\ud800") is not a
character at all: it cannot be encoded as UTF-8 for the database or for the JSON response. Either would
otherwise surface deep inside psycopg2 or the response encoder as a 500. This ASGI middleware checks the
path, the query string and JSON bodies (every string, object keys included, e.g. a facility's free-form
`attributes`) and answers 422 `invalid_input` before any route runs. Uploaded files (multipart) are not
JSON and are left to their importers.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_plus

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geo_grid.errors import InvalidInput

# Only bodies with one of these escapes can hold a bad string (raw control characters are not JSON), so
# the common case costs one regex scan, not a second JSON parse.
_SUSPECT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


def bad_text(value: str) -> bool:
    """True when `value` holds a NUL or a lone surrogate."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def find_bad_text(value: Any, loc: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """Location of the first bad string (or object key) in decoded JSON, None when all are fine."""
    if isinstance(value, str):
        return loc if bad_text(value) else None
    if isinstance(value, dict):
        for k, v in value.items():
            if bad_text(k):
                return (*loc, k.encode("unicode_escape").decode("ascii"))
            found = find_bad_text(v, (*loc, k))
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = find_bad_text(v, (*loc, i))
            if found is not None:
                return found
    return None


def _refusal(where: list[str | int]) -> JSONResponse:
    err = InvalidInput("文本中不能含有 NUL（\\u0000）字符或不成对的代理字符（如 \\ud800）", {"loc": where})
    return JSONResponse(err.to_dict(), status_code=err.status)


class TextGuard:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if bad_text(scope.get("path", "")):
            await _refusal(["path"])(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        if query and bad_text(unquote_plus(query)):  # decoded as Starlette does
            await _refusal(["query"])(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if b"json" not in headers.get(b"content-type", b"").lower():
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        first: Message = {"type": "http.request", "body": b"", "more_body": True}
        while first.get("more_body", False):
            first = await receive()
            if first["type"] != "http.request":  # client went away
                await self.app(scope, receive, send)
                return
            chunks.append(first.get("body", b""))
        body = b"".join(chunks)
        if _SUSPECT.search(body):
            try:
                decoded = json.loads(body)
            except ValueError:  # not JSON: the route reports it
                decoded = None
            where = find_bad_text(decoded, ("body",))
            if where is not None:
                await _refusal(list(where))(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
