"""Every router of the API; create_app includes them in this order."""

from geo_grid.api.routers import communities, facilities, grids, health, lookup, reports, stats

ROUTERS = [
    health.router,
    communities.router,
    grids.router,
    lookup.router,
    reports.router,
    stats.router,
    facilities.router,
]
