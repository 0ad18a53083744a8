"""File formats in and out (boundary layers: geo_grid.io.boundaries)."""
