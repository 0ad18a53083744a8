"""The audit trail of requests: every write (in the request's own transaction) and every read of unmasked
personal data (queued in memory, written in the background, so reads never wait for the database and
keep working while it is down).

The queue is bounded (GEO_GRID_AUDIT_QUEUE_MAX rows). While PostgreSQL is unreachable, rows wait and the
flusher retries with a growing pause (≤ 30 s); when the queue is full, further rows are dropped and
counted, and the first successful flush writes one `audit_dropped` entry with that count, so a gap in the
trail is itself on record. Rows still queued when the process is killed are lost (a clean shutdown
flushes them).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from geo_grid import clock
from geo_grid.db import transaction
from geo_grid.repository import audit as audit_repo

log = logging.getLogger(__name__)

MAX_RETRY_PAUSE_S = 30.0


class AuditQueue:
    """Audit rows queued in memory and written in batches by a daemon thread: one INSERT of one JSON
    document per batch (`audit_repo.add_many_json`: ≈ 0.1× the CPU per row of the ORM insert in this
    process, which holds the GIL while it runs; `benchmarks/audit_writer.py`)."""

    def __init__(
        self, session_factory: sessionmaker[Session], max_rows: int = 10_000, flush_every_s: float = 1.0
    ) -> None:
        self._factory = session_factory
        self.max_rows = max_rows
        self.flush_every_s = flush_every_s
        self._rows: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0  # rows refused because the queue was full, not yet recorded
        self.dropped_total = 0
        self.failures = 0  # consecutive failed flushes

    def __len__(self) -> int:
        return len(self._rows)

    def put(self, row: dict[str, Any]) -> None:
        """Queue one row (its time is taken now, from the service clock); never blocks, never fails."""
        row = {"at": clock.now(), **row}
        with self._lock:
            if len(self._rows) >= self.max_rows:
                self.dropped += 1
                self.dropped_total += 1
                return
            self._rows.append(row)
            if self._thread is None and not self._closed.is_set():
                self._thread = threading.Thread(target=self._run, name="geo-grid-audit", daemon=True)
                self._thread.start()

    def flush(self) -> int:
        """Write every queued row now (one INSERT); returns how many were written. On a database error the
        rows go back to the front of the queue (within its bound) and the error is raised."""
        with self._flush_lock:
            with self._lock:
                batch = list(self._rows)
                self._rows.clear()
                dropped = self.dropped
                self.dropped = 0
            if dropped:
                batch.append(
                    {"at": clock.now(), "actor": "system", "action": "audit_dropped",
                     "detail": {"count": dropped}, "subject": None}
                )  # fmt: skip
            if not batch:
                return 0
            try:
                with transaction(self._factory) as session:
                    audit_repo.add_many_json(session, batch)
            except Exception:
                with self._lock:
                    keep = [r for r in batch if r["action"] != "audit_dropped"]
                    room = max(self.max_rows - len(self._rows), 0)
                    self._rows.extendleft(reversed(keep[:room]))
                    self.dropped += dropped + max(len(keep) - room, 0)
                raise
            return len(batch)

    def _run(self) -> None:
        pause = self.flush_every_s
        while not self._closed.is_set():
            self._wake.wait(pause)
            self._wake.clear()
            try:
                self.flush()
                self.failures, pause = 0, self.flush_every_s
            except Exception as exc:  # the database is down: keep the rows, retry later
                self.failures += 1
                pause = min(MAX_RETRY_PAUSE_S, self.flush_every_s * 2**self.failures)
                if self.failures == 1:
                    log.warning("audit rows kept in memory, the database is unreachable: %s", exc)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the flusher and write what is queued (best effort: the database may be down)."""
        self._closed.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        try:
            self.flush()
        except Exception as exc:
            log.warning("audit rows lost at shutdown, the database is unreachable: %s", exc)


def record(
    session: Session, actor: str, action: str, subject: str | None, detail: dict[str, Any] | None = None
) -> None:
    """One audit entry now, in the caller's transaction (CLI actions: actor `cli:<os user>`)."""
    audit_repo.add(session, actor, action, detail or {}, subject=subject)
