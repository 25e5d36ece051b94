"""Reliability and security suites: each file owns its fixtures (shared ones live in tests/conftest.py)."""
