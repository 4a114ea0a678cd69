"""Managers that pick `zones_per_tick` zones each tick: the paper's `thompson` and the baselines
`uniform`, `round_robin`, `learning_progress` and `learnability` (DESIGN §2.6). Each world has its own random stream, keyed on its
episode seed, so a world's choices do not depend on the batch it runs in.
"""
import numpy as np

from engine.managers import draws
from engine.managers.base import Manager
from kernels import constants as K
from kernels.records import ZONE

# draw streams: one per use, so no two decisions share a random number
STREAM_UNIFORM, STREAM_THOMPSON_SAMPLE, STREAM_THOMPSON_REWARD, STREAM_LP_TIES = 1, 10, 20, 30
STREAM_SFL_TIES, STREAM_SFL_EXPLORE, STREAM_SFL_RANDOM = 40, 41, 42


FEW_PICKS = 4  # top_k with k ≤ this on a big batch: k arg-max passes instead of a full stable sort
BIG_BATCH = 2048  # (W·Z entries) below this the stable sort is cheaper than the checks of the arg-max path
SPARSE_UPDATE = 2048  # (W·Z entries) from this many the Thompson update works on the seen zones only


def top_k(scores: np.ndarray, allowed: np.ndarray, k: int, finite: bool = False) -> np.ndarray:
    """Boolean mask of the k highest-scoring allowed entries per row (ties broken by lower index). `finite`: the
    caller knows every allowed score is finite (no check needed)."""
    masked = np.where(allowed, scores, -np.inf)
    chosen = np.zeros(allowed.shape, bool)
    rows = np.arange(len(masked))
    # every allowed score finite: the first maximum of each row is the next entry of the stable descending order,
    # and once a row has no allowed entry left its later picks are masked out below, as the sort's would be
    if k <= FEW_PICKS and masked.size >= BIG_BATCH and (finite or (np.isfinite(masked) == allowed).all()):
        for _ in range(k):
            best = masked.argmax(axis=1)
            chosen[rows, best] = True
            masked[rows, best] = -np.inf
    else:
        order = (-masked).argsort(axis=1, kind="stable")[:, :k]
        chosen[rows[:, None], order] = True  # put_along_axis costs ~5 µs of Python per call
    chosen &= allowed
    return chosen


class _Picker(Manager):
    """Shared plumbing: the zones-per-tick budget and counter-based draws keyed on each world's episode seed."""

    def __init__(self, curriculum, seeds, zone_ring):
        super().__init__(curriculum, seeds, zone_ring)
        self.k = int(curriculum.zones_per_tick)
        self.round = 0  # draws are keyed on how many decisions were made, so callers need not pass a clock
        self.draws = draws.Draws(self.seeds, self.n_zones)

    def uniforms(self, stream: int) -> np.ndarray:
        """(W', Z) uniforms for this decision round and purpose."""
        return self.draws.uniforms(self.round, stream)

    def next_round(self) -> None:
        """Advance the draw counter (once per choose)."""
        self.round += 1


class UniformManager(_Picker):
    """`zones_per_tick` open zones drawn uniformly at random."""

    name = "uniform"

    def choose(self, obs):
        """Random scores, top k."""
        self.next_round()
        return top_k(self.uniforms(STREAM_UNIFORM), obs.open, self.k)


class RoundRobinManager(_Picker):
    """Open zones in turn, `zones_per_tick` at a time."""

    name = "round_robin"

    def __init__(self, curriculum, seeds, zone_ring):
        super().__init__(curriculum, seeds, zone_ring)
        self.cursor = np.zeros(self.n_worlds, np.int64)

    def choose(self, obs):
        """The next k open zones after the cursor (cyclic)."""
        distance = (np.arange(self.n_zones)[None, :] - self.cursor[:, None]) % self.n_zones
        chosen = top_k(-distance.astype(float), obs.open, self.k)
        farthest = np.where(chosen, distance, -1).max(axis=1)
        self.cursor = np.where(farthest >= 0, (self.cursor + farthest + 1) % self.n_zones, self.cursor)
        return chosen


