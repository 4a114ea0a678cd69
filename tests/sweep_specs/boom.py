"""A curriculum manager whose `choose` raises: a sweep parameter that makes its runs fail at run time."""
from engine.managers.spatial import StagesManager


class Boom(StagesManager):
    """Crash on the first tick (test hook for the sweep's failure reporting)."""

    name = "boom"

    def choose(self, obs):
        """Raise, always."""
        raise RuntimeError("boom: this manager fails on purpose")


class Vanish(StagesManager):
    """Kill its worker process on the first tick, as a segfault or the OOM killer would (test hook)."""

    name = "vanish"

    def choose(self, obs):
        """End the process at once."""
        import os
        os._exit(3)
