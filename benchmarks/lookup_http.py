"""Benchmark GET /lookup over HTTP: `geo-grid up` as a user starts it (in-memory index, access log on)
against one PostGIS query per request, served the same way.

    .venv/bin/python benchmarks/lookup_http.py            # temporary embedded PostGIS, ~1 minute
    .venv/bin/python benchmarks/lookup_http.py --workers 2
    .venv/bin/python benchmarks/lookup_http.py --token    # also a dispatcher token's lookups

The product is started with the shipped command (`geo-grid up`, `--workers` as given; its access log goes
to a file). The baseline is the same: the product's app (its middleware, access log on, runtime and
connection pool) with one more route, `GET /lookup_postgis`, served by the function `geo-grid up` serves
with (geo_grid.cli.server.serve: the same uvicorn options and protocol, the same worker count). Both on
127.0.0.1, the same sample database, one run:
* max throughput: `wrk` (Debian 4.1, closed loop; a Lua script cycles over precomputed points), with the
  CPU time the server's processes spent per request over that run;
* latency at a fixed 1,000 req/s: Debian's wrk has no `-R` (that is wrk2), so an open-loop generator
  here (raw asyncio HTTP/1.1 on keep-alive connections) sends each request at its scheduled time and
  measures from that time, so a server that falls behind is charged for the queueing (no coordinated
  omission). It shares the 2 cores with the server, as wrk does.
With `--token`, a dispatcher token is made with the CLI as a user would (`geo-grid token create`) and the
product is also measured with `Authorization: Bearer …` on every request (unmasked phones, each read
queued for the audit log: the fast path of api/lookup_fastpath.py), and the same token requests with one
extra parameter the route ignores (`&via=route`), which the fast path hands to the FastAPI route: the
cost of a token lookup without the fast path, on the same server.
The PostGIS route is benchmark-only, not part of the product: the same JSON shape (micro, tertiary,
community with names, people with masked phones) from ONE SQL query with the product's rule
(repository/rules.py covering_micro: ST_Covers, smallest code), a plain `def` route (thread pool) as the
product's database routes are. Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import Request  # at module level: the route's annotations are resolved in these globals

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

POSTGIS_LOOKUP = """
SELECT m.code, m.name, t.code AS t_code, t.name AS t_name, c.code AS c_code, c.name AS c_name,
       coalesce((SELECT json_agg(json_build_object('person_id', p.person_id, 'name', p.name, 'role', r.role,
                                                   'duty', r.duty, 'target_id', r.target_id, 'phone', p.phone)
                                 ORDER BY r.grid_code DESC, r.role, p.person_id)
                 FROM roles r JOIN people p ON p.id = r.person_id
                 WHERE r.grid_code IN (m.code, m.parent_code)), '[]') AS people
FROM ({covering}) m0
JOIN grids m ON m.generation_id = :gen AND m.code = m0.code
LEFT JOIN grids t ON t.generation_id = :gen AND t.code = m.parent_code
LEFT JOIN communities c ON c.code = m.community_code
"""


def baseline_app() -> Any:
    """The product's app (settings from the GEO_GRID_ environment) plus GET /lookup_postgis: one PostGIS
    query per request on the app's own connection pool (benchmark only)."""
    from sqlalchemy import text

    from geo_grid.api.app import create_app
    from geo_grid.api.runtime import runtime_of
    from geo_grid.masking import mask_phone
    from geo_grid.repository.rules import covering_micro
    from geo_grid.settings import Settings

    app = create_app(Settings())
    sql = text(POSTGIS_LOOKUP.format(covering=covering_micro("ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)")))
    active = text("SELECT id FROM generations WHERE status = 'active'")
    generation: list[int] = []

    @app.get("/lookup_postgis")
    def lookup(request: Request, lon: float, lat: float) -> dict[str, Any]:
        with runtime_of(request.app).session_factory() as session:
            if not generation:
                generation.append(session.execute(active).scalar_one())
            row = session.execute(sql, {"lon": lon, "lat": lat, "gen": generation[0]}).mappings().first()
        if row is None:
            return {"outside": True, "micro": None, "tertiary": None, "community": None, "people": []}
        people = [{**p, "phone": mask_phone(p["phone"])} for p in row["people"]]
        return {
            "outside": False,
            "micro": {"code": row["code"], "name": row["name"]},
            "tertiary": {"code": row["t_code"], "name": row["t_name"]},
            "community": {"code": row["c_code"], "name": row["c_name"]},
            "people": people,
        }

    return app


