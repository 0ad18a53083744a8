"""Response (and request) schemas of the API: the OpenAPI document is the contract, checked by schemathesis.

One module per resource; `common` holds what several share (the error body, GeoJSON building blocks).
Field descriptions and examples are in Chinese where people read them.
"""
