"""The two managers without a bandit: `stages` (spatial curriculum) and `none` (no curriculum)."""
from engine.managers.base import Manager


class StagesManager(Manager):
    """Every open zone inside the current stage radius is active: the spatial curriculum alone."""

    name = "stages"

    def choose(self, obs):
        """Activate all open zones."""
        return obs.open.copy()


class NoCurriculum(StagesManager):
    """The whole grid is unlocked and active from tick 0."""

    name = "none"
    unlock_all = True
