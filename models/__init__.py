"""Models bundled with the runtime (the default one ships in the wheel)."""
