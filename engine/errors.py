"""User-facing error types (kept apart from engine.cli.main so `python -m engine.cli` sees the same classes)."""


class UsageError(Exception):
    """A user mistake reported as one line with exit code 2."""


class InvariantError(RuntimeError):
    """A backend returned statistics that no correct tick can produce (engine.sim.invariants): reported as one
    line with exit code 1 — a fault of the machine or the code, not of the user."""