class ThompsonManager(_Picker):
    """The paper's manager: Beta posteriors per zone, top-k Thompson samples, reward success·exp(−λ·NLL)."""

    name = "thompson"

    def __init__(self, curriculum, seeds, zone_ring):
        super().__init__(curriculum, seeds, zone_ring)
        shape = (self.n_worlds, self.n_zones)
        self.shapes = np.ones((2, *shape))  # α and β stacked: one NumPy call discounts both
        self.alpha, self.beta = self.shapes
        self.sample, self.reward = np.zeros(shape), np.full(shape, np.nan)
        self.scaler = QuantileScaler(self.n_worlds) if curriculum.reward_scaling == "quantile" else None
        self.reward_keys = (None, None)  # (round, keys): the reward stream's keys, hashed with the sample's
        self.reward_uniforms = (None, None)  # (round, uniforms): drawn ahead with the sample's (small batches)
        # a batch whose Beta draws always take two retry rounds in their first pass: its draws that do not depend
        # on α, β are computed ahead, a block of rounds at a time (draws.beta_ahead)
        self.ahead = 2 * self.n_worlds * self.n_zones < draws.SMALL

    def choose(self, obs):
        """Discount toward the prior, sample θ ~ Beta(α, β), activate the top k open zones."""
        g = self.config.discount
        # a new array each tick (not in place): posterior() hands out views that a recorder keeps
        self.shapes = 1.0 + g * (self.shapes - 1.0)
        self.alpha, self.beta = self.shapes
        self.next_round()
        ahead = None
        if self.ahead:
            keys, *ahead, uniforms = self.draws.beta_ahead(self.round, STREAM_THOMPSON_SAMPLE,
                                                           STREAM_THOMPSON_REWARD)
            self.reward_uniforms = (self.round, uniforms)
        else:
            keys = self.draws.stream_keys(self.round, (STREAM_THOMPSON_SAMPLE, STREAM_THOMPSON_SAMPLE + 1,
                                                       STREAM_THOMPSON_REWARD))
        self.reward_keys = (self.round, keys[2])
        # only open zones can be chosen, so only they are sampled (the others' samples would be thrown away)
        self.sample = self.draws.beta_draws(self.shapes, keys[:2], obs.open, ahead)
        return top_k(self.sample, obs.open, self.k, finite=True)  # Beta draws of open zones: in (0, 1]

    def update(self, obs):
        """Fractional-Bernoulli update of every zone with ≥ 1 resolved attempt this tick."""
        round_, keys = self.reward_keys
        if round_ != self.round:  # update without a choose this round
            keys = self.draws.keys(self.round, STREAM_THOMPSON_REWARD)
        n = obs.resolved()
        if obs.vote_stats is None and self.scaler is None and n.size >= SPARSE_UPDATE:
            return self._update_seen(obs, keys)
        seen = n > 0
        if obs.vote_stats is None:  # success rate and NLL share the resolved count: one division base, no masks
            per = np.maximum(n, 1)  # (the values of unseen zones are never used)
            zs = obs.zone_stats
            rate, nll = zs[:, :, ZONE.correct] / per, zs[:, :, ZONE.nll_fx] / K.FX_SCALE / per
        else:
            rate, nll = obs.success_rate(), obs.mean_nll()
        reward = rate * np.exp(-self.config.nll_weight * nll)
        if self.scaler is not None:
            reward = self.scaler(reward, seen)
        self.reward = np.where(seen, reward, np.nan)
        round_, uniforms = self.reward_uniforms
        won = (uniforms if round_ == self.round else self.draws.uniforms_of(keys)) < reward
        won &= seen
        self.alpha += won
        self.beta += won ^ seen  # seen and not won

    def _update_seen(self, obs, keys):
        """`update` for a big batch in verified mode: only the zones that resolved attempts (a few per world) are
        computed, drawn and updated, each with the values the whole-array update gives it."""
        W, Z = self.n_worlds, self.n_zones
        seen = (obs.resolved() > 0).ravel().nonzero()[0]
        rows = seen // Z
        zones = seen - rows * Z
        counts = obs.zone_stats[rows, zones][:, [ZONE.resolved, ZONE.correct, ZONE.nll_fx]]  # one gather
        n = counts[:, 0]
        reward = counts[:, 1] / n * np.exp(-self.config.nll_weight * (counts[:, 2] / K.FX_SCALE / n))
        self.reward = np.empty(W * Z)
        self.reward.fill(np.nan)
        self.reward[seen] = reward
        self.reward = self.reward.reshape(W, Z)
        won = self.draws.uniforms_at(keys, rows, zones) < reward
        self.alpha.reshape(-1)[seen] += won  # seen holds each entry once: a plain in-place add
        self.beta.reshape(-1)[seen] += ~won

    def posterior(self):
        """α, β, the last sample and reward per zone."""
        return {"alpha": self.alpha, "beta": self.beta, "sample": self.sample, "reward": self.reward}


