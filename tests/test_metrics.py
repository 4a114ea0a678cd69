"""engine.sim.metrics: NLL, Brier, ECE and escalation precision by hand; agreement with a real Simulation's summary."""
import math

import numpy as np
import pytest

from engine.sim import metrics
from kernels import constants as K

# five resolved attempts: (p̂, y = proposal right)
ATTEMPTS = [(0.9, 1), (0.8, 0), (0.85, 1), (0.3, 0), (0.6, 1)]


def fx(x: float) -> int:
    """One value in the kernels' fixed point."""
    return round(x * K.FX_SCALE)


def fabricated_totals():
    """totals (1, N_ZONE_STATS) as the kernels would sum them for ATTEMPTS (per-attempt fixed point)."""
    t = np.zeros((1, K.N_ZONE_STATS), np.int64)
    t[0, K.Z_RESOLVED] = len(ATTEMPTS)
    t[0, K.Z_CORRECT] = sum(y for _, y in ATTEMPTS)
    t[0, K.Z_NLL_FX] = sum(fx(-(y * math.log(p) + (1 - y) * math.log(1 - p))) for p, y in ATTEMPTS)
    t[0, K.Z_BRIER_FX] = sum(fx((p - y) ** 2) for p, y in ATTEMPTS)
    t[0, K.Z_ESCALATED] = 4
    t[0, K.Z_ESCALATED_WRONG] = 3
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
    t = np.zeros((2, K.N_ZONE_STATS), np.int64)
    for f in (metrics.mean_nll, metrics.brier, metrics.escalation_precision):
        assert np.isnan(f(t)).all()
    assert np.isnan(metrics.ece(np.zeros((2, K.RELIABILITY_BINS, 3), np.int64))).all()


def test_world_metrics_and_time_series_agree_with_the_simulation(taichi_cpu):
    from engine.sim.simulation import Simulation
    from scenarios.loader import load_scenario

    sim = Simulation(load_scenario("smoke", {"curriculum.manager": "stages"}), seed=4, worlds=3, arch="cpu")
    series = metrics.TimeSeries()
    sim.listeners.append(series)
    sim.run()
    summary = sim.summary()["world_results"]
    arrays = series.arrays()
    assert arrays["moves"].shape == (sim.tick, 3)
    for w in range(3):
        m, s = metrics.world_metrics(sim, w), summary[w]
        for key in ("outcome", "ticks", "attempts", "wrong_attempts", "oracle_calls", "cost", "adoptions",
                    "moves_complete", "stage_ticks"):
            assert m[key] == s[key], key
        assert m["mean_nll"] == pytest.approx(s["mean_nll"])
        assert m["ticks_to_complete"] == s["ticks"] and m["plan_valid"] is True
        assert 0 < m["ece"] < 1 and 0 < m["brier"] < 1 and 0 <= m["escalation_precision"] <= 1
        assert sum(m["rel_count"]) == m["attempts"], "every resolved attempt lands in one reliability bin"
        end = s["ticks"] - 1
        assert arrays["moves"][end, w] == s["moves_complete"] and arrays["oracle_calls"][end, w] == s["oracle_calls"]
        assert arrays["attempts"][end, w] == s["attempts"]
        assert np.all(np.diff(arrays["moves"][:, w]) >= 0), "moves complete never decrease"
        stages = arrays["stage"][:, w]
        assert stages[-1] == s["stage"] and np.all(np.diff(stages) >= 0)
        cols = metrics.stage_tick_columns(m["stage_ticks"], sim.layout.n_rings)
        assert [cols[f"stage_{k}_tick"] for k in range(1, len(m["stage_ticks"]))] == m["stage_ticks"][1:]
