"""folium without pandas in a serving process.

folium imports pandas only to accept DataFrames (`folium.utilities`: `try: import pandas`), which this
project never passes it; pandas in turn loads pyarrow. In an API process at city scale that is ≈ 65 MiB
of the 1 GiB budget for nothing (issue 15). So the API imports folium once at start-up, before it serves
a request, with pandas hidden when nothing has imported it yet; the maps drawn later find folium
loaded and pandas stays out until something that needs it (a boundary file, a workbook) imports it.
Hidden only then: hiding a module while requests run would fail another thread's import of it."""

from __future__ import annotations

import sys


def preload_folium() -> None:
    """Import folium (and branca), without pandas unless pandas is loaded already. Call it before the
    process serves (no other thread importing): the API's lifespan does."""
    if "folium" in sys.modules:
        return
    hide = "pandas" not in sys.modules
    if hide:
        sys.modules["pandas"] = None  # type: ignore[assignment]  # `import pandas` raises ImportError
    try:
        import branca.element  # noqa: F401
        import folium  # noqa: F401
        import folium.plugins  # noqa: F401
    finally:
        if hide:
            del sys.modules["pandas"]
