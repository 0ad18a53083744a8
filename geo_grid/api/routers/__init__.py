"""Every router of the API; create_app includes them in this order."""

from geo_grid.api.routers import addresses, communities, facilities, grids, health, lookup, reports, stats

ROUTERS = [
    health.router,
    communities.router,
    grids.router,
    addresses.router,  # before lookup: /lookup/address must not be caught by a /lookup/… route
    lookup.router,
    reports.router,
    stats.router,
    facilities.router,
]
