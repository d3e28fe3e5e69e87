"""Developer benchmark suite: LightSER side by side with its alternatives. Run `python -m benchmarks.run`."""
