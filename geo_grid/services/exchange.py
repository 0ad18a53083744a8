"""The 12345 exchange: source systems (the 12345 hotline, the district platform) push orders that are
idempotent on (source, external_id), and get every status change (and red light) of their orders back
on their webhook through the outbox (migration 0005's trigger enqueues; this module delivers).

Delivery: one message per transaction, claimed with its row locked; a 2xx answer marks it delivered in
that transaction, anything else schedules a retry after an exponentially growing delay, until
`outbox_max_attempts` (then it fails for good and waits for an admin: `geo-grid outbox redeliver`). A
later message of a report is never sent before an earlier one is delivered. Each POST carries
`X-GeoGrid-Timestamp` (Unix seconds) and `X-GeoGrid-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.<body>" with the source's secret>`, and `X-GeoGrid-Message-Id`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import httpx
import orjson
from sqlalchemy.orm import Session, sessionmaker

from geo_grid import clock, reporting
from geo_grid.db import transaction
from geo_grid.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotAuthenticated, NotFound
from geo_grid.labels import STATUS_LABELS
from geo_grid.reporting import NewReport
from geo_grid.repository import audit as audit_repo
from geo_grid.repository import exchange_sources as source_repo
from geo_grid.repository import outbox as outbox_repo
from geo_grid.repository import reports as report_repo
from geo_grid.repository.exchange_sources import ExchangeSource
from geo_grid.services import reports as report_service
from geo_grid.services import workflow
from geo_grid.services.auth import Principal
from geo_grid.services.directory import GridDirectory
from geo_grid.settings import Settings

log = logging.getLogger(__name__)

SOURCE_NAME = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{1,40}$")
SIGNATURE_HEADER = "X-GeoGrid-Signature"
TIMESTAMP_HEADER = "X-GeoGrid-Timestamp"
MESSAGE_ID_HEADER = "X-GeoGrid-Message-Id"


# -- Sources -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewSource:
    """A source just configured: its secret and API key are shown this once."""

    source: ExchangeSource
    secret: str
    api_key: str


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _check_url(url: str | None) -> None:
    if url is not None and not url.lower().startswith(("http://", "https://")):
        raise InvalidInput("webhook 地址必须是 http:// 或 https:// 地址", {"webhook_url": url})


def add_source(session: Session, name: str, webhook_url: str | None, actor: str) -> NewSource:
    """Configure a source system; its HMAC secret and its API key are returned once (the key's hash is
    stored; the secret is stored, as signing needs it)."""
    if not SOURCE_NAME.match(name):
        raise InvalidInput("来源名称只能由字母、数字、汉字、._- 组成，最长 40 个字符", {"name": name})
    _check_url(webhook_url)
    if source_repo.get(session, name) is not None:
        raise Conflict(f"来源 {name} 已存在", {"name": name})
    secret, api_key = "whsec_" + secrets.token_hex(32), "o311_" + secrets.token_urlsafe(24)
    source = source_repo.add(session, name, webhook_url, secret, hash_api_key(api_key))
    audit_repo.add(
        session, actor, "exchange_source_add", {"webhook_url": webhook_url}, subject=f"source:{name}"
    )
    return NewSource(source, secret, api_key)


def update_source(
    session: Session, name: str, actor: str, *, webhook_url: str | None = None, active: bool | None = None,
    rotate: bool = False,
) -> NewSource | ExchangeSource:  # fmt: skip
    """Change a source's webhook or switch it on/off; `rotate` issues a new secret and API key (returned)."""
    _check_url(webhook_url)
    if source_repo.get(session, name) is None:
        raise NotFound(f"没有来源 {name}", {"name": name})
    secret = api_key = None
    if rotate:
        secret, api_key = "whsec_" + secrets.token_hex(32), "o311_" + secrets.token_urlsafe(24)
    source = source_repo.update(
        session, name, webhook_url=webhook_url, active=active, secret=secret,
        api_key_hash=hash_api_key(api_key) if api_key else None,
    )  # fmt: skip
    assert source is not None
    audit_repo.add(session, actor, "exchange_source_update",
                   {"webhook_url": webhook_url, "active": active, "rotated": rotate}, subject=f"source:{name}")  # fmt: skip
    return NewSource(source, secret, api_key) if secret and api_key else source


