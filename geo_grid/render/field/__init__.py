"""The grid worker's phone pages (网格手机终端, issue 13): HTML shells in Chinese whose scripts and styles are
static files served by geo_grid (geo_grid/static/field/, GET /m/assets/…); the pages read the JSON API."""
