"""The `learnability` manager (SFL, DESIGN §2.6): p(1 − p) of each zone's recent rate, top zones, ε random picks.

Expected values are computed here from the definition (Laplace-smoothed pooled rate over the window), not read
from the manager.
"""
import numpy as np
import pytest

from tests.test_managers import make_manager, observation


def feed(manager, good, tried, ticks=1):
    """Give one world's zones `good` of `tried` attempts per tick, for `ticks` ticks."""
    for t in range(ticks):
        manager.update(observation([tried], [good], tick=t))


def test_learnability_by_hand():
    m = make_manager("learnability", [1], 4, zones_per_tick=2, epsilon=0.0, lp_window=5)
    feed(m, [10, 5, 0, 0], [10, 10, 10, 0], ticks=3)  # zone 3 never tried
    p = np.array([31 / 32, 16 / 32, 1 / 32, 1 / 2])  # (good + 1) / (tried + 2) over 3 ticks of 10
    assert m.learnability()[0] == pytest.approx(p * (1 - p))
    idle = observation([[0] * 4], [[0] * 4])
    for _ in range(20):  # zones 1 and 3 tie at ¼, the most learnable: both are always taken
        assert m.choose(idle)[0].tolist() == [False, True, False, True]


def test_window_forgets_old_ticks():
    m = make_manager("learnability", [1], 1, zones_per_tick=1, epsilon=0.0, lp_window=4)
    feed(m, [10], [10], ticks=6)
    feed(m, [3], [6], ticks=2)
    feed(m, [0], [0], ticks=5)  # ticks without attempts do not push anything out
    good, tried = 2 * 10 + 2 * 3, 2 * 10 + 2 * 6  # the last four observations
    assert m.rate()[0, 0] == pytest.approx((good + 1) / (tried + 2))


def test_only_open_zones_and_exactly_k_picks():
    m = make_manager("learnability", [4, 5, 6], 6, zones_per_tick=3, epsilon=0.5)
    obs = observation([[0] * 6] * 3, [[0] * 6] * 3)
    obs.open[0, :] = [True, False, True, False, True, True]
    obs.open[1, :] = [False, False, False, False, True, False]  # fewer open zones than picks
    for _ in range(50):
        mask = m.choose(obs)
        assert not (mask & ~obs.open).any()
        assert mask.sum(axis=1).tolist() == [3, 1, 3]


@pytest.mark.parametrize("epsilon", [0.0, 0.25, 1.0])
def test_epsilon_is_the_share_of_random_picks(epsilon):
    """One pick per tick among 5 zones, zone 0 clearly most learnable: a random pick lands elsewhere with
    probability 4/5, so the share of picks away from zone 0 is 0.8·ε (binomial bounds, 4000 ticks)."""
    m = make_manager("learnability", [11], 5, zones_per_tick=1, epsilon=epsilon, lp_window=20)
    feed(m, [10, 20, 20, 20, 0], [20, 20, 20, 20, 20], ticks=20)
    idle = observation([[0] * 5], [[0] * 5])
    n = 4000
    away = sum(not m.choose(idle)[0, 0] for _ in range(n)) / n
    expect = 0.8 * epsilon
    assert abs(away - expect) <= 4 * np.sqrt(max(expect * (1 - expect), 1e-12) / n) + 1e-12


def test_prefers_the_zone_right_half_the_time_in_play():
    """Three arms right 5 %, 50 % and 95 % of the time: after learning, SFL picks the 50 % arm most."""
    rng = np.random.default_rng(3)
    means = np.array([0.05, 0.5, 0.95])
    m = make_manager("learnability", [2], 3, zones_per_tick=1, epsilon=0.1, lp_window=20)
    idle = observation([[0] * 3], [[0] * 3])
    picks = np.zeros(3, int)
    for t in range(600):
        arm = int(m.choose(idle)[0].argmax())
        picks[arm] += t >= 100
        good = np.zeros(3, int)
        good[arm] = rng.binomial(10, means[arm])
        tried = np.zeros(3, int)
        tried[arm] = 10
        m.update(observation([tried], [good], tick=t))
    assert picks.argmax() == 1 and picks[1] > 0.7 * picks.sum()


def test_learnability_completes_smoke(taichi_cpu):
    from engine.sim.simulation import Simulation
    from scenarios.loader import load_scenario

    sim = Simulation(load_scenario("smoke", {"curriculum.manager": "learnability"}), seed=2, worlds=2,
                     arch="cpu").run()
    assert sim.outcome == ["complete", "complete"]
    assert [r["errors"] for r in sim.summary()["world_results"]] == [0, 0]


def test_consensus_mode_scores_the_agreement_rate_not_the_truth():
    """In consensus mode managers see agreement with the tile's leader (DESIGN §2.8.7): a zone whose attempts are
    all right but disagree half the time is the most learnable, one that is all wrong but agrees is not."""
    from kernels.records import VOTE

    m = make_manager("learnability", [1], 2, zones_per_tick=1, epsilon=0.0, lp_window=5)
    obs = observation([[10, 10]], [[10, 0]])  # truth: zone 0 all right, zone 1 all wrong
    votes = np.zeros((1, 2, len(VOTE)), np.int64)
    votes[0, :, VOTE.agree] = [5, 10]  # what managers may see
    obs.vote_stats = votes
    for _ in range(3):
        m.update(obs)
    assert m.rate()[0] == pytest.approx([16 / 32, 31 / 32])
    assert m.choose(observation([[0, 0]], [[0, 0]]))[0].tolist() == [True, False]


def test_learnability_runs_in_consensus_mode(taichi_cpu):
    from engine.sim.simulation import Simulation
    from scenarios.loader import load_scenario

    s = load_scenario("smoke", {"curriculum.manager": "learnability", "consensus.feedback": "consensus"})
    sim = Simulation(s, seed=4, worlds=2, arch="cpu").run()
    assert sim.outcome == ["complete", "complete"]
    rows = sim.summary()["world_results"]
    assert all(r["votes"] > 0 and r["errors"] >= 0 for r in rows)
