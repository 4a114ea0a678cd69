"""User-facing error types (kept apart from engine.cli.main so `python -m engine.cli` sees the same classes)."""


class UsageError(Exception):
    """A user mistake reported as one line with exit code 2."""
