"""Peak memory and speed of `geo-grid assign` on a large CSV: it streams, so memory must not grow with rows.

    .venv/bin/python benchmarks/assign_memory.py --rows 1000000 2000000   # temporary embedded PostGIS

Writes a CSV of N rows (id, lon, lat, a text column; 1 row in 1,000 with bad coordinates) per size,
runs the real command in a child process and reports its wall time and peak RSS (ru_maxrss of the
child). A flat RSS across sizes is what lets 10 million rows through; prints figures only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BBOX = (113.6851, 34.7501, 113.7144, 34.7701)  # the sample micro-grids' bounding box (rounded)


def write_csv(path: Path, rows: int, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("id,lon,lat,note\n")
        step = 1_000_000
        for start in range(0, rows, step):
            n = min(step, rows - start)
            lon = rng.uniform(BBOX[0], BBOX[2], n).round(7).astype(str)
            lat = rng.uniform(BBOX[1], BBOX[3], n).round(7).astype(str)
            lon[::1000] = ""  # missing coordinates: kept and flagged
            ids = np.arange(start, start + n).astype(str)
            fh.write("\n".join(f"{i},{x},{y},上报{i}" for i, x, y in zip(ids, lon, lat, strict=True)) + "\n")


def run(url: str, sizes: list[int], chunk_rows: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="geo_grid_assign_"))
    for rows in sizes:
        src, out = tmp / f"in_{rows}.csv", tmp / f"out_{rows}.csv"
        write_csv(src, rows)
        cmd = [
            str(ROOT / ".venv/bin/geo-grid"),
            "assign",
            str(src),
            "-o",
            str(out),
            "--chunk-rows",
            str(chunk_rows),
        ]
        # a fresh child per size: ru_maxrss of RUSAGE_CHILDREN is the max over all waited-for children
        probe = [
            sys.executable,
            "-c",
            (
                "import resource, subprocess, sys, time; t = time.perf_counter(); "
                "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
                "print(r.returncode, time.perf_counter() - t, "
                "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, repr(r.stdout.strip()[-200:] + r.stderr[-300:]))"
            ),
            *cmd,
        ]
        res = subprocess.run(
            probe, capture_output=True, text=True, env={**os.environ, "GEO_GRID_DATABASE_URL": url}
        )
        code, seconds, rss_kib, tail = res.stdout.split(" ", 3)
        size_mb = src.stat().st_size / 1e6
        print(
            f"{rows:>11,} rows ({size_mb:,.0f} MB CSV): exit {code}, {float(seconds):.1f} s = "
            f"{rows / float(seconds) / 1e3:,.0f} k rows/s, peak RSS {int(rss_kib) / 1024:,.0f} MiB; {tail.strip()}"
        )
        src.unlink()
        out.unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 2_000_000])
    ap.add_argument("--chunk-rows", type=int, default=250_000)
    ap.add_argument("--url", default=None, help="a migrated database with the sample; default: embedded")
    args = ap.parse_args()
    if args.url:
        run(args.url, args.rows, args.chunk_rows)
        return
    from benchmarks.support import embedded_postgis

    with embedded_postgis() as url:
        run(url, args.rows, args.chunk_rows)


if __name__ == "__main__":
    main()
