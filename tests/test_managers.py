"""Curriculum managers (DESIGN §2.6) driven through their public interface: choose(obs), update(obs).

Zone statistics are fabricated arrays, so most tests need neither Taichi nor a grid: a "zone" is a bandit arm.
"""
import math

import numpy as np
import pytest

from engine.managers import ManagerError, ZoneObservation, manager_class
from engine.managers.bandits import QuantileScaler
from kernels import constants as K
from kernels.records import ZONE
from scenarios.loader import load_scenario

ARM_MEANS = np.round(np.arange(0.05, 1.0, 0.1), 2)  # 0.05, 0.15, … 0.95: arm 9 is best


def curriculum(**overrides):
    """A validated [curriculum] section with overrides (keys without the section prefix)."""
    return load_scenario("smoke", {f"curriculum.{k}": v for k, v in overrides.items()}).curriculum


def make_manager(name, seeds, n_zones, **overrides):
    """A manager for len(seeds) worlds over n_zones zones (all in ring 0)."""
    return manager_class(name)(curriculum(**overrides), np.asarray(seeds, np.uint64), np.zeros(n_zones, np.int64))


def observation(resolved, correct, nll=None, tick=0):
    """A ZoneObservation with every zone open and the given per-zone counts (arrays (W, Z))."""
    resolved = np.asarray(resolved, np.int64)
    stats = np.zeros(resolved.shape + (len(ZONE),), np.int64)
    stats[..., ZONE.resolved] = resolved
    stats[..., ZONE.correct] = correct
    if nll is not None:
        stats[..., ZONE.nll_fx] = nll
    W, Z = resolved.shape
    open_ = np.ones((W, Z), bool)
    return ZoneObservation(tick=tick, stage=np.zeros(W, np.int32), running=np.ones(W, bool), unlocked=open_,
                           open=open_, zone_stats=stats)


def play_bandit(manager, seeds, pulls=2000, seed=1234):
    """Pull one arm per tick per world (reward drawn from its mean); return the chosen arms (pulls, W).

    World w's rewards come from its own stream, keyed by `seed` and its manager seed `seeds[w]`, so a world sees
    the same rewards whichever worlds it is managed with."""
    streams = [np.random.default_rng([seed, int(s)]) for s in seeds]
    n_worlds = len(streams)
    Z = len(ARM_MEANS)
    chosen = np.zeros((pulls, n_worlds), np.int64)
    idle = observation(np.zeros((n_worlds, Z)), np.zeros((n_worlds, Z)))
    for t in range(pulls):
        mask = manager.choose(idle)
        assert mask.shape == (n_worlds, Z) and np.all(mask.sum(axis=1) == 1), "zones_per_tick = 1 picks one arm"
        arm = mask.argmax(axis=1)
        success = np.array([rng.random() for rng in streams]) < ARM_MEANS[arm]
        resolved = mask.astype(np.int64)
        manager.update(observation(resolved, resolved * success[:, None], tick=t))
        chosen[t] = arm
    return chosen


def regret(chosen):
    """Cumulative expected regret per world."""
    return (ARM_MEANS.max() - ARM_MEANS[chosen]).sum(axis=0)


BANDIT = dict(discount=1.0, zones_per_tick=1, nll_weight=0.0)


