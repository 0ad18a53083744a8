"""Folium map builders (coverage.build_coverage_map, incidents.build_incident_map, editor.build_editor_map);
each returns a folium.Map, saving is the caller's business. Import them from their modules: importing the
package itself loads no folium (a process that draws no map never loads it)."""