def serve(port: int, workers: int) -> None:
    """Child process: the baseline, served as `geo-grid up` serves the product."""
    from geo_grid.cli.server import serve as serve_api
    from geo_grid.settings import Settings

    serve_api(baseline_app, "benchmarks.lookup_http:baseline_app", Settings(), "127.0.0.1", port, workers)


def start_server(
    kind: str, url: str, workers: int, log: Path, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """The product as a user starts it (`geo-grid up`, its shipped settings: access log on, …), or the
    baseline the same way, in a child process; its output (the access log) goes to `log`."""
    import os

    from benchmarks.support import wait_until_serving
    from geo_grid.embedded import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEO_GRID_")}
    env["GEO_GRID_DATABASE_URL"] = url
    env.update(extra_env or {})
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if kind == "app":
        geo_grid = Path(sys.executable).parent / "geo-grid"
        cmd = [str(geo_grid), "up", "--port", str(port), "--workers", str(workers)]
    else:
        cmd = [sys.executable, __file__, "--serve", kind, "--port", str(port), "--workers", str(workers)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=out)
    wait_until_serving(proc, port, f"{kind} server")
    return proc, port


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants (Linux /proc)."""
    import os

    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            stat = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


LUA = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def run_wrk(
    port: int, paths_file: Path, seconds: int, connections: int, header: str | None = None
) -> tuple[float, int, str]:
    script = paths_file.with_suffix(".lua")
    script.write_text(LUA % paths_file)
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            *(["-H", header] if header else []),
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
    return rps, count, errors.group(0) if errors else "no errors"


async def open_loop(
    port: int, paths: list[str], rate: float, seconds: float, connections: int, header: str | None = None
) -> dict[str, float]:
    """Send request k at t0 + k/rate on the next free keep-alive connection; latency from that time."""
    n = int(rate * seconds)
    queue: asyncio.Queue[tuple[int, float]] = asyncio.Queue()
    latencies: list[float] = []
    failures = 0
    extra = f"{header}\r\n" if header else ""

    async def worker() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while True:
            k, scheduled = await queue.get()
            if k < 0:
                writer.close()
                return
            writer.write(f"GET {paths[k % len(paths)]} HTTP/1.1\r\nHost: bench\r\n{extra}\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - scheduled)
            failures += not head.startswith(b"HTTP/1.1 200")

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    t0 = time.perf_counter() + 0.2
    for k in range(n):
        scheduled = t0 + k / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((k, scheduled))
    for _ in workers:
        queue.put_nowait((-1, 0.0))
    await asyncio.wait_for(asyncio.gather(*workers), timeout=seconds + 300)  # a slow server drains late
    lat = np.array(latencies) * 1000
    achieved = len(lat) / (time.perf_counter() - t0)
    return {
        "p50": float(np.percentile(lat, 50)),
        "p99": float(np.percentile(lat, 99)),
        "max": float(lat.max()),
        "rate": achieved,
        "failures": failures,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default=None, help="a migrated database with the sample; default: embedded")
    ap.add_argument("--seconds", type=int, default=10, help="duration of each measurement")
    ap.add_argument("--rate", type=float, default=1000.0, help="fixed request rate for the latency test")
    ap.add_argument("--connections", type=int, default=32, help="wrk connections")
    ap.add_argument("--workers", type=int, default=1, help="API processes (geo-grid up --workers N), both")
    ap.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="GEO_GRID_X=VALUE",
        help="a setting for both servers (repeatable), e.g. GEO_GRID_AUDIT_QUEUE_MAX=1 to see what writing "
        "the audit rows of token reads costs (they are then dropped: a diagnostic, not a setting to ship)",
    )
    ap.add_argument(
        "--token", action="store_true", help="also measure a dispatcher token's lookups (fast path and route)"
    )
    ap.add_argument("--serve", choices=["postgis"], help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.port, args.workers)
        return
    if args.url:
        run_all(args, args.url)
    else:
        from benchmarks.support import embedded_postgis

        with embedded_postgis() as url:
            run_all(args, url)


def run_all(args: argparse.Namespace, url: str) -> None:
    import geopandas as gpd
    import shapely

    micro = gpd.read_file(ROOT / "sample_boundaries" / "micro_grids.geojson")
    minx, miny, maxx, maxy = shapely.total_bounds(micro.geometry.values)
    rng = np.random.default_rng(7)
    points = [
        f"?lon={x!r}&lat={y!r}"
        for x, y in zip(
            rng.uniform(minx, maxx, 20_000).tolist(), rng.uniform(miny, maxy, 20_000).tolist(), strict=True
        )
    ]
    tmp = Path(tempfile.mkdtemp(prefix="geo_grid_http_"))
    print(
        f"machine: {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores, load "
        f"average {Path('/proc/loadavg').read_text().strip()} before the run; {len(points):,} random points "
        f"in the sample bbox; both servers as `geo-grid up --workers {args.workers}` serves (access log on, "
        f"written to {tmp}/*.log)" + (f"; both with {' '.join(args.env)}" if args.env else "")
    )
    header = f"Authorization: Bearer {create_token(url)}" if args.token else None
    # (server kind, label, path, query suffix, header): the first measurement of a kind starts its server
    runs: list[tuple[str, str, str, str, str | None]] = [
        ("app", "geo-grid up: GET /lookup", "/lookup", "", None)
    ]
    if header:
        runs += [
            ("app", "  same, dispatcher token", "/lookup", "", header),
            ("app", "  same, token, via the route", "/lookup", "&via=route", header),
        ]
    runs.append(("postgis", "same server, PostGIS per request", "/lookup_postgis", "", None))
    results: dict[str, dict[str, float]] = {}
    running: tuple[str, subprocess.Popen[bytes], int] | None = None
    try:
        for n, (kind, label, route, suffix, auth) in enumerate(runs):
            if running is None or running[0] != kind:
                if running is not None:
                    stop(running[1])
                extra = dict(item.split("=", 1) for item in args.env)
                proc, port = start_server(kind, url, args.workers, tmp / f"{kind}.log", extra)
                running = (kind, proc, port)
            _, proc, port = running
            paths = [route + p + suffix for p in points]
            paths_file = tmp / f"run{n}.txt"
            paths_file.write_text("\n".join(paths) + "\n")
            run_wrk(port, paths_file, 2, 4, auth)  # warm-up
            cpu0 = cpu_seconds(proc.pid)
            rps, count, errors = run_wrk(port, paths_file, args.seconds, args.connections, auth)
            cpu = cpu_seconds(proc.pid) - cpu0
            fixed = asyncio.run(open_loop(port, paths, args.rate, args.seconds, 64, auth))
            results[label] = {"rps": rps, "cpu_us": 1e6 * cpu / count, **fixed}
            print(
                f"{label:<34} max {rps:>7,.0f} req/s (wrk -t2 -c{args.connections} -d{args.seconds}s, {errors}), "
                f"API processes' CPU {1e6 * cpu / count:,.0f} µs/request; at {fixed['rate']:,.0f} req/s: "
                f"p50 {fixed['p50']:.2f} ms, p99 {fixed['p99']:.2f} ms, max {fixed['max']:.1f} ms, "
                f"{int(fixed['failures'])} non-200",
                flush=True,
            )
    finally:
        if running is not None:
            stop(running[1])
    base = results["same server, PostGIS per request"]
    for label, r in results.items():
        if label != "same server, PostGIS per request":
            print(
                f"{label.strip():<34} / PostGIS per request (same run): max throughput {r['rps'] / base['rps']:.1f}x, "
                f"CPU per request {r['cpu_us'] / base['cpu_us']:.2f}x"
            )
    print(f"load average after the run: {Path('/proc/loadavg').read_text().strip()}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(30)


def create_token(url: str) -> str:
    """A dispatcher token, made as a user makes one: `geo-grid token create` (its last output line)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("GEO_GRID_")}
    env["GEO_GRID_DATABASE_URL"] = url
    geo_grid = Path(sys.executable).parent / "geo-grid"
    cmd = [str(geo_grid), "token", "create", "--role", "dispatcher", "--name", "12345 热线（压测）"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, timeout=120).stdout
    return out.strip().splitlines()[-1]


if __name__ == "__main__":
    main()
