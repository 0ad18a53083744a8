"""Typed FastAPI dependencies: settings, one transaction per request, the caller's principal."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from geo_grid.db import transaction
from geo_grid.services import auth
from geo_grid.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="geo_grid API token (geo-grid token create)")
TOKEN_CACHE_TTL_S = 60.0


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed whole when the handler returns, rolled back on error."""
    with transaction(request.app.state.session_factory) as session:
        yield session


async def get_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> auth.Principal:
    """No token → public. Known tokens are cached briefly, so in-memory answers (lookups) keep
    working for token holders while PostgreSQL restarts. Async, so that in-memory endpoints never
    pay for a thread-pool hop; the database is only asked on a cache miss, in the thread pool."""
    if credentials is None or not credentials.credentials:
        return auth.PUBLIC
    key = auth.hash_token(credentials.credentials)
    cache: dict[str, tuple[auth.Principal, float]] = request.app.state.token_cache
    hit = cache.get(key)
    now = time.monotonic()
    if hit and hit[1] > now:
        return hit[0]
    principal = await run_in_threadpool(_authenticate, request, credentials.credentials)
    cache[key] = (principal, now + TOKEN_CACHE_TTL_S)
    return principal


def _authenticate(request: Request, token: str) -> auth.Principal:
    with transaction(request.app.state.session_factory) as session:
        return auth.authenticate(session, token)


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the transaction commits before the response is sent, so a 2xx means it is stored
# (FastAPI's default for dependencies with yield runs their exit code after the response has gone out).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
PrincipalDep = Annotated[auth.Principal, Depends(get_principal)]