def source_for_api_key(session: Session, api_key: str | None) -> ExchangeSource:
    """The active source an API key belongs to (Open311 POST); 403 otherwise."""
    source = source_repo.by_api_key_hash(session, hash_api_key(api_key)) if api_key else None
    if source is None:
        raise Forbidden("api_key 无效：请向街道中心申请接入密钥（geo-grid exchange source add）")
    return source


def authorize_source(session: Session, source: str, principal: Principal, api_key: str | None) -> None:
    """Who may push an order of `source`: a dispatcher-or-higher token, or that source's API key."""
    configured = source_repo.get(session, source)
    if configured is None:
        raise InvalidInput(f"未配置的来源 {source!r}（geo-grid exchange source add）", {"source": source})
    if principal.sees_personal_data:
        return
    if api_key is None:
        raise NotAuthenticated("以来源系统身份推送工单需要该来源的 api_key（X-Api-Key）或调度员令牌")
    if (
        not configured.active
        or configured.api_key_hash is None
        or not hmac.compare_digest(configured.api_key_hash, hash_api_key(api_key))
    ):
        raise Forbidden(f"api_key 不属于来源 {source}")


# -- Idempotent intake -----------------------------------------------------------------------------------

Outcome = Literal["created", "unchanged", "updated", "cancelled"]


@dataclass(frozen=True, slots=True)
class Intake:
    """What an order's intake did: a new report (with its tracking code, shown once), or the report it
    already was (unchanged, updated with new text, or cancelled by the source)."""

    report_id: int
    outcome: Outcome
    tracking_code: str | None = None

    @property
    def created(self) -> bool:
        return self.outcome == "created"


def intake(
    session: Session,
    directory: GridDirectory,
    settings: Settings,
    new: NewReport,
    actor: str,
    resolve_address: report_service.AddressResolver | None = None,
    *,
    cancel: bool = False,
    cancel_reason: str | None = None,
) -> Intake:
    """Intake of an order of `new.source` with `new.external_id`: the first time a new report; again,
    the same report — with the new text applied, or cancelled (退单 → rejected through the workflow)."""
    if not new.source or not new.external_id:
        raise InvalidInput("来源系统的工单需要 source 和 external_id")
    source_repo.lock_order(session, new.source, new.external_id)
    existing = source_repo.find_order(session, new.source, new.external_id)
    if existing is None:
        if cancel:
            raise NotFound(f"来源 {new.source} 没有工单 {new.external_id}，无法退单")
        created = report_service.create(session, directory, settings, new, actor, resolve_address)
        return Intake(created.report_id, "created", created.tracking_code)
    if cancel:
        return _cancel(session, directory, existing, new.source, actor, cancel_reason)
    return Intake(existing, apply_update(session, existing, new, actor))


def apply_update(session: Session, report_id: int, new: NewReport, actor: str) -> Outcome:
    """A resent order: new description or photos are applied (an `order_update` event), else unchanged."""
    report = report_service.get(session, report_id, lock=True)
    changes: dict[str, object] = {}
    if new.description and new.description != report.description:
        if len(new.description) > reporting.MAX_DESCRIPTION:
            raise InvalidInput(f"description 最多 {reporting.MAX_DESCRIPTION} 个字符")
        changes["description"] = new.description
    if new.photo_urls and tuple(new.photo_urls) != report.photo_urls:
        changes["photo_urls"] = list(new.photo_urls)
    if not changes:
        return "unchanged"
    if "photo_urls" in changes:
        report_repo.update(session, report_id, photo_urls=orjson.dumps(changes["photo_urls"]).decode())
    if "description" in changes:
        report_repo.update(session, report_id, description=changes["description"])
    report_repo.add_event(session, report_id, "order_update", actor, f"来源系统 {new.source} 更新了工单内容",
                          data={"source": new.source, "external_id": new.external_id, "fields": sorted(changes)})  # fmt: skip
    return "updated"


def _cancel(
    session: Session,
    directory: GridDirectory | None,
    report_id: int,
    source: str,
    actor: str,
    reason: str | None,
) -> Intake:
    report = report_service.get(session, report_id, lock=True)
    if report.status == "rejected":
        return Intake(report_id, "unchanged")
    if not reporting.is_allowed(report.status, "rejected"):
        raise InvalidTransition(
            f"工单已{reporting.status_label(report.status)}，无法退单；请与街道中心联系",
            {"from": report.status, "to": "rejected", "allowed": list(reporting.allowed_next(report.status))},
        )
    note = f"{source}退单" + (f"：{reason}" if reason else "")
    workflow.transition(session, directory, report_id, "rejected", actor, note)
    return Intake(report_id, "cancelled")


