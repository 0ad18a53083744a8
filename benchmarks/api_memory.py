"""Memory of one API process as a user runs it: `geo-grid up` on an already-loaded data directory, its RSS
after start-up and after a few hundred mixed requests (lookups, address matches, maps).

    GEO_GRID_DATA_DIR=/tmp/city .venv/bin/geo-grid load-sample --synthetic-district 125   # once, ~90 s
    GEO_GRID_DATA_DIR=/tmp/city .venv/bin/python benchmarks/api_memory.py [--requests 300] [--workers 1]

The server is the shipped command (`geo-grid up --port P`, its embedded PostGIS started from the data
directory); RSS is read from /proc (VmRSS, and VmHWM: the peak) of the API process(es) only — the
PostgreSQL processes it starts are not counted. The requests are drawn from the data itself: the synthetic
city's door plates (`合成路N号`, every one on one road), the points and micro-grid codes they answer with,
and the subdistricts those name. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo_grid.embedded import free_port  # noqa: E402


def _status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM of a process, in KiB."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        kids += [int(k) for k in text]
    return kids


def api_processes(pid: int) -> list[int]:
    """The `geo-grid up` process and its Python descendants (uvicorn workers), not PostgreSQL."""
    found, todo = [pid], [pid]
    while todo:
        for kid in _children(todo.pop()):
            try:
                cmd = Path(f"/proc/{kid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"python" in cmd or b"geo-grid" in cmd:
                found.append(kid)
                todo.append(kid)
    return found


def report(label: str, pid: int) -> None:
    procs = api_processes(pid)
    figures = [(p, _status(p)) for p in procs]
    total = sum(s["VmRSS"] for _, s in figures) / 1024
    each = ", ".join(f"{p}: {s['VmRSS'] / 1024:,.0f} MiB (peak {s['VmHWM'] / 1024:,.0f})" for p, s in figures)
    print(
        f"{label:<34} RSS {total:,.0f} MiB   [{each}]   load {Path('/proc/loadavg').read_text().split()[:3]}"
    )


def wait_ready(proc: subprocess.Popen[bytes], base: str, timeout_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if proc.poll() is not None:
            raise RuntimeError(f"geo-grid up exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/lookup/address", params={"q": "合成路1号"}, timeout=5).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("geo-grid up did not become ready")


def drive(base: str, n: int, seed: int) -> dict[str, int]:
    """`n` mixed requests; returns the count per kind (and their status codes)."""
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    points: list[tuple[float, float]] = []
    micro: list[str] = []
    with httpx.Client(base_url=base, timeout=120) as client:

        def get(kind: str, url: str, **params: object) -> httpx.Response:
            r = client.get(url, params=params or None)
            key = f"{kind} {r.status_code}"
            counts[key] = counts.get(key, 0) + 1
            return r

        # Address matches first (door plates, a typo, the whole road, a place that does not exist): they
        # give the points and grid codes of the other requests.
        for i in range(max(n // 3, 1)):
            number = rng.randint(1, 124_000)
            q = (f"合成路{number}号", f"合成璐{number}号", f"金水区合成路{number}号", "火星路99号")[i % 4]
            r = get("address", "/lookup/address", q=q)
            body = r.json() if r.status_code == 200 else {}
            if body.get("status") == "matched" and body.get("grid"):
                point = body["address"]["point"]
                points.append((point["lon"], point["lat"]))
                micro.append(body["grid"]["micro"]["code"])
        get("address", "/lookup/address", q="合成路")
        subs = sorted({code[:9] for code in micro})
        for i in range(n - n // 3):
            kind = i % 6
            if kind < 3 and points:
                lon, lat = rng.choice(points)
                get(
                    "lookup",
                    "/lookup",
                    lon=lon + rng.uniform(-3e-4, 3e-4),
                    lat=lat + rng.uniform(-3e-4, 3e-4),
                )
            elif kind == 3 and micro:
                get("map grid", f"/maps/grids/{rng.choice(micro)}")
            elif kind == 4 and subs:
                get("map coverage", "/maps/coverage", subdistrict=rng.choice(subs))
            elif subs:
                get("map incidents", "/maps/incidents", subdistrict=rng.choice(subs))
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ready-timeout", type=float, default=600.0)
    ap.add_argument("--command", default=str(ROOT / ".venv/bin/geo-grid"), help="the geo-grid to start")
    args = ap.parse_args()
    if not os.environ.get("GEO_GRID_DATA_DIR"):
        sys.exit(
            "set GEO_GRID_DATA_DIR to a loaded data directory (geo-grid load-sample --synthetic-district 125)"
        )
    port = free_port()
    env = dict(os.environ)
    env.setdefault("GEO_GRID_PG_PORT", str(free_port()))
    base = f"http://127.0.0.1:{port}"
    log = open(Path(env["GEO_GRID_DATA_DIR"]) / "api_memory.log", "wb")  # noqa: SIM115
    cmd = [args.command, "up", "--port", str(port), "--workers", str(args.workers)]
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        ready = wait_ready(proc, base, args.ready_timeout)
        print(f"ready in {ready:.1f} s (wall, shared machine)")
        report("after start-up", proc.pid)
        started = time.monotonic()
        counts = drive(base, args.requests, args.seed)
        print(
            f"{sum(counts.values())} requests in {time.monotonic() - started:.1f} s: {dict(sorted(counts.items()))}"
        )
        report(f"after {args.requests} mixed requests", proc.pid)
    finally:
        # Ctrl-C, as a user stops it: `geo-grid up` then stops the embedded PostgreSQL it started (after
        # SIGTERM uvicorn re-raises the signal once shut down, and the cluster kept running).
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


if __name__ == "__main__":
    main()
