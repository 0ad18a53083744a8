"""/exchange: the 12345 exchange's source systems and outbox (admin)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from geo_grid.api.deps import AdminDep, SessionDep
from geo_grid.api.schemas.common import error_responses
from geo_grid.api.schemas.exchange import (
    OutboxPage,
    RedeliverIn,
    RedeliverOut,
    SourceCreated,
    SourceIn,
    SourceOut,
    SourceUpdate,
)
from geo_grid.repository import exchange_sources as source_repo
from geo_grid.repository import outbox as outbox_repo
from geo_grid.repository.exchange_sources import ExchangeSource
from geo_grid.services import exchange

router = APIRouter(prefix="/exchange", tags=["exchange"])

SourceName = Annotated[str, Path(min_length=1, max_length=40)]


def _source(s: ExchangeSource) -> dict[str, Any]:
    return {"name": s.name, "webhook_url": s.webhook_url, "active": s.active, "created_at": s.created_at}


@router.get("/sources", summary="Source systems (admin)", response_model=list[SourceOut],
            responses=error_responses(401, 403))  # fmt: skip
def list_sources(session: SessionDep, principal: AdminDep) -> list[dict[str, Any]]:
    return [_source(s) for s in source_repo.all_sources(session)]


@router.post("/sources", status_code=201, summary="Configure a source system (admin)",
             response_model=SourceCreated, responses=error_responses(401, 403, 409, 422))  # fmt: skip
def add_source(body: SourceIn, session: SessionDep, principal: AdminDep) -> dict[str, Any]:
    """The answer carries the webhook signing secret and the API key, shown this once."""
    new = exchange.add_source(session, body.name, body.webhook_url, principal.name)
    return {**_source(new.source), "secret": new.secret, "api_key": new.api_key}


@router.patch("/sources/{name}", summary="Change a source system (admin)", response_model=SourceCreated,
              response_model_exclude_unset=True, responses=error_responses(401, 403, 404, 422))  # fmt: skip
def update_source(
    name: SourceName, body: SourceUpdate, session: SessionDep, principal: AdminDep
) -> dict[str, Any]:
    got = exchange.update_source(session, name, principal.name, webhook_url=body.webhook_url, active=body.active,
                                 rotate=body.rotate)  # fmt: skip
    if isinstance(got, exchange.NewSource):
        return {**_source(got.source), "secret": got.secret, "api_key": got.api_key}
    return _source(got)


@router.get("/outbox", summary="Messages to the sources' webhooks (admin)", response_model=OutboxPage,
            responses=error_responses(401, 403, 422))  # fmt: skip
def list_outbox(
    session: SessionDep,
    principal: AdminDep,
    state: Annotated[Literal["pending", "delivered", "failed", "all"], Query()] = "all",
    source: Annotated[str | None, Query(max_length=40)] = None,
    report_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """`state=failed`: the messages that failed for good (re-deliver them with POST /exchange/outbox/redeliver)."""
    rows, total = outbox_repo.messages(session, state, source, report_id, limit, offset)
    items = [{"id": m.id, "source": m.source, "report_id": m.report_id, "event_id": m.event_id,
              "state": m.state, "payload": m.payload, "created_at": m.created_at, "attempts": m.attempts,
              "next_attempt_at": m.next_attempt_at, "delivered_at": m.delivered_at,
              "last_error": m.last_error} for m in rows]  # fmt: skip
    return {"items": items, "total": total, "counts": outbox_repo.counts(session)}


@router.post("/outbox/redeliver", summary="Deliver failed messages again (admin)", response_model=RedeliverOut,
             responses=error_responses(401, 403, 422))  # fmt: skip
def redeliver(body: RedeliverIn, session: SessionDep, principal: AdminDep) -> dict[str, Any]:
    return {"redelivered": exchange.redeliver(session, principal.name, body.ids, body.source)}
