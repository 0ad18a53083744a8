"""Folium map builders (coverage, incidents, editor); each returns a folium.Map, saving is the caller's business."""

from geo_grid.render.coverage import build_coverage_map
from geo_grid.render.editor import build_editor_map
from geo_grid.render.incidents import build_incident_map

__all__ = ["build_coverage_map", "build_editor_map", "build_incident_map"]
