"""What tests share (helpers, not fixtures): API tokens and headers, the fixed clock, boundary and report
helpers, the browser driver, the real-data paths. Fixtures live in tests/conftest.py."""
