"""A published lookup snapshot: a DistrictIndex written to a directory once, loaded by every process.

Layout of the directory (all numpy arrays as ``.npy`` files, memory-mapped on load, so N processes on
one machine share the same pages of the page cache instead of each building or copying the index):

* ``manifest.json``: format name and version, the index's settings and small tables (subdistrict
  codes, router geometry), every file's size and BLAKE3 digest, and one ``digest`` over them all (the
  snapshot's identity: equal digests, equal answers);
* ``flat_*.npy``: the concatenated arrays of the per-subdistrict parts (geo_grid.lookup_flat);
* ``router_*.npy``, ``nearest_*.npy``, ``subdistrict_of.npy``: the router and the nearest segments;
* ``extras_*.npy``: each part's router cells and boundary segments, so that `DistrictIndex.replace`
  after a load rebuilds one part only; ``flat_poly_xy.npy``/``flat_ring_xy.npy``: the polygons' rings
  for the compiled exact test near vertices (geo_grid.lookup_flat.polygon_rings);
* ``polygons.wkb`` + ``polygons_offsets.npy``: the polygons as WKB, one after the other;
* ``strings.json``: codes and names.

`write_index` writes into a temporary sibling directory and renames it into place, so a reader never
sees half a snapshot. `load_index` checks the manifest's format and version and every file's size and
digest (``verify=False`` skips the digests, trusting the files) and raises SnapshotError, with a
message in Chinese, for a missing, truncated, corrupt or foreign file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import blake3
import numpy as np
import shapely

from geo_grid.lookup_district import DistrictIndex
from geo_grid.lookup_flat import ARRAYS, FlatParts
from geo_grid.lookup_nearest import nearest_from_segments
from geo_grid.lookup_parts import PartExtras
from geo_grid.lookup_router import Router

FORMAT = "geo_grid.district_index"
VERSION = 4  # 2: file digests are BLAKE3; 3: + each part's router/nearest extras and the polygon rings;
# 4: a special cell's segment row and answers in one record ("sp")
MANIFEST = "manifest.json"


class SnapshotError(ValueError):
    """A snapshot directory that cannot be loaded (missing, corrupt, or of another format/version)."""

    code = "index_snapshot_invalid"


def _digest(path: Path) -> str:
    """BLAKE3 of a file (memory-mapped, hashed on all cores: ≈ 10x BLAKE2b's speed; empty files too)."""
    h = blake3.blake3(max_threads=blake3.blake3.AUTO)
    if path.stat().st_size:
        h.update_mmap(path)
    return str(h.hexdigest())


def _arrays(index: DistrictIndex) -> dict[str, np.ndarray[Any, Any]]:
    flat, r, nb = index._flat, index._router, index._nearest
    out: dict[str, np.ndarray[Any, Any]] = {f"flat_{name}": flat.arrays[name] for name in ARRAYS}
    out.update(
        flat_floats=flat.floats,
        flat_ints=flat.ints,
        router_cells=r.cells,
        router_ptr=r.ptr,
        router_subs=r.subs,
        nearest_segments=nb.segments,
        nearest_owner=nb.owner,
        subdistrict_of=index.subdistrict_of,
        flat_poly_xy=flat.kernel_args[-2],
        flat_ring_xy=flat.kernel_args[-1],
    )
    # what replace() needs of every part (so that an activation after a load rebuilds one part only)
    ex = index.part_extras()
    out.update(
        extras_ptr=np.array(
            [[0, 0], *np.cumsum([[len(e.cell_i), len(e.seg)] for e in ex], axis=0).tolist()], dtype=np.int64
        ),
        extras_cell_i=np.concatenate([e.cell_i for e in ex]).astype(np.int64),
        extras_cell_j=np.concatenate([e.cell_j for e in ex]).astype(np.int64),
        extras_seg=np.vstack([e.seg for e in ex]).astype(np.float64),
        extras_owner=np.concatenate([e.owner for e in ex]).astype(np.int32),
        extras_outer=np.concatenate([e.outer for e in ex]).astype(bool),
    )
    return out


def write_index(index: DistrictIndex, directory: str | os.PathLike[str]) -> str:
    """Write `index` to `directory` (replaced if it exists) and return the snapshot's digest."""
    target = Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        files: dict[str, dict[str, Any]] = {}
        for name, arr in _arrays(index).items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(arr), allow_pickle=False)
        wkb = shapely.to_wkb(np.asarray(index.polygons, dtype=object))
        offsets = np.zeros(len(wkb) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in wkb], out=offsets[1:])
        (tmp / "polygons.wkb").write_bytes(b"".join(wkb))
        np.save(tmp / "polygons_offsets.npy", offsets, allow_pickle=False)
        strings = {"codes": list(index.codes), "names": list(index.names)}
        (tmp / "strings.json").write_text(json.dumps(strings, ensure_ascii=False), encoding="utf-8")
        for path in sorted(tmp.iterdir()):
            files[path.name] = {"bytes": path.stat().st_size, "blake3": _digest(path)}
        digest = hashlib.blake2b(json.dumps(files, sort_keys=True).encode(), digest_size=32).hexdigest()
        r = index._router
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "digest": digest,
            "size": index.size,
            "subdistrict_codes": list(index.subdistrict_codes),
            "subdistrict_digits": index.subdistrict_digits,
            "part_cell_m": index.part_cell_m,
            "part_max_cells": index.part_max_cells,
            "router_cell_m": index.router_cell_m,
            "router": {"x0": r.x0, "y0": r.y0, "inv_x": r.inv_x, "inv_y": r.inv_y, "nx": r.nx, "ny": r.ny},
            "files": files,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
        return digest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_manifest(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The snapshot's manifest (format and version checked), e.g. to compare digests before a load."""
    path = Path(directory) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SnapshotError(f"查询索引快照不存在：{path}") from exc
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"查询索引快照清单无法读取：{path}（{exc}）") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise SnapshotError(f"不是查询索引快照：{path}")
    if manifest.get("version") != VERSION:
        raise SnapshotError(f"查询索引快照版本 {manifest.get('version')} 不受支持（需要 {VERSION}）：{path}")
    return manifest


