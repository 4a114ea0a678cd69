"""engine.sim.metrics: NLL, Brier, ECE and escalation precision by hand; agreement with a real Simulation's summary."""
import math

import numpy as np
import pytest

from engine.sim import metrics
from kernels import constants as K
from kernels.records import ZONE

# five resolved attempts: (p̂, y = proposal right)
ATTEMPTS = [(0.9, 1), (0.8, 0), (0.85, 1), (0.3, 0), (0.6, 1)]


def fx(x: float) -> int:
    """One value in the kernels' fixed point."""
    return round(x * K.FX_SCALE)


def fabricated_totals():
    """totals (1, len(ZONE)) as the kernels would sum them for ATTEMPTS (per-attempt fixed point)."""
    t = np.zeros((1, len(ZONE)), np.int64)
    t[0, ZONE.resolved] = len(ATTEMPTS)
    t[0, ZONE.correct] = sum(y for _, y in ATTEMPTS)
    t[0, ZONE.nll_fx] = sum(fx(-(y * math.log(p) + (1 - y) * math.log(1 - p))) for p, y in ATTEMPTS)
    t[0, ZONE.brier_fx] = sum(fx((p - y) ** 2) for p, y in ATTEMPTS)
    t[0, ZONE.escalated] = 4
    t[0, ZONE.escalated_wrong] = 3
    return t


def fabricated_reliability():
    """reliability (1, 15, 3) for ATTEMPTS: bin = floor(15 p̂)."""
    rel = np.zeros((1, K.RELIABILITY_BINS, 3), np.int64)
    for p, y in ATTEMPTS:
        b = int(p * K.RELIABILITY_BINS)
        rel[0, b] += (1, y, fx(p))
    return rel


def test_nll_and_brier_by_hand():
    t = fabricated_totals()
    nll = -(math.log(0.9) + math.log(0.2) + math.log(0.85) + math.log(0.7) + math.log(0.6)) / 5
    brier = (0.1 ** 2 + 0.8 ** 2 + 0.15 ** 2 + 0.3 ** 2 + 0.4 ** 2) / 5
    assert metrics.mean_nll(t)[0] == pytest.approx(nll, abs=1e-5)
    assert metrics.brier(t)[0] == pytest.approx(brier, abs=1e-5)
    assert metrics.accuracy(t)[0] == pytest.approx(3 / 5)
    assert metrics.escalation_precision(t)[0] == pytest.approx(3 / 4)


def test_ece_with_15_equal_width_bins_by_hand():
    # bins: 0.9 → 13, 0.8 and 0.85 → 12 (accuracy 1/2, confidence 0.825), 0.3 → 4, 0.6 → 9
    gaps = [(1, abs(1 - 0.9)), (2, abs(0.5 - 0.825)), (1, abs(0 - 0.3)), (1, abs(1 - 0.6))]
    expected = sum(n * g for n, g in gaps) / 5
    rel = fabricated_reliability()
    assert metrics.ece(rel)[0] == pytest.approx(expected, abs=1e-5)
    assert metrics.ece(rel[0]) == pytest.approx(expected, abs=1e-5)  # one world without the leading axis
    bins = metrics.reliability_bins(rel)
    assert bins["edges"].shape == (16,) and bins["edges"][1] == pytest.approx(1 / 15)
    assert bins["count"][0].tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 2, 1, 0]
    assert bins["accuracy"][0, 12] == 0.5 and bins["confidence"][0, 12] == pytest.approx(0.825, abs=1e-5)
    assert np.isnan(bins["accuracy"][0, 0]), "empty bins are NaN, not 0"


def test_perfectly_calibrated_bins_have_zero_ece():
    rel = np.zeros((K.RELIABILITY_BINS, 3), np.int64)
    rel[3] = (10, 2, fx(0.2) * 10)
    rel[10] = (4, 3, fx(0.75) * 4)
    assert metrics.ece(rel) == pytest.approx(0.0, abs=1e-5)  # fixed-point rounding only


def test_no_attempts_give_nan_not_zero():
    t = np.zeros((2, len(ZONE)), np.int64)
    for f in (metrics.mean_nll, metrics.brier, metrics.escalation_precision):
        assert np.isnan(f(t)).all()
    assert np.isnan(metrics.ece(np.zeros((2, K.RELIABILITY_BINS, 3), np.int64))).all()


