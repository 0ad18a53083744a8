"""Turns every error into JSON `{"code", "message", "detail"?}` with the right status."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo_grid.api.text_guard import TextGuard
from geo_grid.errors import GeoGridError

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _json(status: int, code: str, message: str, detail: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status)


def install(app: FastAPI) -> None:
    # NUL characters and lone surrogates in any path, query or JSON body: 422 before a route runs.
    app.add_middleware(TextGuard)

    @app.exception_handler(GeoGridError)
    async def domain_error(_: Request, exc: GeoGridError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        response = _json(exc.status, exc.code, exc.message, exc.detail)
        if headers:
            response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return _json(422, "invalid_request", f"invalid request: {where}: {first['msg']}", errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return _json(exc.status_code, code, str(exc.detail))

    @app.exception_handler(ValueError)
    async def nul_in_text(_: Request, exc: ValueError) -> JSONResponse:
        # PostgreSQL text cannot hold NUL characters; psycopg2 refuses them when binding parameters.
        # TextGuard refuses them in requests up front; this is the backstop for uploaded files.
        if "NUL (0x00)" in str(exc):
            return _json(422, "invalid_input", "文本中不能含有 NUL（\\u0000）字符")
        raise exc

    @app.exception_handler(OperationalError)
    async def database_down(_: Request, exc: OperationalError) -> JSONResponse:
        return _json(
            503, "database_unavailable", "the database is not reachable right now; try again shortly"
        )

    @app.exception_handler(DBAPIError)
    async def database_error(_: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return _json(503, "database_unavailable", "the database connection was lost; try again shortly")
        raise exc
