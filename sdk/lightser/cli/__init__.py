"""The command-line layer: `lightser` (`commands`), its `bench` command (`bench`, also `lightser-bench`) and
the terminal helpers they and `lightser-train` share (`terminal`). Nothing in the library imports it."""

from .commands import main

__all__ = ["main"]
