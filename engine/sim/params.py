"""Scenario → the per-world parameter arrays the kernels read (pre-rounded to float32 on the host, DESIGN §7)."""
import math

import numpy as np

from kernels import constants as K


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
    }
    out = np.zeros(K.N_PARAMS_F, np.float32)
    for index, value in values.items():
        out[index] = np.float32(value)
    return out


def int_params(scenario) -> np.ndarray:
    """The integer knobs of one world, in `kernels.constants` Q_* order."""
    ag, orc = scenario.agents, scenario.oracle
    values = {
        K.Q_A_MAX: ag.a_max, K.Q_A_ESCALATE: orc.a_escalate, K.Q_ORACLE_LATENCY: orc.latency,
        K.Q_SLM_LATENCY: ag.slm_latency, K.Q_TAU_GREEN: scenario.grid.tau_green, K.Q_DISTILL: int(ag.distill),
        K.Q_ORDER_PREFIX: int(scenario.layout.order == "prefix"),
    }
    out = np.zeros(K.N_PARAMS_I, np.int32)
    for index, value in values.items():
        out[index] = value
    return out


def world_params(scenarios) -> tuple[np.ndarray, np.ndarray]:
    """Stack the parameters of each world's scenario → (params_f (W, P_f) f32, params_i (W, P_i) i32)."""
    return (np.stack([float_params(s) for s in scenarios]), np.stack([int_params(s) for s in scenarios]))