# ---- thompson: the Beta update by hand
def test_thompson_beta_update_with_discount_by_hand():
    m = make_manager("thompson", [5], 3, discount=0.9, nll_weight=1.0)
    nothing = observation([[0, 0, 0]], [[0, 0, 0]])
    m.choose(nothing)  # discount of the prior (1, 1) leaves it at (1, 1)
    # zone 0: 4 of 4 right, NLL 0 → reward 1, b = 1 for sure; zone 1: 0 of 3 right → reward 0, b = 0; zone 2: none
    m.update(observation([[4, 3, 0]], [[4, 0, 0]]))
    assert m.alpha.tolist() == [[2.0, 1.0, 1.0]] and m.beta.tolist() == [[1.0, 2.0, 1.0]]
    m.choose(nothing)  # α ← 1 + γ(α − 1)
    assert m.alpha[0] == pytest.approx([1.9, 1.0, 1.0]) and m.beta[0] == pytest.approx([1.0, 1.9, 1.0])
    m.update(observation([[2, 0, 0]], [[2, 0, 0]]))
    m.choose(nothing)
    assert m.alpha[0] == pytest.approx([1 + 0.9 * (1 + 0.9 * 1.0), 1.0, 1.0])
    assert m.beta[0] == pytest.approx([1.0, 1 + 0.9 * 0.9, 1.0])
    # reward = success rate · exp(−λ · mean NLL): 3 of 4 right with ΣNLL = 4·ln 2 (fixed point) → 0.75 · 0.5
    nll_fx = round(4 * math.log(2) * K.FX_SCALE)
    m.update(observation([[4, 0, 0]], [[3, 0, 0]], nll=[[nll_fx, 0, 0]]))
    expected = 0.75 * math.exp(-nll_fx / K.FX_SCALE / 4)
    assert m.reward[0, 0] == pytest.approx(expected) and expected == pytest.approx(0.375, abs=1e-4)
    assert np.isnan(m.reward[0, 1:]).all(), "zones without resolved attempts get no reward"


def test_thompson_samples_top_k_open_zones_only():
    m = make_manager("thompson", [0, 1], 6, zones_per_tick=2)
    obs = observation(np.zeros((2, 6)), np.zeros((2, 6)))
    obs.open[:, :3] = False
    mask = m.choose(obs)
    assert np.all(mask.sum(axis=1) == 2) and not mask[:, :3].any()
    for w in range(2):  # the two open zones with the highest samples
        top = set(np.argsort(-m.sample[w, 3:])[:2] + 3)
        assert set(np.nonzero(mask[w])[0]) == top


# ---- the 10-arm Bernoulli bandit
@pytest.fixture(scope="module")
def bandit_runs():
    """Thompson and uniform on the 10-arm bandit, 20 seeds each (one world per seed, vectorised)."""
    seeds = list(range(20))
    ts = play_bandit(make_manager("thompson", seeds, 10, **BANDIT), seeds)
    uni = play_bandit(make_manager("uniform", seeds, 10, **BANDIT), seeds)
    return ts, uni


def test_thompson_pulls_the_best_arm_most_in_the_last_500(bandit_runs):
    ts, _ = bandit_runs
    for w in range(ts.shape[1]):
        counts = np.bincount(ts[-500:, w], minlength=10)
        assert counts.argmax() == 9, f"seed {w}: last-500 pulls per arm {counts.tolist()}"


def test_thompson_regret_below_uniform_for_every_seed(bandit_runs):
    ts, uni = bandit_runs
    r_ts, r_uni = regret(ts), regret(uni)
    assert np.all(r_ts < r_uni), f"thompson {r_ts.round(1).tolist()} vs uniform {r_uni.round(1).tolist()}"
    assert r_uni.mean() == pytest.approx(2000 * 0.45, rel=0.05)  # uniform: expected regret 0.45 per pull


def test_quantile_reward_scaling_still_finds_the_best_arm():
    chosen = play_bandit(make_manager("thompson", range(6), 10, reward_scaling="quantile", **BANDIT), range(6),
                         pulls=1000)
    late = chosen[-300:]
    assert all(np.bincount(late[:, w], minlength=10).argmax() == 9 for w in range(6))
    assert np.all(regret(chosen) < 0.45 * 1000 / 2)


def test_quantile_scaler_by_hand():
    scaler = QuantileScaler(n_worlds=1, size=200)
    history = np.linspace(0.0, 1.0, 250)  # only the last 200 are kept
    for x in history:
        scaler(np.array([[x]]), np.array([[True]]))
    kept = history[-200:]
    lo, hi = np.percentile(kept, [20, 80])
    out = scaler(np.array([[0.5, 0.0, 1.0, hi]]), np.array([[True, False, False, False]]))
    assert out[0, 0] == pytest.approx((0.5 - lo) / (hi - lo))
    assert out[0, 1] == 0.0 and out[0, 2] == 1.0 and out[0, 3] == pytest.approx(1.0)  # clipped to [0, 1]


