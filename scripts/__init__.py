"""One-off experiment drivers, run from the repository root as `python -m scripts.<name>`."""
