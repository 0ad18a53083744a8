"""The 街道中心 web console's pages (issue 13): HTML shells in Chinese whose scripts and styles are static
files served by geo_grid (geo_grid/static/console/, GET /console/assets/…); the pages read the JSON API."""