# ---- learning progress
def feed(manager, rates_per_tick, n=10):
    """Update every zone of one world with n resolved attempts at the given success rates, tick by tick."""
    for t, rates in enumerate(rates_per_tick):
        correct = np.round(np.asarray(rates) * n).astype(np.int64)
        manager.update(observation([[n] * len(rates)], [correct], tick=t))


@pytest.mark.parametrize("seed", range(5))
def test_learning_progress_prefers_a_rising_arm_over_a_flat_one(seed):
    m = make_manager("learning_progress", [seed], 2, zones_per_tick=1, lp_window=20)
    feed(m, [(min(1.0, 0.05 * t), 0.5) for t in range(30)])  # zone 0 rises 0 → 1, zone 1 stays at 0.5
    mask = m.choose(observation([[0, 0]], [[0, 0]]))
    assert mask[0].tolist() == [True, False]
    # a falling arm is progress too (absolute learning progress)
    m = make_manager("learning_progress", [seed], 2, zones_per_tick=1, lp_window=20)
    feed(m, [(0.5, max(0.0, 1.0 - 0.05 * t)) for t in range(30)])
    assert m.choose(observation([[0, 0]], [[0, 0]]))[0].tolist() == [False, True]


def test_learning_progress_sees_a_rise_in_a_short_history():
    m = make_manager("learning_progress", [0], 2, zones_per_tick=1, lp_window=20)
    feed(m, [(0.1 * t, 0.5) for t in range(8)])  # 8 ticks: zone 0 rises 0 → 0.7
    assert m.progress()[0, 0] > m.progress()[0, 1]


def test_learning_progress_tries_unseen_zones_first():
    m = make_manager("learning_progress", [3], 4, zones_per_tick=1)
    for t in range(3):  # zones 0–2 seen three times at a flat rate, zone 3 never
        m.update(observation([[10, 10, 10, 0]], [[5, 5, 5, 0]], tick=t))
    assert m.choose(observation([[0] * 4], [[0] * 4]))[0].tolist() == [False, False, False, True]


# ---- determinism and the interface
@pytest.mark.parametrize("name", ["thompson", "uniform", "round_robin", "learning_progress", "learnability"])
def test_managers_are_deterministic_per_seed(name):
    runs = [play_bandit(make_manager(name, [7, 8], 10, **BANDIT), [7, 8], pulls=300) for _ in range(2)]
    assert np.array_equal(*runs), "same seeds → same choices"
    # a world's choices do not depend on the other worlds it is managed with: world 1 (seed 8) of the pair
    # chooses exactly what seed 8 chooses alone, and what it chooses beside another world
    alone = play_bandit(make_manager(name, [8], 10, **BANDIT), [8], pulls=300)
    beside = play_bandit(make_manager(name, [8, 3, 5], 10, **BANDIT), [8, 3, 5], pulls=300)
    assert np.array_equal(runs[0][:, 1], alone[:, 0]) and np.array_equal(beside[:, 0], alone[:, 0])
    if name != "round_robin":
        other = play_bandit(make_manager(name, [9, 10], 10, **BANDIT), [9, 10], pulls=300)
        assert not np.array_equal(runs[0], other), "different seeds → different choices"


def test_round_robin_visits_open_zones_in_turn():
    m = make_manager("round_robin", [0], 5, zones_per_tick=2)
    obs = observation([[0] * 5], [[0] * 5])
    obs.open[0, 2] = False
    picks = [np.nonzero(m.choose(obs)[0])[0].tolist() for _ in range(4)]
    assert picks == [[0, 1], [3, 4], [0, 1], [3, 4]]


