"""Benchmark GET /lookup latency while anonymous callers attack the service (issue 10: nobody anonymous
can stall it). Prints figures only, never asserts.

    .venv/bin/python benchmarks/lookup_hostile.py          # temporary embedded PostGIS, ~2 minutes

The server is the shipped configuration of `geo-grid up` (create_app with default Settings, uvicorn with
the request-header timeout protocol, 1 worker on 127.0.0.1). Five extra generations are opened and
activated first, so the sample has six to cycle through. Then GET /lookup is measured open-loop (each
request sent at its scheduled time, latency from that time; see lookup_http.py) at a fixed rate:

1. quiet;
2. under hostile load, shipped settings (rate limits on);
3. under the same load with the rate limits off (GEO_GRID_RATE_*=0): what the worker-thread isolation,
   the body limits and the past-generation cache do on their own.

The hostile load runs in another process: 3 anonymous clients posting 100,000-point /lookup/batch in a
loop, 1 posting address batches of 10,000 distinct 300-character queries, and 2 cycling
`/lookup?generation=` over all six generations. It shares the machine's cores with the server and the
measuring client, at a lower priority (nice 10): on a real attack its CPU would be the attackers' own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from lookup_http import open_loop  # noqa: E402


def serve(url: str, port: int, rate_limits: bool) -> None:
    """Child process: what `geo-grid up` runs (cli/server.py), on this database."""
    import uvicorn

    from geo_grid.api.app import create_app
    from geo_grid.api.header_timeout import protocol_class
    from geo_grid.settings import Settings

    off = {} if rate_limits else {k: 0 for k in Settings.model_fields if k.startswith("rate_")}
    settings = Settings(database_url=url, **off)
    http = protocol_class(settings.header_timeout_s)
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning", http=http)


def start_server(url: str, rate_limits: bool) -> tuple[subprocess.Popen[bytes], int]:
    from support import wait_until_serving

    from geo_grid.embedded import free_port

    port = free_port()
    cmd = [sys.executable, __file__, "--serve", "--url", url, "--port", str(port)]
    proc = subprocess.Popen(cmd + ([] if rate_limits else ["--no-rate-limits"]))
    wait_until_serving(proc, port)
    return proc, port


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, then kill: a graceful shutdown would wait for a running address batch."""
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def make_generations(url: str, port: int, n: int) -> list[int]:
    """Open and activate `n` drafts (unchanged copies) through the API; return every generation id."""
    import httpx

    from geo_grid import db
    from geo_grid.services.auth import create_token

    engine = db.make_engine(url, pool_size=1)
    with db.transaction(db.make_session_factory(engine)) as session:
        token = create_token(session, "planner", "benchmark")
    engine.dispose()
    h = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=h, timeout=120) as c:
        for _ in range(n):
            gen = c.post("/generations", json={"note": "benchmark"}).raise_for_status().json()["id"]
            for _ in range(50):  # the draft's transaction may commit just after its 201 was sent
                r = c.post(f"/generations/{gen}/activate")
                if r.status_code != 404:
                    break
                time.sleep(0.1)
            r.raise_for_status()
        return [g["id"] for g in c.get("/generations").raise_for_status().json()]


