"""geo_grid: grid-mapping service for grid-based community governance (网格化基层治理)."""

__version__ = "0.1.0"

# The subdistrict this deployment serves: 未来路街道, 金水区, 郑州 (statistical code 410105012).
SUBDISTRICT_CODE = "410105012"
SUBDISTRICT_NAME = "未来路街道"
# Its administrative chain, province → subdistrict: the prefixes people write before an address here
# (geocoding.place_prefixes, with the communities of the database). Rows with the subdistricts (issue 15).
SUBDISTRICT_ADMIN_CHAIN = ("河南省", "郑州市", "金水区", SUBDISTRICT_NAME)