def test_unknown_manager_and_bad_plugin_are_clear_errors():
    with pytest.raises(ManagerError, match="unknown manager 'thomson'"):
        manager_class("thomson")
    with pytest.raises(ManagerError, match="cannot load manager plugin"):
        manager_class("tests.no_such_module:X")


# ---- managers inside a Simulation
def test_user_plugin_manager_runs_in_a_simulation(taichi_cpu, monkeypatch):
    from pathlib import Path

    from engine.sim.simulation import Simulation

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent))
    scenario = load_scenario("smoke", {"curriculum.manager": "tests.plugin_manager:MyManager"})
    sim = Simulation(scenario, seed=0, worlds=2, arch="cpu")
    seen = []  # per tick: the zones the Simulation activated, and the zones where agents started attempts

    def record(sim, stats):
        seen.append((sim.active.copy(), stats["zone_stats"][:, :, ZONE.started] > 0, sim.observation(
            np.arange(2)).open.copy()))

    sim.listeners.append(record)
    sim.run()
    (_, manager), = sim.managers
    assert type(manager).__name__ == "MyManager" and manager.calls == sim.tick
    assert sim.outcome == ["complete", "complete"]
    # the plugin activates one zone per tick: the Simulation passes exactly that zone to the kernel, and agents
    # start attempts in no other zone
    for active, started, _ in seen:
        assert np.all(active.sum(axis=1) <= 1) and not np.any(started & ~active)
    assert sum(int(s.sum()) for _, s, _ in seen) > 0
    for t in range(1, len(seen)):  # the zone activated at tick t is the first zone open after tick t − 1
        active, _, _ = seen[t]
        opened = seen[t - 1][2]
        for w in np.nonzero(active.any(axis=1))[0]:
            assert np.argmax(active[w]) == np.argmax(opened[w])


def test_quantile_thompson_completes_smoke(taichi_cpu):
    from engine.sim.simulation import Simulation

    scenario = load_scenario("smoke", {"curriculum.manager": "thompson", "curriculum.reward_scaling": "quantile"})
    sim = Simulation(scenario, seed=3, worlds=2, arch="cpu").run()
    assert sim.outcome == ["complete", "complete"]
    (_, manager), = sim.managers
    rewards = manager.posterior()["reward"]
    assert np.all((rewards[np.isfinite(rewards)] >= 0) & (rewards[np.isfinite(rewards)] <= 1))


def test_beta_draws_equal_one_entry_at_a_time_marsaglia_tsang():
    """The batched draws (two retry rounds per pass for small batches, shared α/β loop) give each entry the value
    a plain one-entry rejection loop gives it, for a small and a large batch."""
    from engine.managers.draws import GAMMA_ROUNDS, Draws, to_unit
    from engine.sim.mathref import lowbias32

    def gamma_alone(dr, shape, key, zone):  # on one-element arrays: NumPy's scalar math rounds differently
        d = np.array([shape]) - 1.0 / 3.0
        c = 1.0 / np.sqrt(9.0 * d)
        for r in range(GAMMA_ROUNDS):
            u1, u2, u3 = (to_unit(lowbias32(np.array([key ^ dr.salt(3 * r + i)[zone]]))) for i in range(3))
            x = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
            v = (1.0 + c * x) ** 3
            if v[0] > 0 and (np.log(u3) < 0.5 * x * x + d - d * v + d * np.log(v))[0]:
                return d * v
        return d

    rng = np.random.default_rng(3)
    for W, Z in ((2, 8), (40, 24)):  # 2·16 and 2·960 entries: below and above the small-batch size
        dr = Draws(np.arange(W, dtype=np.uint64) + 11, Z)
        alpha, beta = 1 + rng.random((W, Z)) * 30, 1 + rng.random((W, Z)) * 30
        where = rng.random((W, Z)) < 0.8
        got = dr.betas(alpha, beta, 5, 10, where)
        ka, kb = dr.keys(5, 10), dr.keys(5, 11)
        for w in range(W):
            for z in range(Z):
                if not where[w, z]:
                    assert np.isnan(got[w, z])
                    continue
                x, y = gamma_alone(dr, alpha[w, z], ka[w], z), gamma_alone(dr, beta[w, z], kb[w], z)
                assert got[w, z] == (x / (x + y))[0]


