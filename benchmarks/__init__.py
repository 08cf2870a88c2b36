"""Benchmarks: python -m benchmarks compares the tracking API with TensorBoard (see tracking.py);
python -m benchmarks.NAME runs the others (BENCHMARKS.md)."""
