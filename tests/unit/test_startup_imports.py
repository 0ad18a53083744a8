"""What a serving process loads: `import geo_grid.api.app` (and `geo_grid.cli`, which `geo-grid up` runs in the
same process) must not import the libraries only maps, workbooks, photos or file imports/exports need; a
published index must load and answer without pandas/geopandas. Each of these is imported by the function
that uses it (issue 15: one API process at city scale ≤ 1 GiB RSS). A fresh interpreter per check: the
test process itself has them all loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from geo_grid.io.index_store import write_index
from geo_grid.lookup_district import DistrictIndex
from geo_grid.synthetic import synthetic_micro_grids

ROOT = Path(__file__).resolve().parents[2]

# Loaded on use only: maps (folium, branca, xyzservices, requests; pandas and pyarrow through folium),
# boundary/point files (geopandas, pyogrio, pandas, pyarrow), the assessment workbook (openpyxl), photos (PIL),
# bulk assignment on a cluster (dask).
LAZY = ("pandas", "geopandas", "pyogrio", "pyarrow", "folium", "branca", "xyzservices", "requests",
        "openpyxl", "PIL", "dask", "distributed", "matplotlib")  # fmt: skip


def loaded_after(code: str) -> list[str]:
    """The LAZY libraries present in sys.modules after running `code` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    modules = set(json.loads(out.stdout.strip().splitlines()[-1]))
    return sorted(modules & set(LAZY))


@pytest.mark.parametrize("module", ["geo_grid.api.app", "geo_grid.cli"])
def test_serving_process_imports_no_heavy_library(module: str) -> None:
    assert loaded_after(f"import {module}") == []


def test_the_probe_sees_a_heavy_import() -> None:
    # The check above can fail: drawing a page does load folium (and pandas through it).
    assert {"folium", "pandas"} <= set(loaded_after("import geo_grid.render.coverage"))


def test_the_api_draws_maps_without_pandas() -> None:
    """The API preloads folium at start-up with pandas hidden (render/folium_preload.py): drawing a map
    afterwards loads neither pandas nor pyarrow (≈ 65 MiB), and folium still draws."""
    code = """
from geo_grid.render.folium_preload import preload_folium
preload_folium()
import folium
from folium.plugins import HeatMap, MarkerCluster
from geo_grid.render import coverage, incidents
m = folium.Map(location=[34.76, 113.69], zoom_start=14, tiles=None)
MarkerCluster().add_to(m)
HeatMap([[34.76, 113.69, 1.0], [34.77, 113.70, 2.0]]).add_to(m)
assert "L.heatLayer" in m.get_root().render()
"""
    loaded = loaded_after(code)
    assert "folium" in loaded and "pandas" not in loaded and "pyarrow" not in loaded, loaded


def test_preloading_after_pandas_keeps_folium_whole() -> None:
    # pandas already imported (a test process, a CLI that read a file first): nothing is hidden
    code = "import pandas\nfrom geo_grid.render.folium_preload import preload_folium\npreload_folium()\n"
    code += "import folium.utilities\nassert folium.utilities.pd is not None"
    assert {"folium", "pandas"} <= set(loaded_after(code))


def test_published_index_loads_and_answers_without_pandas(tmp_path: Path) -> None:
    codes, polys = synthetic_micro_grids(4, 120, seed=21)
    index = DistrictIndex.build(codes, polys, [f"第{i}微网格" for i in range(len(codes))])
    write_index(index, tmp_path / "snap")
    x, y = polys[7].representative_point().coords[0]
    code = f"""
from geo_grid.io.index_store import load_index
index = load_index({str(tmp_path / "snap")!r})
hit = index.locate({x!r}, {y!r})
assert hit == {index.locate(x, y)!r}, hit
"""
    assert loaded_after(code) == []
