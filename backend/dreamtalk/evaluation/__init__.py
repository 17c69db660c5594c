"""Measurements shared by tests, benchmarks and the evaluation harness (numpy only)."""
