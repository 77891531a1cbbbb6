"""Benchmark suite: `python -m bench` runs the scripts in this folder and collects their figures."""
