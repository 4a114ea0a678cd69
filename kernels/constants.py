"""Constants shared, bit for bit, by the Taichi kernels and the NumPy reference.

Pure Python (no Taichi import), so `engine.sim.reference` can use the very same numbers. Every float is pre-rounded to
float32 here, once, so the kernel literal and the reference `np.float32` are the same value by construction.
"""
import numpy as np


def f32(x: float) -> float:
    """Round a Python float to the nearest float32 and return it as a Python float."""
    return float(np.float32(x))


# Agent states (DESIGN §2.3): the paper's five plus Dead.
IDLE, WORKING, WAITING, SUCCESS, FAILURE, DEAD = 0, 1, 2, 3, 4, 5
STATE_NAMES = ("idle", "working", "waiting", "success", "failure", "dead")

# Fixed-point scale for deterministic float sums (i64 atomics): 2^16.
FX_SCALE = f32(65536.0)
RELIABILITY_BINS = 15
CONF_CLIP_LO = f32(1e-6)
CONF_CLIP_HI = f32(1.0 - 1e-6)

# --- per-zone statistics, recomputed every tick: column index in zone_stats (W, Z, N_ZONE_STATS) i64
Z_RESOLVED = 0        # attempts resolved (Working → proposal)
Z_CORRECT = 1         # resolved attempts whose proposal was right
Z_ESCALATED = 2       # escalations to the oracle (= oracle calls)
Z_ESCALATED_WRONG = 3 # escalations whose own proposal would have been wrong
Z_ORACLE_ANSWERS = 4
Z_ORACLE_WRONG = 5
Z_COMMIT_SUCCESS = 6  # verified correct commits (successful attempts)
Z_COMMIT_FAILURE = 7  # verified wrong commits
Z_ADOPTED = 8
Z_STARTED = 9         # Idle/Failure → Working
Z_NLL_FX = 10         # Σ NLL over resolved attempts, fixed point
Z_BRIER_FX = 11
Z_PHAT_FX = 12
Z_N_IDLE = 13         # current state counts of live agents with a task (13..17), dead with a task (18)
Z_N_WORKING = 14
Z_N_WAITING = 15
Z_N_SUCCESS = 16
Z_N_FAILURE = 17
Z_N_DEAD = 18
Z_COMPETENCE_FX = 19  # Σ competence of live agents with a task (after act and compose), fixed point
Z_OPEN_TILES = 20     # task tiles not yet complete and not waiting for their predecessor (order = prefix)
Z_COMPLETED_NOW = 21  # moves composed this tick
Z_COMPLETABLE = 22    # open task tiles that still have ≥ τ_green live agents
N_ZONE_STATS = 23
ZONE_STAT_NAMES = (
    "resolved", "correct", "escalated", "escalated_wrong", "oracle_answers", "oracle_wrong", "commit_success",
    "commit_failure", "adopted", "started", "nll_fx", "brier_fx", "phat_fx", "n_idle", "n_working", "n_waiting",
    "n_success", "n_failure", "n_dead", "competence_fx", "open_tiles", "completed_now", "completable",
)

# --- per-world statistics: world_stats (W, N_WORLD_STATS) i64
W_MOVES_DONE = 0      # cumulative moves composed
W_PREFIX = 1          # length of the complete prefix
N_WORLD_STATS = 2

# --- per-world float parameters: params_f (W, N_PARAMS_F) f32
P_ETA, P_ETA_ORACLE, P_ETA_NBR, P_ETA_SHARED, P_KAPPA, P_ALPHA, P_P_MIN, P_P_MAX = range(8)
P_B_OVER, P_OMEGA, P_SIGMA_CONF, P_ORACLE_OK, P_Z_ESCALATE = range(8, 13)
P_Z_COMMIT, P_RED_FLAG = range(13, 15)  # consensus: logit(τ_commit) (−inf at 0), red-flag probability
N_PARAMS_F = 15
# --- per-world int parameters: params_i (W, N_PARAMS_I) i32
Q_A_MAX, Q_A_ESCALATE, Q_ORACLE_LATENCY, Q_SLM_LATENCY, Q_TAU_GREEN, Q_DISTILL, Q_ORDER_PREFIX = range(7)
# consensus: k_ahead, w_oracle, learn = oracle (0/1), AUDIT_*, round(τ_audit·2¹⁶), nll_source = oracle (0/1)
Q_K_AHEAD, Q_W_ORACLE, Q_LEARN_ORACLE, Q_AUDIT, Q_TAU_AUDIT_FX, Q_NLL_ORACLE = range(7, 13)
N_PARAMS_I = 13
# --- per-world, per-tick host inputs: world_ctl (W, N_CTL) i32
C_RUNNING, C_STAGE, C_ORACLE_AVAILABLE, C_ORACLE_UP = range(4)
N_CTL = 4

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
# per-zone vote statistics, recomputed every tick: vote_stats (W, Z, N_VOTE_STATS) i64
V_VOTES = 0           # attempts that committed a vote (p̂ ≥ τ_commit)
V_ABSTAINED = 1       # attempts below τ_commit: Failure, no vote
V_RED_FLAGGED = 2     # wrong proposals discarded by the red flag
V_AUDITS = 3          # decisions checked by one oracle call (audit = confidence | contested)
V_AUDIT_REJECTED = 4  # audits that rejected the decision (votes zeroed, tile stays open)
V_COMPOSED_WRONG = 5  # moves composed this tick with a wrong answer
V_DECISION_VOTES = 6  # counted votes (Σ V) of the decisions composed this tick
V_AGREE = 7           # votes agreeing with their tile's leader after the tally (what managers see)
V_NLL_SEEN_FX = 8     # Σ NLL against the observable label (leader agreement or oracle answer), fixed point
V_NLL_SEEN_N = 9      # attempts (nll_source = leader) or oracle answers (= oracle) in V_NLL_SEEN_FX
V_VOTES_RIGHT = 10    # votes whose answer is right: the simulator's measurement of per-vote accuracy (the built-in
#                       managers never read it: they use V_AGREE)
N_VOTE_STATS = 11
VOTE_STAT_NAMES = ("votes", "abstained", "red_flagged", "audits", "audit_rejected", "composed_wrong",
                   "decision_votes", "agree", "nll_seen_fx", "nll_seen_n", "votes_right")
AUDIT_OFF, AUDIT_CONFIDENCE, AUDIT_CONTESTED = 0, 1, 2
DRAW_RED_FLAG, DRAW_ORACLE_PAIR, DRAW_AUDIT = 5, 6, 7
