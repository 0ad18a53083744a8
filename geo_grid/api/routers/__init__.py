"""Every router of the API; create_app includes them in this order."""

from geo_grid.api.routers import communities, grids, health, lookup

ROUTERS = [health.router, communities.router, grids.router, lookup.router]
