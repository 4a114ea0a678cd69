"""The one declaration of parameters, controls and statistics (kernels/records.py) and the names derived from it."""
import math

import numpy as np

from engine.sim.params import world_params
from engine.sim.simulation import Simulation
from kernels import constants as K
from kernels.records import PARAMS, VOTE, ZONE, stats_layout
from replay import schema
from scenarios.loader import load_scenario

# Every parameter set to a value no other parameter has, so a packing that swaps two columns cannot pass.
DISTINCT = {"agents.eta": 0.31, "agents.eta_oracle": 0.37, "agents.eta_nbr": 0.041, "agents.eta_shared": 0.043,
            "agents.kappa": 0.47, "agents.alpha": 0.053, "agents.p_min": 0.059, "agents.p_max": 0.97,
            "agents.b_over": 1.3, "agents.omega": 0.71, "agents.sigma_conf": 0.29, "oracle.error": 0.07,
            "oracle.tau_escalate": 0.23, "agents.a_max": 11, "oracle.a_escalate": 3, "oracle.latency": 5,
            "agents.slm_latency": 2, "grid.tau_green": 4, "agents.distill": True, "layout.order": "prefix",
            "consensus.tau_commit": 0.61, "consensus.red_flag": 0.13, "consensus.k_ahead": 3, "consensus.w_oracle": 2,
            "consensus.learn": "oracle", "consensus.audit": "contested", "consensus.tau_audit": 0.8,
            "consensus.nll_source": "oracle"}


def expected_values(sc) -> dict:
    """Each declared parameter computed here from the scenario's own keys (DESIGN §2.4, §2.5)."""
    ag, orc = sc.agents, sc.oracle
    return {"eta": ag.eta, "eta_oracle": ag.eta_oracle, "eta_nbr": ag.eta_nbr, "eta_shared": ag.eta_shared,
            "kappa": ag.kappa, "alpha": ag.alpha, "p_min": ag.p_min, "p_max": ag.p_max, "b_over": ag.b_over,
            "omega": ag.omega, "sigma_conf": ag.sigma_conf, "oracle_ok": 1 - orc.error,
            "z_escalate": math.log(orc.tau_escalate) - math.log(1 - orc.tau_escalate), "a_max": ag.a_max,
            "a_escalate": orc.a_escalate, "oracle_latency": orc.latency, "slm_latency": ag.slm_latency,
            "tau_green": sc.grid.tau_green, "distill": 1, "order_prefix": 1,
            "z_commit": math.log(0.61 / 0.39), "red_flag": 0.13, "k_ahead": 3, "w_oracle": 2, "learn_oracle": 1,
            "audit": K.AUDIT_CONTESTED, "tau_audit_fx": round(0.8 * 65536), "nll_oracle": 1}


def test_state_names_are_one_list():
    """The engine's state codes, the episode format's and the metrics columns that count states agree."""
    assert K.STATE_NAMES == schema.STATE_NAMES
    assert [K.IDLE, K.WORKING, K.WAITING, K.SUCCESS, K.FAILURE, K.DEAD] == list(range(len(K.STATE_NAMES)))
    assert set(K.STATE_NAMES) <= set(schema.STANDARD_METRICS.names)
    # the per-state zone counts follow the state codes: column n_idle + code counts that state
    assert ZONE.names[ZONE.state_counts] == tuple(f"n_{s}" for s in K.STATE_NAMES)
    assert ZONE.names[ZONE.live_state_counts] == tuple(f"n_{s}" for s in K.STATE_NAMES if s != "dead")


def test_parameters_reach_the_kernel_by_name(taichi_cpu):
    """The host packing and the kernel's struct field agree on every declared parameter, name by name."""
    sc = load_scenario("smoke", DISTINCT)
    expected = expected_values(sc)
    assert set(expected) == set(PARAMS.names)
    packed = world_params([sc, sc])
    sim = Simulation(sc, worlds=2, arch="cpu")
    on_device = sim.device.params.to_numpy()
    for name, kind in PARAMS.fields:
        want = np.float32(expected[name]) if kind == "f32" else expected[name]
        assert packed[name][0] == want, name
        assert on_device[name][1] == want, name
    assert len(set(np.float32(expected[n]) for n, k in PARAMS.fields if k == "f32")) == len(
        [n for n, k in PARAMS.fields if k == "f32"]), "the test's values must be distinct"


def test_statistics_row_is_tiled_by_its_layout():
    """The blocks of the per-world statistics row follow each other without gap or overlap."""
    layout = stats_layout(n_zones=7, n_categories=5)
    width, _ = layout.pop("width")
    end = 0
    for name, (start, shape) in layout.items():
        assert start == end, name
        end = start + int(np.prod(shape))
    assert end == width == 7 * len(ZONE) + len(ZONE) + 2 + K.RELIABILITY_BINS * 3 + 5
    with_votes = stats_layout(n_zones=7, n_categories=5, consensus=True)
    assert with_votes["vote_stats"] == (width, (7, len(VOTE)))
    assert with_votes["width"][0] == width + 7 * len(VOTE)
