"""Every router of the API; create_app includes them in this order."""

from geo_grid.api.routers import (
    addresses,
    boundary_edits,
    communities,
    docs,
    facilities,
    generations,
    grids,
    health,
    lookup,
    maps,
    ogc,
    reports,
    stats,
    subdistricts,
)

ROUTERS = [
    health.router,
    subdistricts.router,
    communities.router,
    grids.router,
    addresses.router,  # before lookup: /lookup/address must not be caught by a /lookup/… route
    lookup.router,
    reports.router,
    stats.router,
    facilities.router,
    generations.router,
    boundary_edits.router,
    maps.router,
    docs.router,
    ogc.router,
]
