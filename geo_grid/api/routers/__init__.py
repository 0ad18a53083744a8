"""Every router of the API; create_app includes them in this order."""

from geo_grid.api.routers import (
    addresses,
    assessment,
    boundary_edits,
    cases,
    categories,
    communities,
    console,
    docs,
    exchange,
    facilities,
    field,
    generation_files,
    generations,
    grids,
    health,
    lookup,
    maps,
    ogc,
    open311,
    photos,
    reports,
    resident,
    sessions,
    stats,
    subdistricts,
    tiles,
)

ROUTERS = [
    health.router,
    subdistricts.router,
    communities.router,
    grids.router,
    addresses.router,  # before lookup: /lookup/address must not be caught by a /lookup/… route
    lookup.router,
    reports.router,
    cases.router,
    categories.router,
    stats.router,
    assessment.router,
    facilities.router,
    generations.router,
    generation_files.router,  # a generation's boundary files: export, import
    boundary_edits.router,
    maps.router,
    tiles.router,
    exchange.router,
    open311.router,
    docs.router,
    sessions.router,  # the web console's login and sessions (issue 13)
    photos.router,  # report photos (issue 13)
    ogc.router,  # OGC API – Features (issue 14)
    console.router,  # the 街道中心 web console (issue 13)
    resident.router,  # the public resident pages /report, /track (issue 13)
    field.router,  # the grid worker's phone pages /m (issue 13)
]