def test_a_plugin_sees_no_ground_truth_in_consensus_mode(taichi_cpu, monkeypatch):
    """DESIGN §2.8.7: in consensus mode no manager, plugin included, can read whether a proposal was right."""
    from pathlib import Path

    from engine.sim.simulation import Simulation
    from kernels.records import GROUND_TRUTH, VOTE

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent))
    scenario = load_scenario("smoke", {"curriculum.manager": "tests.plugin_manager:PeekingManager",
                                       "consensus.feedback": "consensus", "task.max_ticks": 60})
    sim = Simulation(scenario, seed=0, worlds=2, arch="cpu")
    truth = []
    sim.listeners.append(lambda sim, stats: truth.append(int(stats["zone_stats"][..., ZONE.correct].sum())))
    sim.run()
    (_, manager), = sim.managers
    zone_seen = np.stack([z for z, _ in manager.seen])
    vote_seen = np.stack([v for _, v in manager.seen])
    assert sum(truth) > 0 and zone_seen[..., ZONE.resolved].sum() > 0  # right answers happened and were resolved
    assert vote_seen[..., VOTE.agree].sum() > 0  # the observable signal is there
    for name in GROUND_TRUTH["zone"]:
        assert not zone_seen[..., getattr(ZONE, name)].any(), name
    for name in GROUND_TRUTH["vote"]:
        assert not vote_seen[..., getattr(VOTE, name)].any(), name


# ---- the fast paths of the per-tick manager work give what their plain definitions give
def test_top_k_equals_the_stable_descending_sort():
    """top_k (a stable sort for small batches, k arg-max passes for big ones) picks, per row, the first k allowed
    entries of the stable descending order of the scores: ties, NaN and ±inf scores, rows with fewer than k allowed."""
    from engine.managers.bandits import BIG_BATCH, top_k

    def by_sort(scores, allowed, k):
        chosen = np.zeros_like(allowed)
        for w in range(len(scores)):
            keys = [(-(s if a else -np.inf), i) for i, (s, a) in enumerate(zip(scores[w], allowed[w]))]
            nan_last = sorted(keys, key=lambda t: (math.isnan(t[0]), 0.0 if math.isnan(t[0]) else t[0], t[1]))
            for _, i in nan_last[:k]:
                chosen[w, i] = allowed[w, i]
        return chosen

    rng = np.random.default_rng(7)
    big = BIG_BATCH // 40 + 1  # worlds of 40 zones that take the arg-max path
    for trial in range(60):
        W, Z, k = (big, 40, int(rng.integers(1, 5))) if trial % 2 else (int(rng.integers(1, 5)), 9, 2)
        allowed = rng.random((W, Z)) < rng.random()
        scores = rng.integers(0, 4, (W, Z)) / 4.0 if trial % 3 == 0 else rng.random((W, Z))  # ties, or none
        if trial % 5 == 1:
            scores[rng.random((W, Z)) < 0.1] = rng.choice([np.nan, np.inf, -np.inf])
        assert np.array_equal(top_k(scores, allowed, k), by_sort(scores, allowed, k)), trial


