"""Benchmarks: python -m benchmarks runs the runner-overhead benchmark (see overhead.py)."""
