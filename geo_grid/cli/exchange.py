"""`geo-grid exchange source …` (the systems that push orders and get their status back) and
`geo-grid outbox …` (deliver, list, re-deliver the messages to their webhooks)."""

from __future__ import annotations

import getpass
import json

import typer

from geo_grid import db
from geo_grid.cli import app
from geo_grid.cli.common import database, fail, session_for
from geo_grid.errors import GeoGridError
from geo_grid.repository import exchange_sources as source_repo
from geo_grid.repository import outbox as outbox_repo
from geo_grid.services import exchange
from geo_grid.settings import Settings

exchange_app = typer.Typer(
    help="The 12345 exchange: source systems and their webhooks.", no_args_is_help=True
)
source_app = typer.Typer(
    help="Configure source systems (12345, the district platform).", no_args_is_help=True
)
outbox_app = typer.Typer(
    help="Messages to the sources' webhooks: deliver, list, re-deliver.", no_args_is_help=True
)
exchange_app.add_typer(source_app, name="source")
app.add_typer(exchange_app, name="exchange")
app.add_typer(outbox_app, name="outbox")


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@source_app.command("add")
def add_source(
    name: str = typer.Argument(..., help="the source's name, e.g. 12345 (the `source` of its orders)"),
    webhook: str | None = typer.Option(
        None, "--webhook", help="URL that receives its orders' status changes"
    ),
) -> None:
    """Configure a source; prints its webhook signing secret and its API key ONCE."""
    with database(Settings()) as (url, _):
        try:
            with session_for(url) as session:
                new = exchange.add_source(session, name, webhook, _actor())
        except GeoGridError as exc:
            raise fail(exc) from exc
    typer.echo(f"source {new.source.name} added; store these now, they are not shown again:")
    typer.echo(f"secret\t{new.secret}")
    typer.echo(f"api_key\t{new.api_key}")


@source_app.command("update")
def update_source(
    name: str = typer.Argument(...),
    webhook: str | None = typer.Option(None, "--webhook", help="new webhook URL"),
    active: bool | None = typer.Option(None, "--active/--inactive", help="switch delivery and intake on/off"),
    rotate: bool = typer.Option(False, "--rotate", help="issue a new secret and API key (printed once)"),
) -> None:
    """Change a source's webhook, switch it on/off, or rotate its secret and API key."""
    with database(Settings()) as (url, _):
        try:
            with session_for(url) as session:
                got = exchange.update_source(session, name, _actor(), webhook_url=webhook, active=active,
                                             rotate=rotate)  # fmt: skip
        except GeoGridError as exc:
            raise fail(exc) from exc
    typer.echo(f"source {name} updated")
    if isinstance(got, exchange.NewSource):
        typer.echo(f"secret\t{got.secret}")
        typer.echo(f"api_key\t{got.api_key}")


@source_app.command("list")
def list_sources() -> None:
    """Sources: name, webhook, active (never the secret or the key)."""
    with database(Settings()) as (url, _), session_for(url) as session:
        rows = source_repo.all_sources(session)
    for s in rows:
        typer.echo(f"{s.name}\t{s.webhook_url or '-'}\t{'active' if s.active else 'inactive'}")


@outbox_app.command("deliver")
def deliver() -> None:
    """One delivery pass: post every message due now, in order per report; prints what happened."""
    settings = Settings()
    with database(settings) as (url, _):
        engine = db.make_engine(url, pool_size=2)
        try:
            result = exchange.deliver_once(db.make_session_factory(engine), settings)
        finally:
            engine.dispose()
    typer.echo(json.dumps({"delivered": result.delivered, "retried": result.retried,
                           "failed_for_good": result.failed_for_good}))  # fmt: skip


@outbox_app.command("list")
def list_messages(
    state: str = typer.Option("failed", help="pending | delivered | failed | all"),
    source: str | None = typer.Option(None, help="only this source"),
    limit: int = typer.Option(100, min=1, max=10_000),
) -> None:
    """Messages (default: those that failed for good): id, source, report, event, attempts, error."""
    if state not in ("pending", "delivered", "failed", "all"):
        raise typer.BadParameter("state must be pending, delivered, failed or all")
    with database(Settings()) as (url, _), session_for(url) as session:
        rows, total = outbox_repo.messages(session, state, source, None, limit)  # type: ignore[arg-type]
        counts = outbox_repo.counts(session)
    for m in rows:
        typer.echo(
            f"{m.id}\t{m.source}\treport:{m.report_id}\t{m.payload.get('to_status') or m.payload.get('kind')}"
            f"\t{m.state}\tattempts={m.attempts}\t{m.last_error or ''}"
        )
    typer.echo(f"{total} {state}; outbox: {json.dumps(counts)}", err=True)


@outbox_app.command("redeliver")
def redeliver(
    ids: list[int] = typer.Argument(None, help="message ids (default: every failed one)"),
    source: str | None = typer.Option(None, help="only this source's failed messages"),
) -> None:
    """Send messages that failed for good again (attempts start over; the next pass posts them)."""
    with database(Settings()) as (url, _), session_for(url) as session:
        count = exchange.redeliver(session, _actor(), list(ids) if ids else None, source)
    typer.echo(f"{count} messages will be delivered again")
