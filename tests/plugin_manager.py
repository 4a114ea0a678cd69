"""A user manager loaded as "tests.plugin_manager:MyManager" by tests/test_managers.py."""
import numpy as np

from engine.managers import Manager


class MyManager(Manager):
    """Activate only the lowest-numbered open zone: a strictly one-zone-at-a-time curriculum."""

    name = "my_manager"

    def __init__(self, curriculum, seeds, zone_ring):
        super().__init__(curriculum, seeds, zone_ring)
        self.calls = 0

    def choose(self, obs):
        """The first open zone of each world."""
        self.calls += 1
        first = np.argmax(obs.open, axis=1)
        mask = np.zeros_like(obs.open)
        mask[np.arange(len(first)), first] = obs.open[np.arange(len(first)), first]
        return mask


class PeekingManager(MyManager):
    """MyManager that keeps every observation it is given (tests check what a plugin can see)."""

    name = "peeking"

    def __init__(self, curriculum, seeds, zone_ring):
        super().__init__(curriculum, seeds, zone_ring)
        self.seen = []

    def update(self, obs):
        """Keep a copy of the statistics the manager was shown."""
        self.seen.append((obs.zone_stats.copy(), None if obs.vote_stats is None else obs.vote_stats.copy()))
