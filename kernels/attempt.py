"""An agent's attempt, shared by both feedback modes (DESIGN §2.4): effective skill, p(correct), a wrong proposal."""
import taichi as ti

from kernels import constants as K
from kernels.constants import RELIABILITY_BINS
from kernels.records import BIN
from kernels.mathf import agent_key, inverse_normal, log_f32, logit, sigmoid, to_fixed, uniform


@ti.func
def effective_skill(c: ti.f32, shared: ti.f32) -> ti.f32:
    """Own competence or the shared category skill: e = 1 − (1 − c)(1 − S[q])."""
    return 1.0 - (1.0 - c) * (1.0 - shared)


@ti.func
def correct_probability(e: ti.f32, d: ti.f32, a: ti.i32, kappa: ti.f32, alpha: ti.f32, a_max: ti.i32,
                        p_min: ti.f32, p_max: ti.f32) -> ti.f32:
    """p = clip(e(1 − κd) + α·min(a, a_max), p_min, p_max): skill, difficulty and the pity bonus."""
    p = e * (1.0 - kappa * d) + alpha * ti.cast(ti.min(a, a_max), ti.f32)
    return ti.min(ti.max(p, p_min), p_max)


@ti.func
def wrong_proposal(disk: ti.i32, true_pair: ti.i32, u: ti.f32, n_pegs: ti.template()) -> ti.i32:
    """A wrong move of the same disk: a peg pair drawn uniformly from the others, packed disk·16 + src·4 + dst."""
    n_pairs = n_pegs * (n_pegs - 1)
    j = ti.min(ti.cast(u * ti.cast(n_pairs - 1, ti.f32), ti.i32), n_pairs - 2)
    j += ti.select(j >= true_pair, 1, 0)
    src = j // (n_pegs - 1)
    r = j % (n_pegs - 1)
    dst = r + ti.select(r >= src, 1, 0)
    return disk * 16 + src * 4 + dst


def attempt_batch_type(lanes: int):
    """The struct `resolve_due_attempts` returns for a tile of `lanes` agents (one type per tile size, cached)."""
    if lanes not in _BATCH_TYPES:
        _BATCH_TYPES[lanes] = ti.types.struct(
            count=ti.i32,                                   # attempts resolved this tick in the tile
            lane=ti.types.vector(lanes, ti.i32),            # their lanes (cell order), the first `count` valid
            right=ti.types.vector(lanes, ti.i32),           # per lane of a due agent: 1 if its proposal is right
            proposal=ti.types.vector(lanes, ti.i32),        # per lane of a due agent: the packed proposal
            z=ti.types.vector(lanes, ti.f32),               # per lane of a due agent: the confidence logit
            correct=ti.i64, nll_fx=ti.i64, brier_fx=ti.i64, phat_fx=ti.i64,
            reliability=ti.types.vector(RELIABILITY_BINS * len(BIN), ti.i64))  # bin-major, columns BIN
    return _BATCH_TYPES[lanes]


_BATCH_TYPES: dict = {}