def test_world_metrics_match_figures_recomputed_from_the_per_tick_statistics(taichi_cpu):
    """world_metrics (the one formula behind run, experiment and sweep) against the same figures rebuilt here from
    what the kernel reported tick by tick, DESIGN's cost formula, the reliability bins and the plan validator."""
    from engine.sim.simulation import Simulation
    from engine.sim.tasks import check_plan
    from scenarios.loader import load_scenario

    scenario = load_scenario("smoke", {"curriculum.manager": "stages"})
    sim = Simulation(scenario, seed=4, worlds=3, arch="cpu")
    series = metrics.TimeSeries()
    per_tick = []  # the kernel's per-tick, per-world counters
    sim.listeners += [series, lambda sim, stats: per_tick.append(stats["world_totals"].copy())]
    sim.run()
    arrays = series.arrays()
    summed = np.sum(per_tick, axis=0)
    assert arrays["moves"].shape == (sim.tick, 3)
    for w in range(3):
        m = metrics.world_metrics(sim, w)
        t = summed[w]
        attempts, correct, calls = int(t[ZONE.resolved]), int(t[ZONE.correct]), int(t[ZONE.escalated])
        ended = int(np.nonzero(per_tick_any(per_tick, w))[0][-1]) + 1  # the last tick the world worked
        assert m["outcome"] == "complete" and m["ticks"] == ended == m["ticks_to_complete"]
        assert m["moves_complete"] == m["moves_total"] == 31 and m["seed"] == 4 + w and m["manager"] == "stages"
        assert (m["attempts"], m["correct"], m["wrong_attempts"]) == (attempts, correct, attempts - correct)
        assert m["oracle_calls"] == calls and m["adoptions"] == int(t[ZONE.adopted])
        assert m["cost"] == attempts * 1 + calls * 20  # DESIGN: one per SLM attempt, oracle.cost = 20 per call
        assert m["accuracy"] == pytest.approx(correct / attempts)
        assert m["mean_nll"] == pytest.approx(t[ZONE.nll_fx] / K.FX_SCALE / attempts)
        assert m["brier"] == pytest.approx(t[ZONE.brier_fx] / K.FX_SCALE / attempts)
        rel = sim.reliability[w]
        assert rel[:, 0].sum() == attempts, "every resolved attempt lands in one reliability bin"
        gap = sum(n * abs(c / n - p / K.FX_SCALE / n) for n, c, p in rel.tolist() if n)
        assert m["ece"] == pytest.approx(gap / attempts)
        assert m["plan_valid"] is True and check_plan(sim.composed_plan(w), 5, 3).ok and m["plan_error"] is None
        end = m["ticks"] - 1
        assert arrays["moves"][end, w] == m["moves_complete"] and arrays["oracle_calls"][end, w] == calls
        assert arrays["attempts"][end, w] == attempts
        assert np.all(np.diff(arrays["moves"][:, w]) >= 0), "moves complete never decrease"
        stages = arrays["stage"][:, w]
        assert stages[-1] == m["final_stage"] and np.all(np.diff(stages) >= 0)
        opened = [0] + [int(k) + 1 for k in np.nonzero(np.diff(stages[:m["ticks"]]))[0] + 1]
        assert m["stage_ticks"] == opened, "stage s began the tick after the one that opened it"
        cols = metrics.stage_tick_columns(m["stage_ticks"], sim.layout.n_rings)
        assert [cols[f"stage_{k}_tick"] for k in range(1, len(m["stage_ticks"]))] == m["stage_ticks"][1:]
    # the run summary is this formula, with NaN written as None for JSON
    assert sim.summary()["world_results"][0] == {k: None if isinstance(v, float) and math.isnan(v) else v
                                                 for k, v in metrics.world_metrics(sim, 0).items()}


def per_tick_any(per_tick, w):
    """Per tick: did world w resolve, start or escalate anything (ended worlds report zeros)."""
    cols = [ZONE.resolved, ZONE.started, ZONE.escalated, ZONE.n_idle, ZONE.n_working, ZONE.n_waiting, ZONE.n_success,
            ZONE.n_failure]
    return np.array([t[w, cols].any() for t in per_tick])
