"""Deterministic extraction from captured and imported text: pure functions, no model."""
