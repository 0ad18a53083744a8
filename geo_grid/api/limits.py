"""What one caller may cost the service: request-body limits enforced while the body streams in, per-caller
rate limits on batches and writes, and the bounded worker processes that run batches off the event loop.

Both guards are pure ASGI middleware (no body buffering, nothing FastAPI-specific), installed by
`install(app, settings)`. Rate limits are token buckets kept in memory, per process: behind several
worker processes each process counts on its own (the effective limit is N × the setting).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geo_grid.api import batch_pool
from geo_grid.api.deps import principal_for_token
from geo_grid.api.runtime import runtime_of
from geo_grid.db import transaction
from geo_grid.errors import GeoGridError, PayloadTooLarge, RateLimited, ServiceUnavailable
from geo_grid.services import accounts, auth
from geo_grid.settings import Settings

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

BATCH_ROUTES = frozenset({("POST", "/lookup/batch"), ("POST", "/lookup/address/batch")})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_UPLOAD_PATH = re.compile(r"^/generations(?:/[^/]+)?/import/?$")
_PHOTO_PATH = re.compile(r"^/reports/[^/]+/photos/?$")


async def _send_error(send: Send, error: GeoGridError, headers: dict[str, str] | None = None) -> None:
    body = orjson.dumps(error.to_dict())
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    # The client may still be sending the rest of the body: close after this answer.
    raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": error.status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


# ------------------------------------------------------------------------------------ body limits


def body_limit(settings: Settings, method: str, path: str) -> int:
    """The largest request body this route accepts, in bytes."""
    if method == "POST" and path == "/lookup/batch":
        return settings.body_limit_lookup_batch_bytes
    if method == "POST" and path == "/lookup/address/batch":
        return settings.body_limit_address_batch_bytes
    if _UPLOAD_PATH.match(path):
        return settings.body_limit_upload_bytes
    if method == "POST" and _PHOTO_PATH.match(path):
        return settings.body_limit_photo_bytes
    return settings.body_limit_bytes


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"请求体过大：此接口最多接受 {limit:,} 字节，请拆分后分批提交", {"limit_bytes": limit}
    )


class BodyLimitMiddleware:
    """413 `payload_too_large` as soon as a body passes its route's limit: at once when Content-Length
    says so, else while a chunked body is counted, before the application has buffered it."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(self.settings, scope["method"], scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > limit
            except ValueError:
                too_large = False  # the server rejects a malformed Content-Length itself
            if too_large:
                await _send_error(send, _too_large(limit))
                return

        received = 0
        started = answered = False

        async def limited_receive() -> Message:
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if not started:
                        await _send_error(send, _too_large(limit))
                    answered = True
                    # The application sees a client that went away and stops reading.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the 413 went out already; whatever the application says after it is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not answered:
                raise  # the application's own failure (after our 413 its "client disconnected" is expected)


# ------------------------------------------------------------------------------------ rate limits


@dataclass
class _Bucket:
    tokens: float
    stamp: float


def monotonic() -> float:
    """The rate limits' clock: elapsed seconds, not a date (a test that must not depend on how fast the
    machine is replaces it with a frozen one)."""
    return time.monotonic()


class TokenBuckets:
    """Token buckets by key: `per_min` requests per minute, in bursts of up to `per_min`."""

    MAX_KEYS = 100_000  # beyond this, full (idle) buckets are dropped: memory stays bounded

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._clock = clock if clock is not None else (lambda: monotonic())

    def take(self, key: tuple[str, str], per_min: int) -> float:
        """0.0 when the request may go ahead (a token is taken), else the seconds until one is free."""
        now = self._clock()
        rate = per_min / 60.0
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.MAX_KEYS:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(float(per_min), now)
        else:
            bucket.tokens = min(float(per_min), bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate

    def _prune(self, now: float) -> None:
        # A bucket idle for a minute is full again: forgetting it changes nothing.
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.stamp < 60.0}


def rate_kind(method: str, path: str) -> str | None:
    """Which limit a request counts against: "batch", "write" or none (reads are not limited)."""
    if (method, path) in BATCH_ROUTES:
        return "batch"
    if method in WRITE_METHODS:
        return "write"
    return None


