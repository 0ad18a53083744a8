"""The live lookup index, built once per change and published; every other process loads it.

A published snapshot is a directory of memory-mapped arrays (geo_grid/io/index_store.py) in a store
(`<data_dir>/lookup` by default). Its name is a digest of its CONTENT — the micro-grids' codes, names
and WKB and the index's build settings — so a snapshot is only ever loaded for exactly the boundaries it
was built from: a rebuilt database whose generation ids start again at 1 cannot pick up another
database's index, and an activation, an edit or a new format simply makes a new name.

Under an exclusive file lock per name, the first process (API worker, replica on the same disk, bulk
worker) builds and writes; the others wait for it and load the files, sharing their pages. A snapshot
that fails to load (corrupt, truncated, another format) is never served: it is rebuilt and written
again. Without a store the index is built in memory, as before.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import multiprocessing
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import shapely

from geo_grid.io.index_store import FORMAT, VERSION, SnapshotError, load_index, write_index
from geo_grid.lookup_district import DistrictIndex
from geo_grid.memory import release_freed_memory

log = logging.getLogger(__name__)

KEEP = 4  # snapshots kept in the store (the newest by use); older ones are removed


@dataclass(frozen=True)
class Obtained:
    index: DistrictIndex
    name: str  # the snapshot's content name in the store
    how: str  # "loaded" (published by another process or an earlier run), "built" or "in_memory"
    seconds: float


def content_name(
    codes: Sequence[str], names: Sequence[str], wkb: Sequence[bytes], settings: Mapping[str, object]
) -> str:
    """The name of the snapshot of these micro-grids built with these settings (a BLAKE2b digest)."""
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{FORMAT}:{VERSION}:{sorted(settings.items())!r}".encode())
    for code, name, blob in zip(codes, names, wkb, strict=True):
        h.update(code.encode())
        h.update(b"\x00")
        h.update(name.encode())
        h.update(b"\x00")
        h.update(len(blob).to_bytes(8, "little"))
        h.update(blob)
    return h.hexdigest()


# The build settings of every published index (DistrictIndex.build's defaults): the API's live directory
# and `geo-grid assign --dask` name the same grids alike, so they share one snapshot in a store.
PUBLISHED_SETTINGS: Mapping[str, object] = {"index": "district", "subdistrict_digits": 9}


def published_name(codes: Sequence[str], names: Sequence[str], wkb: Sequence[bytes]) -> str:
    """The store name of the index of these micro-grids."""
    return content_name(codes, names, wkb, PUBLISHED_SETTINGS)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def obtain(
    store: Path | None,
    name: str,
    build: Callable[[], DistrictIndex],
    elsewhere: Callable[[Path], None] | None = None,
) -> Obtained:
    """The index named `name`: loaded from `store` when published there, else built (and published).
    `elsewhere(target)`, when given, builds and writes the snapshot in another process (build_in_child),
    which this one then loads: its memory never holds the built arrays (with a store only; should that
    fail, `build` runs here)."""
    started = time.perf_counter()
    if store is None:
        return Obtained(build(), name, "in_memory", time.perf_counter() - started)
    store.mkdir(parents=True, exist_ok=True)
    target = store / name
    with _locked(store / f".{name}.lock"):
        if target.is_dir():
            try:
                index = load_index(target)
                target.touch()  # its use keeps it among the KEEP newest
                return Obtained(index, name, "loaded", time.perf_counter() - started)
            except SnapshotError as exc:
                log.warning("published lookup index unusable, building it again: %s", exc)
        if elsewhere is not None:
            try:
                elsewhere(target)
                index = load_index(target)
            except (OSError, SnapshotError) as exc:
                log.warning("building the lookup index in another process failed, building it here: %s", exc)
            else:
                _prune(store, keep=name)
                return Obtained(index, name, "built", time.perf_counter() - started)
        index = build()
        try:
            write_index(index, target)
        except OSError as exc:  # a full or read-only disk: serve from memory, publish next time
            log.warning("could not publish the lookup index to %s: %s", target, exc)
            return Obtained(index, name, "built", time.perf_counter() - started)
        index = _as_published(index, target)
    _prune(store, keep=name)
    return Obtained(index, name, "built", time.perf_counter() - started)


def _as_published(built: DistrictIndex, target: Path) -> DistrictIndex:
    """The snapshot just written, loaded in place of the index built in this process: the builder then
    serves the same memory-mapped pages as every other process (shared, not counted twice) and hands the
    built arrays' heap back (city scale: ≈ 200 MiB less RSS after a first start or an activation)."""
    try:
        published = load_index(target)
    except SnapshotError as exc:  # written but unreadable: serve the built one, rebuild next time
        log.warning("published lookup index unusable, serving the one built: %s", exc)
        return built
    del built
    release_freed_memory()
    return published


# From this many micro-grids on, a whole build runs in a child process (directory.py): at 124,000 one
# peaks at ≈ 1.2 GiB, more than an API process's budget, for the few seconds it takes.
BUILD_ELSEWHERE_FROM = 20_000


def build_in_child(codes: Sequence[str], names: Sequence[str], wkb: Sequence[bytes], target: Path) -> None:
    """Build the DistrictIndex of these micro-grids in a fresh (spawned) process and write its snapshot
    to `target`; OSError when that process fails. A spawned child imports anew, so no lock or thread of
    a serving process is inherited (as a fork would)."""
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(
        target=_build_and_write,
        args=(list(codes), list(names), [bytes(b) for b in wkb], str(target)),
        name="geo-grid-index-build",
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        raise OSError(f"the index build process exited with {child.exitcode}")


def _build_and_write(codes: list[str], names: list[str], wkb: list[bytes], target: str) -> None:
    write_index(DistrictIndex.build(codes, list(shapely.from_wkb(wkb)), names), Path(target))


def _prune(store: Path, keep: str) -> None:
    """Remove all but the KEEP most recently used snapshots (a process still mapping a removed one keeps
    its pages: the files live on until it lets go)."""
    dirs = sorted(
        (p for p in store.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in dirs[KEEP:]:
        if old.name == keep:
            continue
        lock = store / f".{old.name}.lock"
        with lock.open("a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # someone is loading or writing it right now: leave it for the next prune
            shutil.rmtree(old, ignore_errors=True)
            lock.unlink(missing_ok=True)
