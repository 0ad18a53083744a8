"""geo_grid.io.index_store: a DistrictIndex written and loaded back answers exactly like the original."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
import shapely.affinity

from geo_grid.io.index_store import SnapshotError, load_index, read_manifest, write_index
from geo_grid.lookup_district import DistrictIndex
from geo_grid.synthetic import synthetic_micro_grids
from tests.support.lookup_reference import brute_force_locate, edge_probe_points


@pytest.fixture(scope="module")
def index() -> DistrictIndex:
    codes, polys = synthetic_micro_grids(4, 120, seed=21)
    return DistrictIndex.build(codes, polys, [f"第{i}微网格" for i in range(len(codes))])


@pytest.fixture()
def snapshot(index: DistrictIndex, tmp_path: Path) -> Path:
    write_index(index, tmp_path / "snap")
    return tmp_path / "snap"


def probe(index: DistrictIndex) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(index.polygons, dtype=object))
    rng = np.random.default_rng(3)
    ex, ey = edge_probe_points(index.polygons, eps=1e-9)
    x = np.concatenate([rng.uniform(minx - 0.01, maxx + 0.01, 40_000), ex, [np.nan]])
    y = np.concatenate([rng.uniform(miny - 0.01, maxy + 0.01, 40_000), ey, [34.7]])
    return x, y


def test_round_trip_answers_equal(index: DistrictIndex, snapshot: Path) -> None:
    loaded = load_index(snapshot)
    assert loaded.codes == index.codes and loaded.names == index.names
    assert loaded.subdistrict_codes == index.subdistrict_codes
    assert all(a.equals_exact(b, 0.0) for a, b in zip(loaded.polygons, index.polygons, strict=True))
    x, y = probe(index)
    got = loaded.locate_many(x, y)
    assert np.array_equal(got, index.locate_many(x, y))
    assert np.array_equal(got, brute_force_locate(index.codes, index.polygons, x, y))
    pos, tie = loaded.locate_many_with_ties(x, y)
    assert np.array_equal(tie, index.locate_many_with_ties(x, y)[1]) and tie.any()
    for i in range(0, len(x), 97):
        a, b = float(x[i]), float(y[i])
        assert loaded.locate_pos(a, b) == index.locate_pos(a, b)
        assert loaded.candidates(a, b) == index.candidates(a, b)
    outside = np.flatnonzero(got < 0)[:-1][:500]  # finite points only
    p1, d1 = loaded.nearest_many(x[outside], y[outside])
    p2, d2 = index.nearest_many(x[outside], y[outside])
    assert np.array_equal(p1, p2) and np.array_equal(d1, d2)
    assert loaded.nbytes == index.nbytes and loaded.stats() == index.stats()


def test_arrays_are_memory_mapped_read_only(snapshot: Path) -> None:
    loaded = load_index(snapshot)
    raster = loaded._flat.arrays["raster"]
    assert isinstance(raster, np.memmap) and not raster.flags.writeable
    assert np.shares_memory(loaded.parts[0]._raster, raster)  # the parts are views, not copies
    with pytest.raises(ValueError):
        raster[0] = 1


def test_digest_identifies_the_content(index: DistrictIndex, tmp_path: Path) -> None:
    first = write_index(index, tmp_path / "a")
    again = write_index(index, tmp_path / "a")  # replaces the directory in place
    assert first == again == read_manifest(tmp_path / "a")["digest"]
    codes, polys = synthetic_micro_grids(4, 120, seed=22)
    other = write_index(DistrictIndex.build(codes, polys), tmp_path / "b")
    assert other != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # no temporary directory left


def test_corrupt_truncated_missing_and_foreign(snapshot: Path, tmp_path: Path) -> None:
    raster = snapshot / "flat_raster.npy"
    data = bytearray(raster.read_bytes())
    data[-3] ^= 0x5A  # one flipped byte: same size, different digest
    raster.write_bytes(bytes(data))
    with pytest.raises(SnapshotError, match="损坏"):
        load_index(snapshot)
    raster.write_bytes(bytes(data[:-10]))  # truncated: caught even without digests
    with pytest.raises(SnapshotError, match="大小不符"):
        load_index(snapshot, verify=False)
    (snapshot / "router_cells.npy").unlink()
    with pytest.raises(SnapshotError):
        load_index(snapshot, verify=False)
    with pytest.raises(SnapshotError, match="不存在"):
        load_index(tmp_path / "nowhere")
    manifest = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
    manifest["version"] = 99
    (snapshot / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(SnapshotError, match="版本"):
        load_index(snapshot)
    (snapshot / "manifest.json").write_text("{}", encoding="utf-8")
    with pytest.raises(SnapshotError, match="不是"):
        load_index(snapshot)


def test_manifest_tampering_is_detected(snapshot: Path) -> None:
    manifest = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
    name = "flat_sp_cand.npy"
    manifest["files"][name]["blake3"] = "0" * 64  # a manifest edited without its digest
    (snapshot / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(SnapshotError):
        load_index(snapshot, verify=False)


def test_an_older_snapshot_is_refused(snapshot: Path) -> None:
    """Format 3 added files (the parts' extras, the polygon rings), format 4 put a special cell's segment
    row and answers into one record (flat_sp instead of flat_sp_seg/_left/_right): an older snapshot is
    refused with SnapshotError (the publisher then builds and publishes again), never read with files
    missing or misread."""
    manifest = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["version"] == 4 and "extras_seg.npy" in manifest["files"]
    assert "flat_sp.npy" in manifest["files"] and "flat_sp_seg.npy" not in manifest["files"]
    for older in (2, 3):
        manifest["version"] = older
        (snapshot / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        with pytest.raises(SnapshotError, match=f"版本 {older} 不受支持"):
            load_index(snapshot)


def test_replace_after_a_load_reuses_the_stored_extras(index: DistrictIndex, snapshot: Path) -> None:
    """An activation after a load rebuilds one part only: the other parts' router cells and boundary
    segments come from the snapshot, and the result equals a replace() of the built index."""
    loaded = load_index(snapshot)
    assert all(e is not None for e in loaded._extras)
    assert isinstance(loaded._extras[0].seg.base, np.memmap) or isinstance(loaded._extras[0].seg, np.memmap)
    target = index.subdistrict_codes[1]
    mine = [i for i, c in enumerate(index.codes) if c.startswith(target)]
    shrunk = [shapely.affinity.scale(index.polygons[i], 0.9, 0.9) for i in mine]
    args = (target, [index.codes[i] for i in mine], shrunk)
    a, b = loaded.replace(*args), index.replace(*args)
    x, y = probe(index)
    assert np.array_equal(a.locate_many(x, y), b.locate_many(x, y))
    assert np.array_equal(a.locate_many(x, y), brute_force_locate(b.codes, b.polygons, x, y))
    out = np.flatnonzero(b.locate_many(x, y) < 0)[:-1][:300]
    assert np.array_equal(a.nearest_many(x[out], y[out])[0], b.nearest_many(x[out], y[out])[0])
    assert a.stats() == b.stats()