def test_draw_keys_and_uniforms_equal_their_definitions():
    """The in-place hash, the keys of several streams at once (Python integers for a few worlds, NumPy for many)
    and the uniforms equal lowbias32 and the 24-bit formula applied one step at a time."""
    from engine.managers.draws import (FEW_WORLDS, ROUND_MUL, Draws, hash_owned, lowbias32_int, to_unit)
    from engine.sim.mathref import lowbias32

    words = np.random.default_rng(3).integers(0, 2 ** 32, 1000, dtype=np.uint64).astype(np.uint32)
    assert np.array_equal(hash_owned(words.copy()), lowbias32(words))
    edges = np.array([0, 255, 256, 2 ** 32 - 1], np.uint32)
    assert np.array_equal(to_unit(edges), ((edges >> np.uint32(8)).astype(np.float64) + 0.5) / 2.0 ** 24)
    for n_worlds in (1, FEW_WORLDS, FEW_WORLDS + 1, 50):
        seeds = np.arange(n_worlds, dtype=np.uint64) * 7 + 3
        dr = Draws(seeds, 6)
        got = dr.stream_keys(9, (10, 11, 20))
        for row, stream in enumerate((10, 11, 20)):
            want = lowbias32(dr.world ^ np.uint32(lowbias32_int(9 * ROUND_MUL + stream)))
            assert np.array_equal(got[row], want) and np.array_equal(dr.keys(9, stream), want)
            assert np.array_equal(dr.uniforms(9, stream), to_unit(lowbias32(want[:, None] ^ dr.salt(0)[None, :])))


@pytest.mark.parametrize("W, Z", [(5, 12), (60, 40)])  # the whole-array update and the seen-zones-only one
def test_thompson_update_equals_the_observation_formula(W, Z):
    """The update's reward (one division base in verified mode; big batches: the seen zones only) and its
    Bernoulli draws equal success_rate · exp(−λ · mean_nll) and the reward stream's uniforms, zone by zone."""
    from engine.managers.bandits import SPARSE_UPDATE, STREAM_THOMPSON_REWARD

    assert (W * Z >= SPARSE_UPDATE) == (W == 60)
    rng = np.random.default_rng(11)
    m = make_manager("thompson", np.arange(W) + 40, Z, nll_weight=0.7, discount=0.9)
    for t in range(20):
        resolved = rng.integers(0, 4, (W, Z)) * (rng.random((W, Z)) < 0.5)
        obs = observation(resolved, rng.integers(0, resolved + 1), nll=rng.integers(0, 3 << 16, (W, Z)), tick=t)
        m.choose(obs)
        alpha, beta = m.alpha.copy(), m.beta.copy()
        m.update(obs)
        seen = resolved > 0
        reward = obs.success_rate() * np.exp(-0.7 * obs.mean_nll())
        won = seen & (m.draws.uniforms(m.round, STREAM_THOMPSON_REWARD) < reward)
        assert np.array_equal(m.alpha, alpha + won) and np.array_equal(m.beta, beta + (seen & ~won))
        assert np.array_equal(np.isnan(m.reward), ~seen) and np.array_equal(m.reward[seen], reward[seen])


def test_thompson_draws_ahead_equal_the_per_tick_draws():
    """A small batch draws the α-, β-free half of its Beta samples and reward uniforms AHEAD_ROUNDS rounds at a time:
    over several blocks, with retries past the drawn-ahead rounds, every sample, reward and posterior equals the
    per-tick computation's."""
    from engine.managers.draws import AHEAD_ROUNDS

    rng = np.random.default_rng(5)
    W, Z = 3, 9
    ahead = make_manager("thompson", np.arange(W) + 7, Z, nll_weight=0.4, discount=0.97)
    plain = make_manager("thompson", np.arange(W) + 7, Z, nll_weight=0.4, discount=0.97)
    assert ahead.ahead
    plain.ahead = False
    for t in range(6 * AHEAD_ROUNDS + 5):
        resolved = rng.integers(0, 5, (W, Z)) * (rng.random((W, Z)) < 0.6)
        obs = observation(resolved, rng.integers(0, resolved + 1), nll=rng.integers(0, 2 << 16, (W, Z)), tick=t)
        obs.open[:] = rng.random((W, Z)) < 0.7
        assert np.array_equal(ahead.choose(obs), plain.choose(obs))
        assert np.array_equal(ahead.sample, plain.sample, equal_nan=True)
        ahead.update(obs)
        plain.update(obs)
        assert np.array_equal(ahead.alpha, plain.alpha) and np.array_equal(ahead.beta, plain.beta)
        assert np.array_equal(ahead.reward, plain.reward, equal_nan=True)
