"""geo_grid: grid-mapping service for grid-based community governance (网格化基层治理)."""

__version__ = "0.1.0"
