"""Constants shared, bit for bit, by the Taichi kernels and the NumPy reference.

Pure Python (no Taichi import), so `engine.sim.reference` can use the very same numbers. Every float is pre-rounded
to float32 here, once, so the kernel literal and the reference `np.float32` are the same value by construction.
Named parameters and statistics are declared in `kernels.records`.
"""
import numpy as np


def f32(x: float) -> float:
    """Round a Python float to the nearest float32 and return it as a Python float."""
    return float(np.float32(x))


# Agent states (DESIGN §2.3): the paper's five plus Dead.
# The u8 code of a state is its index here; replay.schema.STATE_NAMES is the episode format's copy (equal: tested).
STATE_NAMES = ("idle", "working", "waiting", "success", "failure", "dead")
IDLE, WORKING, WAITING, SUCCESS, FAILURE, DEAD = range(len(STATE_NAMES))

# Fixed-point scale for deterministic float sums (i64 atomics): 2^16.
FX_SCALE = f32(65536.0)
RELIABILITY_BINS = 15
CONF_CLIP_LO = f32(1e-6)
CONF_CLIP_HI = f32(1.0 - 1e-6)

# --- RNG (counter-based lowbias32 chain; DESIGN §7)
GOLDEN = 0x9E3779B9
DRAW_SALT = 0x85EBCA6B
WORLD_SALT = 0xA511E9B3
DRAW_CORRECT, DRAW_WRONG_PAIR, DRAW_NOISE, DRAW_ORACLE = 1, 2, 3, 4
U_SCALE = f32(2.0 ** -23)

# --- transcendental helpers built from + − × ÷ sqrt (identical in kernel and reference)
LN2 = f32(0.6931471805599453)
LN2_HI = f32(0.693145751953125)       # few mantissa bits: k·LN2_HI is exact for |k| < 256
LN2_LO = f32(1.428606765330187e-06)
INV_LN2 = f32(1.4426950408889634)
SQRT2 = f32(1.4142135623730951)
EXP_LO, EXP_HI = f32(-87.0), f32(88.0)
LOG_C = tuple(f32(2.0 / k) for k in (9, 7, 5, 3, 1))   # atanh series of log(m), Horner order
EXP_C = tuple(f32(1.0 / f) for f in (5040, 720, 120, 24, 6, 2, 1, 1))
# Acklam's inverse normal CDF (rel. error 1.15e-9 in exact arithmetic; ample in float32)
ACK_A = tuple(f32(v) for v in (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                               1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00))
ACK_B = tuple(f32(v) for v in (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                               6.680131188771972e+01, -1.328068155288572e+01))
ACK_C = tuple(f32(v) for v in (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                               -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00))
ACK_D = tuple(f32(v) for v in (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00))
ACK_PLOW = f32(0.02425)
ACK_PHIGH = f32(1.0 - 0.02425)

# --- consensus mode (DESIGN §2.8): compiled in only when a batch's feedback is "consensus", so verified mode's
# kernel and statistics are unchanged. Answers are peg pairs j = src·(P − 1) + dst − (dst > src), P(P − 1) of them.
# Per-zone vote statistics and the consensus parameters are declared in kernels.records (VOTE, PARAMS).
AUDIT_OFF, AUDIT_CONFIDENCE, AUDIT_CONTESTED = 0, 1, 2
DRAW_RED_FLAG, DRAW_ORACLE_PAIR, DRAW_AUDIT = 5, 6, 7
