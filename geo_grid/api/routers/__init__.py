"""Every router of the API; create_app includes them in this order."""

from geo_grid.api.routers import (
    addresses,
    assessment,
    boundary_edits,
    cases,
    categories,
    communities,
    docs,
    facilities,
    generations,
    grids,
    health,
    lookup,
    maps,
    reports,
    stats,
)

ROUTERS = [
    health.router,
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
    boundary_edits.router,
    maps.router,
    docs.router,
]