class LearningProgressManager(_Picker):
    """Absolute learning progress (TSCL / ALP style): zones whose success rate is changing fastest.

    Per zone, a window of the last `lp_window` success rates (ticks with resolved attempts); progress is
    |mean of the newer half − mean of the older half|. Zones never tried get priority; ties are random.
    """

    name = "learning_progress"

    def __init__(self, curriculum, seeds, zone_ring):
        super().__init__(curriculum, seeds, zone_ring)
        self.window = int(getattr(curriculum, "lp_window", 20))
        self.history = np.full((self.n_worlds, self.n_zones, self.window), np.nan)

    def progress(self) -> np.ndarray:
        """Absolute learning progress per zone: |mean of the newer half − mean of the older half| of the zone's
        own observations (a short history is split too); inf for zones with fewer than two observations."""
        h = self.history
        valid = ~np.isnan(h)
        count = valid.sum(axis=2)
        # observations fill the window from its right end: slot p holds one when p ≥ window − count
        slot = np.arange(self.window)[None, None, :]
        first = (self.window - count)[:, :, None]
        older = valid & (slot < first + count[:, :, None] // 2)
        newer = valid & ~older
        values = np.nan_to_num(h)
        mean_old = (values * older).sum(axis=2) / np.maximum(older.sum(axis=2), 1)
        mean_new = (values * newer).sum(axis=2) / np.maximum(newer.sum(axis=2), 1)
        return np.where(count < 2, np.inf, np.abs(mean_new - mean_old))

    def choose(self, obs):
        """Top-k open zones by learning progress, random tie-break."""
        self.next_round()
        jitter = self.uniforms(STREAM_LP_TIES) * 1e-9
        return top_k(self.progress() + jitter, obs.open, self.k)

    def update(self, obs):
        """Push this tick's success rate into the window of every zone that resolved attempts."""
        seen = obs.resolved() > 0
        shifted = np.concatenate([self.history[:, :, 1:], obs.success_rate()[:, :, None]], axis=2)
        self.history = np.where(seen[:, :, None], shifted, self.history)


def top_per_row(scores: np.ndarray, allowed: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Boolean mask of the counts[w] highest-scoring allowed entries of each row w (ties broken by lower index)."""
    masked = np.where(allowed, scores, -np.inf)
    order = np.argsort(-masked, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(order.shape[1])[None, :].repeat(order.shape[0], axis=0), axis=1)
    return (rank < np.asarray(counts)[:, None]) & allowed


class LearnabilityManager(_Picker):
    """Sampling For Learnability (SFL; Rutherford et al., NeurIPS 2024): zones where the grid is right about half
    the time are where it learns most.

    Per zone, the pooled rate p of its last `lp_window` observations (ticks with resolved attempts; in consensus
    mode the share of votes that agreed with their tile's leader, as ZoneObservation.success_rate gives it — no
    ground truth), with a uniform prior: p = (good + 1) / (attempts + 2), so an untried zone scores like p = ½.
    Each tick each of the `zones_per_tick` picks is, with probability ε (`curriculum.epsilon`), a uniformly random
    open zone; the others go to the open zones of highest learnability p(1 − p), random tie-break.
    """

    name = "learnability"

    def __init__(self, curriculum, seeds, zone_ring):
        super().__init__(curriculum, seeds, zone_ring)
        self.window = int(getattr(curriculum, "lp_window", 20))
        self.epsilon = float(getattr(curriculum, "epsilon", 0.1))
        shape = (self.n_worlds, self.n_zones, self.window)
        self.good, self.tried = np.zeros(shape, np.int64), np.zeros(shape, np.int64)

    def rate(self) -> np.ndarray:
        """(W', Z) posterior-mean success (or agreement) rate over each zone's window."""
        return (self.good.sum(axis=2) + 1.0) / (self.tried.sum(axis=2) + 2.0)

    def learnability(self) -> np.ndarray:
        """(W', Z) p(1 − p) per zone."""
        p = self.rate()
        return p * (1.0 - p)

    def choose(self, obs):
        """ε-random picks, the rest by learnability."""
        self.next_round()
        k = min(self.k, self.n_zones)
        explore = (self.uniforms(STREAM_SFL_EXPLORE)[:, :k] < self.epsilon).sum(axis=1)
        jitter = self.uniforms(STREAM_SFL_TIES) * 1e-9
        best = top_per_row(self.learnability() + jitter, obs.open, k - explore)
        # the random picks are drawn among the open zones not already chosen
        return best | top_per_row(self.uniforms(STREAM_SFL_RANDOM), obs.open & ~best, explore)

    def update(self, obs):
        """Push this tick's counts into the window of every zone that resolved attempts."""
        n = obs.resolved()
        seen = n > 0
        good = np.rint(obs.success_rate() * n).astype(np.int64)  # the rate's numerator, exactly
        for window, now in ((self.good, good), (self.tried, n)):
            shifted = np.concatenate([window[:, :, 1:], now[:, :, None]], axis=2)
            window[...] = np.where(seen[:, :, None], shifted, window)


class QuantileScaler:
    """Map raw rewards to [0, 1] by the 20th/80th percentiles of the last 200 rewards (Graves et al. 2017)."""

    def __init__(self, n_worlds: int, size: int = 200):
        self.buffers = [[] for _ in range(n_worlds)]
        self.size = size

    def __call__(self, reward: np.ndarray, seen: np.ndarray) -> np.ndarray:
        """Scale each world's rewards by its own recent quantiles, then remember the raw ones."""
        out = reward.copy()
        for w, buf in enumerate(self.buffers):
            if len(buf) >= 2:
                lo, hi = np.percentile(buf, [20, 80])
                out[w] = np.clip((reward[w] - lo) / (hi - lo), 0.0, 1.0) if hi > lo else (reward[w] >= hi) * 1.0
            buf.extend(reward[w][seen[w]].tolist())
            del buf[:-self.size]
        return out
