"""services/index_publication: the live index is built once per content, published, and loaded by others."""

from __future__ import annotations

import functools
import multiprocessing
from pathlib import Path

import numpy as np
import pytest
import shapely

from geo_grid.lookup_district import DistrictIndex
from geo_grid.repository.grids import GridRecord
from geo_grid.services import directory
from geo_grid.services import index_publication as pub
from geo_grid.synthetic import synthetic_micro_grids

CODES, POLYS = synthetic_micro_grids(3, 60, seed=5)
NAMES = [f"第{i}微网格" for i in range(len(CODES))]
WKB = list(shapely.to_wkb(np.asarray(POLYS, dtype=object)))
NAME = pub.content_name(CODES, NAMES, WKB, {"part_cell_m": 1.0})


def build() -> DistrictIndex:
    return DistrictIndex.build(CODES, POLYS, NAMES)


def points() -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(POLYS, dtype=object))
    rng = np.random.default_rng(9)
    return rng.uniform(minx, maxx, 20_000), rng.uniform(miny, maxy, 20_000)


def test_the_first_process_builds_and_the_next_loads_the_same_answers(tmp_path: Path) -> None:
    first = pub.obtain(tmp_path, NAME, build)
    assert first.how == "built" and (tmp_path / NAME / "manifest.json").is_file()
    second = pub.obtain(tmp_path, NAME, lambda: pytest.fail("a published index must not be rebuilt"))
    assert second.how == "loaded"
    x, y = points()
    assert np.array_equal(second.index.locate_many(x, y), first.index.locate_many(x, y))
    assert second.index.codes == first.index.codes


def test_the_builder_serves_the_published_pages(tmp_path: Path) -> None:
    """The process that builds serves the snapshot it wrote, memory-mapped like every other process,
    not its own copy of the arrays (which it gives back)."""
    got = pub.obtain(tmp_path, NAME, build)
    assert got.how == "built"
    raster = got.index._flat.arrays["raster"]
    assert isinstance(raster, np.memmap) or isinstance(raster.base, np.memmap)
    x, y = points()
    assert np.array_equal(got.index.locate_many(x, y), build().locate_many(x, y))


def test_without_a_store_the_index_is_built_in_memory() -> None:
    got = pub.obtain(None, NAME, build)
    assert got.how == "in_memory" and got.index.size == len(CODES)


def test_the_name_is_the_content() -> None:
    assert pub.content_name(CODES, NAMES, WKB, {"part_cell_m": 1.0}) == NAME
    moved = [*WKB[:-1], shapely.to_wkb(shapely.affinity.translate(POLYS[-1], 1e-9, 0))]
    assert pub.content_name(CODES, NAMES, moved, {"part_cell_m": 1.0}) != NAME
    renamed = [*NAMES[:-1], "改名"]
    assert pub.content_name(CODES, renamed, WKB, {"part_cell_m": 1.0}) != NAME
    assert pub.content_name(CODES, NAMES, WKB, {"part_cell_m": 2.0}) != NAME


def test_a_corrupt_snapshot_is_never_served_but_rebuilt(tmp_path: Path) -> None:
    pub.obtain(tmp_path, NAME, build)
    victim = next(p for p in sorted((tmp_path / NAME).glob("flat_*.npy")) if p.stat().st_size > 256)
    data = bytearray(victim.read_bytes())
    data[-8:] = bytes(b ^ 0xFF for b in data[-8:])
    victim.write_bytes(bytes(data))
    again = pub.obtain(tmp_path, NAME, build)
    assert again.how == "built"
    x, y = points()
    assert np.array_equal(again.index.locate_many(x, y), build().locate_many(x, y))
    assert pub.obtain(tmp_path, NAME, build).how == "loaded"  # the rebuilt one was published


def _obtain_in_a_process(store: str) -> str:
    return pub.obtain(Path(store), NAME, build).how


def test_processes_starting_together_build_it_once(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        hows = pool.map(_obtain_in_a_process, [str(tmp_path)] * 3)
    assert sorted(hows) == ["built", "loaded", "loaded"]


def test_the_store_keeps_only_the_newest_snapshots(tmp_path: Path) -> None:
    names = []
    for i in range(pub.KEEP + 2):
        names.append(pub.content_name(CODES, NAMES, WKB, {"round": i}))
        pub.obtain(tmp_path, names[-1], build)
    kept = {p.name for p in tmp_path.iterdir() if p.is_dir()}
    assert kept == set(names[-pub.KEEP :])


def test_a_build_elsewhere_is_published_and_loaded_here(tmp_path: Path) -> None:
    """build_in_child builds and writes the snapshot in a spawned process; this one only loads it
    (memory-mapped), so the built arrays never sit in its memory."""
    elsewhere = functools.partial(pub.build_in_child, CODES, NAMES, WKB)
    got = pub.obtain(tmp_path, NAME, lambda: pytest.fail("built here, not elsewhere"), elsewhere)
    assert got.how == "built" and (tmp_path / NAME / "manifest.json").is_file()
    raster = got.index._flat.arrays["raster"]
    assert isinstance(raster, np.memmap) or isinstance(raster.base, np.memmap)
    x, y = points()
    assert np.array_equal(got.index.locate_many(x, y), build().locate_many(x, y))


def test_a_failed_build_elsewhere_is_built_here(tmp_path: Path) -> None:
    def broken(target: Path) -> None:
        raise OSError("the index build process exited with 1")

    got = pub.obtain(tmp_path, NAME, build, broken)
    assert got.how == "built" and got.index.size == len(CODES)
    assert pub.obtain(tmp_path, NAME, build).how == "loaded"  # and published


def test_the_live_directory_builds_a_large_index_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """directory: a whole build from BUILD_ELSEWHERE_FROM micro-grids on goes to a child process; an
    activation's replace() of one part (and a smaller index) stays in the serving process."""
    calls: list[int] = []
    real = pub.build_in_child

    def counted(codes: list[str], names: list[str], wkb: list[bytes], target: Path) -> None:
        calls.append(len(codes))
        real(codes, names, wkb, target)

    monkeypatch.setattr(pub, "build_in_child", counted)
    records = [
        GridRecord(code, name, "micro", code[:15], code[:12], bytes(blob))
        for code, name, blob in zip(CODES, NAMES, WKB, strict=True)
    ]
    subs = {code[:9]: i + 1 for i, code in enumerate(sorted({c[:9] for c in CODES}))}
    monkeypatch.setattr(pub, "BUILD_ELSEWHERE_FROM", len(CODES) + 1)
    small = directory._district_index(records, subs, tmp_path / "small", None)
    assert small.how == "built" and calls == []
    monkeypatch.setattr(pub, "BUILD_ELSEWHERE_FROM", len(CODES))
    large = directory._district_index(records, subs, tmp_path / "large", None)
    assert large.how == "built" and calls == [len(CODES)]
    x, y = points()
    assert np.array_equal(large.index.locate_many(x, y), small.index.locate_many(x, y))
