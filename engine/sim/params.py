"""Scenario → the per-world parameter arrays the kernels read (pre-rounded to float32 on the host, DESIGN §7)."""
import math

import numpy as np

from kernels import constants as K


AUDIT_MODES = {"off": K.AUDIT_OFF, "confidence": K.AUDIT_CONFIDENCE, "contested": K.AUDIT_CONTESTED}


def logit_threshold(tau: float) -> float:
    """logit(τ) in double (rounded to float32 by the caller): p̂ ≥ τ ⇔ z ≥ logit(τ); τ = 0 → −inf, τ = 1 → +inf."""
    if tau <= 0.0:
        return -math.inf
    if tau >= 1.0:
        return math.inf
    return math.log(tau / (1.0 - tau))


def float_params(scenario) -> np.ndarray:
    """The float knobs of one world, in `kernels.constants` P_* order, as float32."""
    ag, orc = scenario.agents, scenario.oracle
    tau = orc.tau_escalate
    values = {
        K.P_ETA: ag.eta, K.P_ETA_ORACLE: ag.eta_oracle, K.P_ETA_NBR: ag.eta_nbr, K.P_ETA_SHARED: ag.eta_shared,
        K.P_KAPPA: ag.kappa, K.P_ALPHA: ag.alpha, K.P_P_MIN: ag.p_min, K.P_P_MAX: ag.p_max, K.P_B_OVER: ag.b_over,
        K.P_OMEGA: ag.omega, K.P_SIGMA_CONF: ag.sigma_conf,
        # computed in double, rounded once: the kernel compares a float32 uniform / logit against these
        K.P_ORACLE_OK: 1.0 - orc.error,
        K.P_Z_ESCALATE: math.log(tau / (1.0 - tau)),
        K.P_Z_COMMIT: logit_threshold(scenario.consensus.tau_commit), K.P_RED_FLAG: scenario.consensus.red_flag,
    }
    out = np.zeros(K.N_PARAMS_F, np.float32)
    for index, value in values.items():
        out[index] = np.float32(value)
    return out


def int_params(scenario) -> np.ndarray:
    """The integer knobs of one world, in `kernels.constants` Q_* order."""
    ag, orc, co = scenario.agents, scenario.oracle, scenario.consensus
    values = {
        K.Q_A_MAX: ag.a_max, K.Q_A_ESCALATE: orc.a_escalate, K.Q_ORACLE_LATENCY: orc.latency,
        K.Q_SLM_LATENCY: ag.slm_latency, K.Q_TAU_GREEN: scenario.grid.tau_green, K.Q_DISTILL: int(ag.distill),
        K.Q_ORDER_PREFIX: int(scenario.layout.order == "prefix"),
        K.Q_K_AHEAD: co.k_ahead, K.Q_W_ORACLE: co.w_oracle, K.Q_LEARN_ORACLE: int(co.learn == "oracle"),
        K.Q_AUDIT: AUDIT_MODES[co.audit], K.Q_TAU_AUDIT_FX: round(co.tau_audit * K.FX_SCALE),
        K.Q_NLL_ORACLE: int(co.nll_source == "oracle"),
    }
    out = np.zeros(K.N_PARAMS_I, np.int32)
    for index, value in values.items():
        out[index] = value
    return out


def world_params(scenarios) -> tuple[np.ndarray, np.ndarray]:
    """Stack the parameters of each world's scenario → (params_f (W, P_f) f32, params_i (W, P_i) i32)."""
    return (np.stack([float_params(s) for s in scenarios]), np.stack([int_params(s) for s in scenarios]))
