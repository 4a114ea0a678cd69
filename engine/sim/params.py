"""Scenario → the per-world parameter rows the kernels read (`kernels.records.PARAMS`; floats pre-rounded to float32
on the host, DESIGN §7)."""
import math

import numpy as np

from kernels import constants as K
from kernels.records import PARAMS

AUDIT_MODES = {"off": K.AUDIT_OFF, "confidence": K.AUDIT_CONFIDENCE, "contested": K.AUDIT_CONTESTED}


def logit_threshold(tau: float) -> float:
    """logit(τ) in double (rounded to float32 by the caller): p̂ ≥ τ ⇔ z ≥ logit(τ); τ = 0 → −inf, τ = 1 → +inf."""
    if tau <= 0.0:
        return -math.inf
    if tau >= 1.0:
        return math.inf
    return math.log(tau / (1.0 - tau))


def world_param_values(scenario) -> dict:
    """The model parameters of one world by PARAMS name, as Python numbers (derived ones computed in double)."""
    ag, orc, co = scenario.agents, scenario.oracle, scenario.consensus
    tau = orc.tau_escalate
    return {
        "eta": ag.eta, "eta_oracle": ag.eta_oracle, "eta_nbr": ag.eta_nbr, "eta_shared": ag.eta_shared,
        "kappa": ag.kappa, "alpha": ag.alpha, "p_min": ag.p_min, "p_max": ag.p_max, "b_over": ag.b_over,
        "omega": ag.omega, "sigma_conf": ag.sigma_conf,
        # computed in double, rounded once: the kernel compares a float32 uniform / logit against these
        "oracle_ok": 1.0 - orc.error,
        "z_escalate": math.log(tau / (1.0 - tau)),
        "a_max": ag.a_max, "a_escalate": orc.a_escalate, "oracle_latency": orc.latency,
        "slm_latency": ag.slm_latency, "tau_green": scenario.grid.tau_green, "distill": int(ag.distill),
        "order_prefix": int(scenario.layout.order == "prefix"),
        # consensus mode (DESIGN §2.8)
        "z_commit": logit_threshold(co.tau_commit), "red_flag": co.red_flag,
        "k_ahead": co.k_ahead, "w_oracle": co.w_oracle, "learn_oracle": int(co.learn == "oracle"),
        "audit": AUDIT_MODES[co.audit], "tau_audit_fx": round(co.tau_audit * K.FX_SCALE),
        "nll_oracle": int(co.nll_source == "oracle"),
    }


def world_params(scenarios) -> np.ndarray:
    """The parameter rows of each world's scenario: a (W,) structured array with one field per PARAMS name."""
    out = np.zeros(len(scenarios), PARAMS.numpy_dtype())
    for w, scenario in enumerate(scenarios):
        values = world_param_values(scenario)
        missing = set(PARAMS.names) ^ set(values)
        assert not missing, f"parameters declared but not packed (or packed but not declared): {sorted(missing)}"
        for name in PARAMS.names:
            out[name][w] = values[name]
    return out
