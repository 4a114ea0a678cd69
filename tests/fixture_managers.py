"""A curriculum manager for the drawn fixture worlds, loaded as "tests.fixture_managers:EveryOtherTick"."""
import numpy as np

from engine.managers import Manager


class EveryOtherTick(Manager):
    """Every zone unlocked; every open zone active on even ticks, none on odd ticks."""

    name = "every_other_tick"
    unlock_all = True

    def choose(self, obs):
        """All open zones at even ticks, nothing at odd ticks."""
        return obs.open if obs.tick % 2 == 0 else np.zeros_like(obs.open)