# -- Delivery --------------------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: `sha256=` + hex HMAC-SHA256 of `<timestamp>.<body>`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver checks (also its tolerance for the timestamp's age, e.g. 5 minutes)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def message_body(message: outbox_repo.OutboxMessage) -> bytes:
    """What is posted: the message id (receivers may use it to recognise a message) and the event."""
    to = message.payload.get("to_status")
    body = {
        "message_id": message.id,
        **message.payload,
        "to_status_label": STATUS_LABELS.get(to) if to else None,
    }
    return orjson.dumps(body)


def backoff(settings: Settings, attempts: int) -> timedelta | None:
    """The delay before the next attempt after `attempts` failed ones, or None: give up."""
    if attempts >= settings.outbox_max_attempts:
        return None
    return timedelta(
        seconds=min(settings.outbox_backoff_s * 2 ** (attempts - 1), settings.outbox_backoff_max_s)
    )


@dataclass(frozen=True, slots=True)
class DeliveryPass:
    delivered: int
    retried: int
    failed_for_good: int


def _post(client: httpx.Client, due: outbox_repo.Due) -> str | None:
    """Post one message; None when acknowledged (2xx), else what went wrong."""
    body = message_body(due.message)
    timestamp = str(int(clock.now().timestamp()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(due.secret, timestamp, body),
        MESSAGE_ID_HEADER: str(due.message.id),
    }
    try:
        response = client.post(due.webhook_url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}: {response.text[:200]}"


def deliver_once(
    factory: sessionmaker[Session], settings: Settings, client: httpx.Client | None = None,
    stop: threading.Event | None = None, max_messages: int = 10_000,
) -> DeliveryPass:  # fmt: skip
    """One pass: try every message due now once (each in its own transaction), in order per report."""
    own = client is None
    http = client or httpx.Client(timeout=settings.outbox_timeout_s, follow_redirects=False)
    delivered = retried = gave_up = 0
    tried: list[int] = []
    try:
        for _ in range(max_messages):
            if stop is not None and stop.is_set():
                break
            with transaction(factory) as session:
                due = outbox_repo.claim_due(session, 1, tried)
                if not due:
                    break
                tried.append(due[0].message.id)
                error = _post(http, due[0])
                if error is None:
                    outbox_repo.mark_delivered(session, due[0].message.id)
                    delivered += 1
                    continue
                retry_in = backoff(settings, due[0].message.attempts + 1)
                outbox_repo.mark_failed(session, due[0].message.id, error, retry_in)
                if retry_in is None:
                    gave_up += 1
                    log.warning("outbox message %s failed for good: %s", due[0].message.id, error)
                else:
                    retried += 1
    finally:
        if own:
            http.close()
    return DeliveryPass(delivered, retried, gave_up)


class OutboxWorker:
    """The runtime's delivery thread: a pass every `outbox_poll_s` seconds; stopping lets the message in
    flight finish (its acknowledgement is committed before the thread ends)."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self._factory = factory
        self._settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._settings.outbox_poll_s <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="geo-grid-outbox", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=self._settings.outbox_timeout_s, follow_redirects=False) as client:
            failing = False
            while not self._stop.is_set():
                try:
                    deliver_once(self._factory, self._settings, client, self._stop)
                    failing = False
                except Exception as exc:  # the database is down or restarting: try again next round
                    if not failing:  # once per outage, not every round
                        log.warning(
                            "outbox pass failed (retrying every %ss): %s", self._settings.outbox_poll_s, exc
                        )
                    failing = True
                self._stop.wait(self._settings.outbox_poll_s)

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None


def redeliver(
    session: Session, actor: str, message_ids: list[int] | None = None, source: str | None = None
) -> int:
    """Send messages that failed for good again (attempts start over); audited."""
    count = outbox_repo.redeliver(session, message_ids, source)
    audit_repo.add(session, actor, "outbox_redeliver", {"ids": message_ids, "source": source, "count": count})
    return count
