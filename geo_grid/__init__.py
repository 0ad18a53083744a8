"""geo_grid: grid-mapping service for grid-based community governance (网格化基层治理)."""

__version__ = "0.1.0"

# The subdistrict this deployment serves: 未来路街道, 金水区, 郑州 (statistical code 410105012).
SUBDISTRICT_CODE = "410105012"
SUBDISTRICT_NAME = "未来路街道"