def hostile(port: int, gens: list[int], stop: Any, out: Any, points_body: bytes, address_body: bytes) -> None:
    """Child process: the attackers, one thread each, until `stop` is set; status counts go to `out`."""
    import os

    import httpx

    # The attackers would be other machines: their client-side CPU should not count against the server
    # here, so this process yields the shared cores (nice 10) to the server and the measuring client.
    os.nice(10)
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    gen_latency: list[float] = []

    def note(kind: str, status: str) -> None:
        with lock:
            counts[f"{kind} {status}"] += 1

    def post_loop(kind: str, path: str, body: bytes) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as c:
            while not stop.is_set():
                try:
                    r = c.post(path, content=body, headers={"content-type": "application/json"})
                    note(kind, str(r.status_code))
                except httpx.HTTPError as exc:
                    note(kind, type(exc).__name__)
                    time.sleep(0.05)

    def generation_loop(offset: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as c:
            k = offset
            while not stop.is_set():
                gen = gens[k % len(gens)]
                k += 1
                t = time.perf_counter()
                try:
                    r = c.get("/lookup", params={"lon": 113.7, "lat": 34.76, "generation": gen})
                    note("generation", str(r.status_code))
                    with lock:
                        gen_latency.append(time.perf_counter() - t)
                except httpx.HTTPError as exc:
                    note("generation", type(exc).__name__)

    threads = [
        threading.Thread(target=post_loop, args=("batch", "/lookup/batch", points_body)) for _ in range(3)
    ]
    threads.append(
        threading.Thread(target=post_loop, args=("address", "/lookup/address/batch", address_body))
    )
    threads += [threading.Thread(target=generation_loop, args=(i * 3,)) for i in range(2)]
    for t in threads:
        t.daemon = True
        t.start()
    stop.wait()
    time.sleep(0.5)
    with lock:
        lat = np.array(gen_latency or [0.0]) * 1000
        out.put(
            {
                "counts": dict(counts),
                "generation_p50": float(np.percentile(lat, 50)),
                "generation_p99": float(np.percentile(lat, 99)),
            }
        )


def time_batch(port: int, body: bytes) -> float:
    """Seconds for one batch (after one that starts the worker process and builds its snapshot)."""
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as c:
        h = {"content-type": "application/json"}
        c.post("/lookup/batch", content=body, headers=h).raise_for_status()
        t = time.perf_counter()
        c.post("/lookup/batch", content=body, headers=h).raise_for_status()
        return time.perf_counter() - t


def measure(port: int, paths: list[str], rate: float, seconds: float) -> dict[str, float]:
    return asyncio.run(open_loop(port, paths, rate, seconds, 16))


def run_all(args: argparse.Namespace, url: str) -> None:
    import geopandas as gpd
    import shapely

    micro = gpd.read_file(ROOT / "sample_boundaries" / "micro_grids.geojson")
    minx, miny, maxx, maxy = shapely.total_bounds(micro.geometry.values)
    rng = np.random.default_rng(7)
    xs, ys = rng.uniform(minx, maxx, 100_000), rng.uniform(miny, maxy, 100_000)
    paths = [
        f"/lookup?lon={x!r}&lat={y!r}" for x, y in zip(xs[:5000].tolist(), ys[:5000].tolist(), strict=True)
    ]
    points_body = json.dumps({"points": np.column_stack([xs, ys]).round(7).tolist()}).encode()
    queries = [f"{i:05d}" + "一二三四五六七八九十号楼单元"[i % 13] * 295 for i in range(10_000)]
    address_body = json.dumps({"queries": queries}, ensure_ascii=False).encode()
    print(
        f"machine: {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores; "
        f"GET /lookup open loop at {args.rate:.0f} req/s for {args.seconds:.0f} s per phase; "
        f"hostile bodies: points {len(points_body) / 1e6:.1f} MB, addresses {len(address_body) / 1e6:.1f} MB"
    )
    rows: list[tuple[str, dict[str, float], dict[str, Any] | None]] = []
    gens: list[int] = []
    quiet_batch = float("nan")
    for rate_limits in (True, False):
        proc, port = start_server(url, rate_limits)
        try:
            if not gens:
                gens = make_generations(url, port, 5)
                print(f"generations: {gens}")
            measure(port, paths, args.rate, 2)  # warm-up
            if rate_limits:
                rows.append(("quiet", measure(port, paths, args.rate, args.seconds), None))
                quiet_batch = time_batch(port, points_body)
            stop = mp.Event()
            out: Any = mp.Queue()
            attacker = mp.Process(target=hostile, args=(port, gens, stop, out, points_body, address_body))
            attacker.start()
            time.sleep(args.ramp)  # let the attack get going (worker processes start, snapshots build)
            loaded = measure(port, paths, args.rate, args.seconds)
            stop.set()
            report = out.get(timeout=60)
            attacker.join(30)
            if attacker.is_alive():
                attacker.kill()
            label = "hostile, shipped settings" if rate_limits else "hostile, rate limits off"
            rows.append((label, loaded, report))
        finally:
            stop_server(proc)

    print(f"one 100,000-point /lookup/batch on a quiet server (worker process warm): {quiet_batch:.2f} s")
    print(f"\n{'GET /lookup':<28}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'req/s':>8}{'non-200':>9}")
    for label, m, _ in rows:
        print(
            f"{label:<28}{m['p50']:>9.2f}{m['p99']:>9.2f}{m['max']:>9.1f}{m['rate']:>8.0f}{int(m['failures']):>9}"
        )
    for label, _, report in rows:
        if report is None:
            continue
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(report["counts"].items()))
        print(f"\n{label}: attacker responses {counts}")
        print(
            f"  /lookup?generation= cycling over {len(gens)} generations: "
            f"p50 {report['generation_p50']:.1f} ms, p99 {report['generation_p99']:.1f} ms"
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default=None, help="a migrated database with the sample; default: embedded")
    ap.add_argument("--seconds", type=float, default=15, help="duration of each measurement")
    ap.add_argument("--ramp", type=float, default=10, help="seconds of attack before measuring")
    ap.add_argument("--rate", type=float, default=200.0, help="GET /lookup requests per second")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-rate-limits", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.url, args.port, not args.no_rate_limits)
        return
    if args.url:
        run_all(args, args.url)
    else:
        from support import embedded_postgis

        with embedded_postgis() as url:
            run_all(args, url)


if __name__ == "__main__":
    main()
