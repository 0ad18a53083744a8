"""`geo-grid up --workers N`: N API processes on one port, kept in step by the change feed — a token
revoked by the CLI is refused by every worker, whichever one a request reaches."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from geo_grid.cli import app
from geo_grid.embedded import free_port
from tests.support.api import bearer, create_tokens

runner = CliRunner()


@pytest.mark.slow
def test_workers_share_one_port_and_follow_a_revocation_together(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = create_tokens(db_url)["dispatcher"]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEO_GRID_")}
    # No poll and the longest token cache: only the change feed can make the workers notice.
    env.update(GEO_GRID_DATABASE_URL=db_url, GEO_GRID_GENERATION_POLL_S="0", GEO_GRID_TOKEN_CACHE_TTL_S="60")
    log = tmp_path / "up.log"
    geo_grid = Path(sys.executable).parent / "geo-grid"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(geo_grid), "up", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        pids: set[str] = set()
        while time.monotonic() < deadline and proc.poll() is None:
            pids = set(re.findall(r"Started server process \[(\d+)\]", log.read_text()))
            if len(pids) == 2 and "Application startup complete" in log.read_text():
                try:
                    if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            time.sleep(0.5)
        assert len(pids) == 2, log.read_text()[:6000]
        time.sleep(2)  # let both workers finish their start-up (each builds its snapshots)
        with httpx.Client(base_url=base, timeout=10) as client:
            # Many connections, so that both workers serve the token and cache it.
            answers = [httpx.get(f"{base}/reports", headers=bearer(token), timeout=10) for _ in range(20)]
            assert {a.status_code for a in answers} == {200}
            monkeypatch.setenv("GEO_GRID_DATABASE_URL", db_url)
            listed = runner.invoke(app, ["token", "list"]).output
            token_id = next(line.split()[0] for line in listed.splitlines() if "test-dispatcher" in line)
            assert runner.invoke(app, ["token", "revoke", token_id]).exit_code == 0
            time.sleep(1.0)
            after = [httpx.get(f"{base}/reports", headers=bearer(token), timeout=10) for _ in range(20)]
            assert {a.status_code for a in after} == {401}, [a.status_code for a in after]
            assert client.get("/health").status_code == 200
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        assert proc.returncode == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