class RateLimitMiddleware:
    """429 `rate_limited` with Retry-After when a caller exceeds its rate: per API token for token
    holders (and per session for logged-in console users), per client address for anonymous callers
    (stricter). A bearer token that is not valid
    counts as anonymous, so invented tokens buy nothing."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.buckets = TokenBuckets()

    def _rate(self, kind: str, anonymous: bool) -> int:
        s = self.settings
        if kind == "batch":
            return s.rate_anonymous_batches_per_min if anonymous else s.rate_token_batches_per_min
        return s.rate_anonymous_writes_per_min if anonymous else s.rate_token_writes_per_min

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = rate_kind(scope.get("method", ""), scope.get("path", "")) if scope["type"] == "http" else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        token_key = await _valid_token_key(scope) or await _live_session_key(scope)
        anonymous = token_key is None
        per_min = self._rate(kind, anonymous)
        if per_min > 0:
            client = scope.get("client")
            who = token_key if token_key is not None else "addr:" + (client[0] if client else "unknown")
            wait = self.buckets.take((kind, who), per_min)
            if wait > 0:
                retry = max(1, math.ceil(wait))
                caller = "匿名调用方（按客户端地址）" if anonymous else "此令牌"
                what = "批量查询" if kind == "batch" else "写入请求"
                error = RateLimited(
                    f"请求过于频繁：{caller}每分钟最多 {per_min} 次{what}，请在 {retry} 秒后重试",
                    {"kind": kind, "limit_per_min": per_min, "retry_after_s": retry},
                )
                await _send_error(send, error, {"Retry-After": str(retry)})
                return
        await self.app(scope, receive, send)


async def _valid_token_key(scope: Scope) -> str | None:
    """ "token:<sha256>" for a valid bearer token (the one token cache of api/deps), else None."""
    header = _header(scope, b"authorization")
    if not header:
        return None
    scheme, _, token = header.decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        await principal_for_token(runtime_of(scope["app"]), token, write=False)
    except Exception:  # unknown token, or the database is down: anonymous (the route decides the rest)
        return None
    return "token:" + auth.hash_token(token)


async def _live_session_key(scope: Scope) -> str | None:
    """ "session:<sha256>" for a live console session (services/accounts.py), else None: a logged-in user
    is counted like a token holder, not with everyone behind the same office address."""
    header = _header(scope, b"cookie")
    if not header or _header(scope, b"authorization"):
        return None
    cookie = cookie_parser(header.decode("latin-1")).get(accounts.SESSION_COOKIE)
    if not cookie:
        return None
    runtime = runtime_of(scope["app"])

    def live() -> bool:
        with transaction(runtime.session_factory) as session:
            return accounts.session_is_live(session, runtime.settings, cookie)

    try:
        alive = await run_in_threadpool(live)
    except Exception:  # the database is down: anonymous (the route decides the rest)
        return None
    return "session:" + accounts.hash_token(cookie) if alive else None


# ------------------------------------------------------------------------------------ batch workers


async def run_batch(request: Request, kind: str, fn: Callable[..., T], *args: Any) -> T:
    """Run CPU-heavy batch work `fn(*args)` in a worker process (api/batch_pool), at most
    `settings.batch_concurrency` batches of each kind at once; waiting batches wait on the event loop,
    holding neither a thread nor a process, and single lookups keep the server's CPU and GIL."""
    workers = runtime_of(request.app).batches
    async with workers.limiter(kind):
        try:
            answer = await asyncio.wrap_future(workers.pool().submit(batch_pool.call, fn, *args))
        except BrokenProcessPool:
            workers.discard_pool()  # a worker died (e.g. out of memory): a new pool next time
            raise ServiceUnavailable("批量计算进程意外退出，请稍后重试") from None
    result: T = batch_pool.unwrap(answer)
    return result


def json_body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a JSON body that a route reads raw (to parse it in a worker process, not on the loop)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def parse_json_body(raw: bytes, model: type[M]) -> M:
    """The body as `model`, with the 422 FastAPI would give for the same problem (runs in the worker)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:  # NaN / Infinity (Python's json writes them) and integers beyond 64 bits: the stdlib reads them
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            pos = getattr(exc, "pos", 0)
            raise RequestValidationError(
                [{"type": "json_invalid", "loc": ("body", pos), "msg": "JSON decode error", "input": {}}]
            ) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def install(app: FastAPI, settings: Settings) -> None:
    """Body limits inside, rate limits outside (a limited caller's body is never read)."""
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    app.add_middleware(RateLimitMiddleware, settings=settings)
