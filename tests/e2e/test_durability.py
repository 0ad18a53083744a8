"""A 201 means the report survives a crash: `geo-grid up` as shipped, four writers posting reports, the
PostgreSQL postmaster and its processes killed with SIGKILL mid-load, a restart (crash recovery), and every
report that was answered 201 is there with its intake event. Loopback only; bounded in time."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import bindparam, create_engine, text

from geo_grid.embedded import EmbeddedCluster, find_pg_bin_dir, free_port
from tests.support.report_helpers import interior_point, micro_grids

WRITERS = 4
MIN_ACKED_BEFORE_CRASH = 150  # the crash comes mid-load, after this many 201s


def wait_healthy(base: str, proc: subprocess.Popen[str], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    out = proc.stdout.read() if proc.poll() is not None and proc.stdout else ""
    raise AssertionError(f"geo-grid up never became healthy: {out}")


def children_of(pid: int) -> list[int]:
    out = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            out.append(int(status.parent.name))
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (already dead, not yet reaped by init) counts as gone
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class Writer(threading.Thread):
    """POST /reports (public) in a loop; keeps the id of every report answered 201."""

    def __init__(self, base: str, n: int, points: list[tuple[float, float]]) -> None:
        super().__init__(daemon=True)
        self.base, self.n, self.points = base, n, points
        self.stop = threading.Event()
        self.acked: list[int] = []
        self.failed = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as http:
            i = 0
            while not self.stop.is_set():
                lon, lat = self.points[(self.n + i * WRITERS) % len(self.points)]
                body = {
                    "category": "noise",
                    "channel": "public_account",
                    "description": f"持久性测试 writer {self.n} #{i}",
                    "lon": lon,
                    "lat": lat,
                }
                i += 1
                try:
                    r = http.post("/reports", json=body)
                except httpx.HTTPError:
                    self.failed += 1
                    time.sleep(0.05)
                    continue
                if r.status_code == 201:
                    self.acked.append(int(r.json()["id"]))
                else:
                    self.failed += 1
                    time.sleep(0.05)


@pytest.mark.slow
def test_every_report_answered_201_survives_a_postmaster_kill() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="geo_grid_durable_", dir="/tmp"))
    api_port, pg_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEO_GRID_")}
    # Four anonymous writers on one address would meet the anonymous write limit (30/min): this test is
    # about durability, so that one limit is off; everything else is the shipped configuration.
    env.update(
        GEO_GRID_DATA_DIR=str(data_dir),
        GEO_GRID_PG_PORT=str(pg_port),
        GEO_GRID_RATE_ANONYMOUS_WRITES_PER_MIN="0",
    )
    geo_grid = Path(sys.executable).parent / "geo-grid"
    proc = subprocess.Popen(
        [str(geo_grid), "up", "--port", str(api_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{api_port}"
    codes = sorted(micro_grids())[::40]
    points = [interior_point(code, min_edge_m=5) for code in codes]
    writers = [Writer(base, n, points) for n in range(WRITERS)]
    cluster = EmbeddedCluster(data_dir, pg_port, find_pg_bin_dir())
    try:
        wait_healthy(base, proc)
        for w in writers:
            w.start()
        deadline = time.monotonic() + 120
        while sum(len(w.acked) for w in writers) < MIN_ACKED_BEFORE_CRASH:
            assert time.monotonic() < deadline, f"too few reports accepted: {[w.failed for w in writers]}"
            assert all(w.is_alive() for w in writers)
            time.sleep(0.05)
        # The crash: the postmaster and every process it started, SIGKILLed while writes are in flight.
        postmaster = int((cluster.pgdata / "postmaster.pid").read_text().splitlines()[0])
        backends = children_of(postmaster)
        assert backends, "the postmaster has no children?"
        for pid in [postmaster, *backends]:
            os.kill(pid, signal.SIGKILL)
        time.sleep(1.0)  # the writers meet the dead database
        for w in writers:
            w.stop.set()
        for w in writers:
            w.join(30)
        acked = sorted(i for w in writers for i in w.acked)
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=10)
        gone_by = time.monotonic() + 30
        while any(alive(p) for p in [postmaster, *backends]):
            assert time.monotonic() < gone_by, "the killed PostgreSQL processes did not go away"
            time.sleep(0.1)

        cluster.start()  # crash recovery replays the WAL
        engine = create_engine(cluster.url("geo_grid"))
        with engine.connect() as conn:
            stored = set(
                conn.execute(
                    text("SELECT id FROM reports WHERE id IN :ids").bindparams(
                        bindparam("ids", expanding=True)
                    ),
                    {"ids": acked},
                ).scalars()
            )
            with_intake = set(
                conn.execute(
                    text(
                        "SELECT report_id FROM report_events WHERE kind = 'reported' AND report_id IN :ids"
                    ).bindparams(bindparam("ids", expanding=True)),
                    {"ids": acked},
                ).scalars()
            )
        engine.dispose()
        print(f"{len(acked)} reports answered 201 before/around the crash; {len(stored)} found after restart")
        assert len(acked) >= MIN_ACKED_BEFORE_CRASH
        lost = sorted(set(acked) - stored)
        assert not lost, f"{len(lost)} of {len(acked)} reports answered 201 were lost: {lost[:20]}"
        no_event = sorted(set(acked) - with_intake)
        assert not no_event, f"{len(no_event)} reports lost their intake event: {no_event[:20]}"
    finally:
        for w in writers:
            w.stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
        cluster.stop("immediate")
        shutil.rmtree(data_dir, ignore_errors=True)