@ti.func
def resolve_due_attempts(dev: ti.template(), w, ty, tx, tick, key, shared, true_move, disk, true_pair,
                         p: ti.template()):
    """Every live Working agent of tile (ty, tx) whose work is due proposes a move and states a confidence p̂
    (DESIGN §2.4 step 3, both feedback modes): its proposal, p̂ and history are written, its calibration counted,
    and what the mode's state transition needs (right, proposal, z) is returned per lane.

    Why a batch: an attempt is one long dependency chain (hashes, then divisions, logs and an exp), and the agent
    loop around it branches on every agent's state, so the CPU used to run one chain at a time. Here the due
    agents are listed first and their math runs in a loop without data-dependent branches, so consecutive
    agents' chains overlap (issue 15: ~2/3 of the tick's time was this math). The state transitions stay in cell
    order, in the caller. Every value is computed exactly as before, so results are bit for bit unchanged."""
    G, t, P = ti.static(dev.G, dev.t, dev.P)
    TT = ti.static(t * t)
    batch = dev.AttemptBatch(0)
    for lane in range(TT):
        n = (ty * t + lane // t) * G + tx * t + lane % t
        due = dev.alive[w, n] != 0 and dev.state[w, n] == K.WORKING and tick >= dev.due[w, n]
        batch.lane[batch.count] = lane
        batch.count += ti.select(due, 1, 0)
    count = batch.count
    # each phase is a short loop over the due attempts, so the CPU overlaps its iterations
    cell = ti.Vector([0] * TT, dt=ti.i32)
    prob = ti.Vector([0.0] * TT, dt=ti.f32)
    e = ti.Vector([0.0] * TT, dt=ti.f32)
    u_noise = ti.Vector([0.0] * TT, dt=ti.f32)
    for i in range(count):
        lane = batch.lane[i]
        n = (ty * t + lane // t) * G + tx * t + lane % t
        cell[i] = n
        ak = agent_key(key, n)
        e[i] = effective_skill(dev.competence[w, n], shared)
        prob[i] = correct_probability(e[i], dev.difficulty[n], dev.attempts[w, n], p.kappa, p.alpha, p.a_max,
                                      p.p_min, p.p_max)
        right = ti.select(uniform(ak, K.DRAW_CORRECT) < prob[i], 1, 0)
        batch.right[i] = right
        batch.proposal[i] = ti.select(right != 0, true_move,
                                      wrong_proposal(disk, true_pair, uniform(ak, K.DRAW_WRONG_PAIR), P))
        u_noise[i] = uniform(ak, K.DRAW_NOISE)
    z = ti.Vector([0.0] * TT, dt=ti.f32)
    for i in range(count):
        z[i] = logit(prob[i]) + p.b_over * (1.0 - e[i])
    for i in range(count):
        sign = ti.select(batch.right[i] != 0, 1.0, -1.0)
        z[i] = z[i] + p.omega * e[i] * sign + p.sigma_conf * inverse_normal(u_noise[i])
    phat = ti.Vector([0.0] * TT, dt=ti.f32)
    for i in range(count):
        phat[i] = ti.min(ti.max(sigmoid(z[i]), K.CONF_CLIP_LO), K.CONF_CLIP_HI)
    for i in range(count):
        right = batch.right[i]
        yf = ti.cast(right, ti.f32)
        phat_fx = to_fixed(phat[i])
        batch.correct += right
        batch.nll_fx += to_fixed(-log_f32(ti.select(right != 0, phat[i], 1.0 - phat[i])))
        batch.brier_fx += to_fixed((phat[i] - yf) * (phat[i] - yf))
        batch.phat_fx += phat_fx
        b = ti.min(ti.cast(phat[i] * ti.static(float(RELIABILITY_BINS)), ti.i32), RELIABILITY_BINS - 1)
        batch.reliability[b * ti.static(len(BIN)) + BIN.count] += 1
        batch.reliability[b * ti.static(len(BIN)) + BIN.correct] += right
        batch.reliability[b * ti.static(len(BIN)) + BIN.phat_fx] += phat_fx
        n = cell[i]
        dev.history[w, n] = (dev.history[w, n] << 1) | ti.cast(right, ti.u32)
        dev.confidence[w, n] = phat[i]
        dev.proposal[w, n] = batch.proposal[i]
    # hand the results back per lane (the caller walks the tile in cell order)
    right_lane = ti.Vector([0] * TT, dt=ti.i32)
    proposal_lane = ti.Vector([0] * TT, dt=ti.i32)
    z_lane = ti.Vector([0.0] * TT, dt=ti.f32)
    for i in range(count):
        right_lane[batch.lane[i]] = batch.right[i]
        proposal_lane[batch.lane[i]] = batch.proposal[i]
        z_lane[batch.lane[i]] = z[i]
    batch.right = right_lane
    batch.proposal = proposal_lane
    batch.z = z_lane
    return batch