def load_index(directory: str | os.PathLike[str], *, verify: bool = True) -> DistrictIndex:
    """Load a snapshot written by `write_index`, its arrays memory-mapped read-only."""
    root = Path(directory)
    manifest = read_manifest(root)
    files: dict[str, dict[str, Any]] = manifest["files"]
    for name, meta in files.items():
        path = root / name
        if not path.is_file() or path.stat().st_size != meta["bytes"]:
            raise SnapshotError(f"查询索引快照文件缺失或大小不符：{path}")
        if verify and _digest(path) != meta["blake3"]:
            raise SnapshotError(f"查询索引快照文件已损坏（校验和不符）：{path}")
    digest = hashlib.blake2b(json.dumps(files, sort_keys=True).encode(), digest_size=32).hexdigest()
    if digest != manifest["digest"]:
        raise SnapshotError(f"查询索引快照清单的校验和不符：{root / MANIFEST}")
    try:
        arr = {p.stem: np.load(p, mmap_mode="r", allow_pickle=False) for p in root.glob("*.npy")}
        strings = json.loads((root / "strings.json").read_text(encoding="utf-8"))
        blob = (root / "polygons.wkb").read_bytes()
        offsets = arr["polygons_offsets"].tolist()
        wkb = [blob[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
        polys = tuple(shapely.from_wkb(wkb))
        codes, names = tuple(strings["codes"]), tuple(strings["names"])
        n = int(manifest["size"])
        if not (len(codes) == len(names) == len(polys) == n == len(arr["subdistrict_of"])):
            raise SnapshotError(f"查询索引快照内容不一致：{root}")
        flat_arrays = {name: arr[f"flat_{name}"] for name in ARRAYS}
        geoms = np.asarray(polys, dtype=object)[np.asarray(flat_arrays["pos"])]
        shapely.prepare(geoms)
        poly_xy = np.asarray(arr["flat_poly_xy"])
        if len(poly_xy) != n + 1 or int(poly_xy[-1]) != len(arr["flat_ring_xy"]):
            raise SnapshotError(f"查询索引快照内容不一致：{root}")
        flat = FlatParts.create(
            np.asarray(arr["flat_floats"]), np.asarray(arr["flat_ints"]), flat_arrays, geoms,
            rings=(poly_xy, np.asarray(arr["flat_ring_xy"])),
        )  # fmt: skip
        ptr = np.asarray(arr["extras_ptr"]).tolist()
        if len(ptr) != len(manifest["subdistrict_codes"]) + 1:
            raise SnapshotError(f"查询索引快照内容不一致：{root}")
        extras = tuple(
            PartExtras(
                cell_i=arr["extras_cell_i"][c0:c1],
                cell_j=arr["extras_cell_j"][c0:c1],
                seg=arr["extras_seg"][s0:s1],
                owner=arr["extras_owner"][s0:s1],
                outer=arr["extras_outer"][s0:s1],
            )
            for (c0, s0), (c1, s1) in zip(ptr[:-1], ptr[1:], strict=True)
        )
        r = manifest["router"]
        router = Router(
            x0=float(r["x0"]),
            y0=float(r["y0"]),
            inv_x=float(r["inv_x"]),
            inv_y=float(r["inv_y"]),
            nx=int(r["nx"]),
            ny=int(r["ny"]),
            cells=arr["router_cells"],
            ptr=arr["router_ptr"],
            subs=arr["router_subs"],
        )
        nearest = nearest_from_segments(np.asarray(arr["nearest_segments"]), np.asarray(arr["nearest_owner"]))
        return DistrictIndex.from_state(
            codes,
            names,
            polys,
            tuple(manifest["subdistrict_codes"]),
            np.asarray(arr["subdistrict_of"]),
            flat,
            int(manifest["subdistrict_digits"]),
            float(manifest["part_cell_m"]),
            int(manifest["part_max_cells"]),
            float(manifest["router_cell_m"]),
            router,
            nearest,
            extras,
        )
    except SnapshotError:
        raise
    except (KeyError, ValueError, IndexError, OSError, shapely.errors.GEOSException) as exc:
        raise SnapshotError(f"查询索引快照无法载入：{root}（{exc}）") from exc
