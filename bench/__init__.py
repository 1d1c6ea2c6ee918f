"""Benchmarks: `make bench` (bench.api). Not tests: nothing here asserts a time."""
