"""The curriculum-manager interface (DESIGN §2.6): choose the active zones of each world every tick."""
from dataclasses import dataclass

import numpy as np

from kernels import constants as K
from kernels.records import VOTE, ZONE


@dataclass
class ZoneObservation:
    """What a manager sees, for the worlds it manages (rows), each array (W', Z) unless noted. The arrays are the
    Simulation's own (views, some read-only): a manager reads them and returns new arrays, never writes into them."""

    tick: int
    stage: np.ndarray        # (W',) current stage index
    running: np.ndarray      # (W',) bool
    unlocked: np.ndarray     # bool: zone ring ≤ stage
    open: np.ndarray         # bool: unlocked with ≥ 1 incomplete task tile — the only zones a manager may choose
    zone_stats: np.ndarray   # (W', Z, len(ZONE)) int64, columns kernels.records.ZONE, of the last tick (zeros before)
    # consensus mode only (DESIGN §2.8.7): (W', Z, len(VOTE)) int64, columns VOTE; managers then see no ground truth
    vote_stats: np.ndarray | None = None

    def resolved(self) -> np.ndarray:
        """Attempts resolved per zone in the last tick."""
        return self.zone_stats[:, :, ZONE.resolved]

    def success_rate(self) -> np.ndarray:
        """Share of the last tick's resolved attempts that were right — in consensus mode, that voted with their
        tile's leader (0 where none)."""
        n = self.resolved()
        good = self.zone_stats[:, :, ZONE.correct] if self.vote_stats is None else self.vote_stats[:, :, VOTE.agree]
        return np.where(n > 0, good / np.maximum(n, 1), 0.0)

    def mean_nll(self) -> np.ndarray:
        """Mean NLL of the last tick's resolved attempts per zone — in consensus mode, against the observable label
        (agreement with the leader or the oracle's answer) over its samples (0 where none)."""
        if self.vote_stats is None:
            n, total = self.resolved(), self.zone_stats[:, :, ZONE.nll_fx]
        else:
            n, total = self.vote_stats[:, :, VOTE.nll_seen_n], self.vote_stats[:, :, VOTE.nll_seen_fx]
        return np.where(n > 0, total / K.FX_SCALE / np.maximum(n, 1), 0.0)


class Manager:
    """Base class: subclasses set `name` and implement `choose`; `update` and `posterior` are optional."""

    name = "base"
    unlock_all = False  # True: every zone is unlocked from tick 0 (no spatial curriculum)

    def __init__(self, curriculum, seeds: np.ndarray, zone_ring: np.ndarray):
        self.config = curriculum
        self.seeds = np.asarray(seeds, dtype=np.uint64)
        self.zone_ring = np.asarray(zone_ring)
        self.n_worlds, self.n_zones = len(self.seeds), len(self.zone_ring)

    def choose(self, obs: ZoneObservation) -> np.ndarray:
        """Return the active-zone mask (W', Z) bool; only open zones count."""
        raise NotImplementedError

    def update(self, obs: ZoneObservation) -> None:
        """Learn from the statistics of the tick just stepped."""

    def posterior(self) -> dict | None:
        """Per-zone posterior arrays (alpha, beta, sample, reward), each (W', Z), for recording; None if none."""
        return None
