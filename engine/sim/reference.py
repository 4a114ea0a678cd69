"""NumPy reference of the tick (DESIGN §2.4): the test oracle for `kernels.worlds.WorldsDevice`.

Written for clarity, vectorised over (world, cell). It uses the float32 helpers of `engine.sim.mathref`, which repeat the
kernel's operations in the same order, so on the CPU every field and statistic is bit-identical to the Taichi run.
"""
from types import SimpleNamespace

import numpy as np

from engine.sim import mathref as R
from kernels import constants as K
from kernels.records import BIN, CONTROLS, PARAMS, WORLD, ZONE

F = np.float32
NEIGHBOURS = ((-1, 0), (0, 1), (1, 0), (0, -1))  # N, E, S, W: the order neighbour learning applies them


class ReferenceFrameRing:
    """NumPy ring of recorded frames (same interface as kernels.worlds.FrameRing)."""

    def __init__(self, slots, worlds, cells, with_confidence):
        shape = (slots, len(worlds), cells)
        self.slots, self.with_confidence = slots, with_confidence
        self.world_index = np.asarray(worlds)
        self.state = np.zeros(shape, np.uint8)
        self.competence = np.zeros(shape, np.uint8)
        self.confidence = np.zeros(shape, np.uint8) if with_confidence else None

    def export(self, count):
        """The first `count` slots (state, competence, confidence or None)."""
        conf = self.confidence[:count].copy() if self.with_confidence else None
        return self.state[:count].copy(), self.competence[:count].copy(), conf


class ReferenceWorlds:
    """Same interface as `WorldsDevice`, in plain NumPy."""

    math = R  # float32 twins of the kernel's math; engine.bench.plain_numpy swaps in NumPy's own log/exp

    def __init__(self, n_worlds, size, tile, n_zones, n_pegs, moves, move_of_tile, tile_ring, tile_zone,
                 move_of_cell, difficulty):
        self.W, self.G, self.t, self.L = n_worlds, size, tile, size // tile
        self.N, self.T, self.M = size * size, self.L * self.L, int(moves.shape[0])
        self.Z, self.Q, self.P = n_zones, int(moves[:, 0].max()) + 1, n_pegs
        self.ring = None
        self.move_of_tile = move_of_tile.astype(np.int32)
        self.tile_ring = tile_ring.astype(np.int32)
        self.tile_zone = tile_zone.astype(np.int32)
        self.move_of_cell = move_of_cell.astype(np.int32)
        self.difficulty = difficulty.astype(F)
        m = moves.astype(np.int32)
        self.move_packed = m[:, 0] * 16 + m[:, 1] * 4 + m[:, 2]
        task_tiles = self.move_of_tile >= 0  # every move has exactly one tile (engine.sim.layout)
        self.zone_of_move = np.zeros(self.M, np.int32)
        self.zone_of_move[self.move_of_tile[task_tiles]] = self.tile_zone[task_tiles]
        i, j = np.divmod(np.arange(self.N), size)
        self.tile_of_cell = ((i // tile) * self.L + j // tile).astype(np.int32)

    def reset(self, seeds, params, alive0, c0, s0):
        """Start every world afresh (`params`: the (W,) structured array of `engine.sim.params.world_params`)."""
        W, N, M = self.W, self.N, self.M
        self.seed = np.asarray(seeds, dtype=np.uint32)
        params = np.asarray(params, dtype=PARAMS.numpy_dtype())
        # each parameter by name as a (W, 1) column that broadcasts over cells: p.eta, as the kernel reads it
        self.p = SimpleNamespace(**{name: params[name][:, None].copy() for name in PARAMS.names})
        self.alive = np.asarray(alive0, dtype=np.uint8).reshape(W, N).copy()
        self.state = np.where(self.alive == 1, K.IDLE, K.DEAD).astype(np.uint8)
        self.competence = np.asarray(c0, dtype=F).reshape(W, N).copy()
        self.skill = np.asarray(s0, dtype=F).reshape(W, self.Q).copy()
        self.attempts = np.zeros((W, N), np.int32)
        self.proposal = np.full((W, N), -1, np.int32)
        self.confidence = np.zeros((W, N), F)
        self.history = np.zeros((W, N), np.uint32)
        self.due = np.zeros((W, N), np.int32)
        self.turned = np.zeros((W, N), np.uint8)
        self.complete_tick = np.full((W, M), -1, np.int32)
        self.composed = np.full((W, M), -1, np.int32)
        self.world_stats = np.zeros((W, len(WORLD)), np.int64)
        self.zone_stats = np.zeros((W, self.Z, len(ZONE)), np.int64)
        self.reliability = np.zeros((W, K.RELIABILITY_BINS, len(BIN)), np.int64)
        self.kq = np.zeros((W, self.Q), np.int32)

    def set_controls(self, ctl, zone_active):
        """Take this tick's host decisions."""
        self.ctl = np.asarray(ctl, dtype=np.int32).copy()
        self.zone_active = np.asarray(zone_active, dtype=np.uint8).copy()

    def kill(self, dead):
        """Kill agents (fault injection)."""
        dead = np.asarray(dead, dtype=bool).reshape(self.W, self.N)
        self.alive[dead] = 0
        self.state[dead] = K.DEAD

    def stats(self) -> dict:
        """This tick's statistics (copies)."""
        return {"zone_stats": self.zone_stats.copy(), "world_totals": self.zone_stats.sum(axis=1),
                "world_stats": self.world_stats.copy(),
                "reliability": self.reliability.copy(), "kq": self.kq.copy(), "skill": self.skill.copy()}

    def moves_table(self):
        """(complete_tick, composed), both (W, M)."""
        return self.complete_tick.copy(), self.composed.copy()

    def alive_mask(self):
        """(W, N) bool: which agents are alive now."""
        return self.alive.astype(bool)

    def snapshot(self) -> dict:
        """Every per-agent field."""
        names = ("state", "competence", "attempts", "proposal", "confidence", "history", "due", "alive")
        return {n: getattr(self, n).copy() for n in names}

    def make_frame_ring(self, slots, worlds, confidence):
        """A ring of `slots` frames of the recorded `worlds`."""
        self.ring = ReferenceFrameRing(slots, worlds, self.N, confidence)
        return self.ring

    def capture(self, slot):
        """Copy the recorded worlds into ring slot `slot` (competence quantised as round(255·c))."""
        ring = self.ring
        quantise = lambda x: np.floor(x[ring.world_index] * F(255.0) + F(0.5)).astype(np.uint8)  # noqa: E731
        ring.state[slot] = self.state[ring.world_index]
        ring.competence[slot] = quantise(self.competence)
        if ring.with_confidence:
            ring.confidence[slot] = quantise(self.confidence)

    def step(self, tick: int, frame_slot: int = -1):
        """Advance every running world by one tick (and record a frame into `frame_slot` when ≥ 0)."""
        self._advance(tick)
        if frame_slot >= 0:
            self.capture(frame_slot)

    def _advance(self, tick: int):
        """The tick itself (DESIGN §2.4), in the phases of `kernels.worlds` (same names), each vectorised over
        (world, cell): every agent's action is decided from the state at the start of the tick."""
        self.zone_stats[:] = 0
        self.reliability[:] = 0
        self.kq[:] = 0
        self.turned[:] = 0
        x = self._tile_tasks(tick)
        x.state = self.state.astype(np.int32)  # the next state, written by the phases
        x.c, x.a = self.competence, self.attempts
        self.answer_oracle(x, tick)
        self.start_attempt(x, tick)
        self.resolve_attempt(x, tick)
        self.compose_tile(x, tick)
        self.adopt(x)
        self.measure_tile(x)
        self.state = x.state.astype(np.uint8)
        self.attempts = x.a
        self.turned = x.turned.astype(np.uint8)
        self.competence = self.learn_from_neighbours(x.c, x.running)
        self.learn_shared_skill(x.running)
        self.advance_prefix(x.running)

    def _tile_tasks(self, tick) -> SimpleNamespace:
        """Which tiles are open this tick, each cell's true move, the agents that act, their random keys."""
        W, N, P, p, ctl = self.W, self.N, self.P, self.p, self.ctl
        x = SimpleNamespace(running=ctl[:, CONTROLS.running] != 0)
        tile_move = self.move_of_tile
        has_task_t = tile_move >= 0
        tile_k = np.maximum(tile_move, 0)
        x.complete_t = (self.complete_tick[:, tile_k] >= 0) & has_task_t
        unlocked_t = self.tile_ring[None, :] <= ctl[:, CONTROLS.stage][:, None]
        x.gated_t = (p.order_prefix != 0) & (tile_move[None, :] > self.world_stats[:, WORLD.prefix][:, None])
        x.open_t = x.running[:, None] & has_task_t & unlocked_t & ~x.complete_t & ~x.gated_t
        x.task_t = x.running[:, None] & has_task_t  # tiles that are measured
        tc = self.tile_of_cell
        x.zone_c = self.tile_zone[tc]
        x.true_c = self.move_packed[np.maximum(self.move_of_cell, 0)]
        x.disk_c = x.true_c >> 4
        src_c, dst_c = (x.true_c >> 2) & 3, x.true_c & 3
        x.true_pair_c = src_c * (P - 1) + dst_c - (dst_c > src_c)
        x.acting = x.open_t[:, tc] & (self.alive != 0)
        x.wid = np.arange(W)[:, None]
        x.active = self.zone_active[x.wid, x.zone_c] != 0
        key = self.math.tick_key(self.seed, tick)
        x.ak = self.math.agent_key(key[:, None], np.arange(N, dtype=np.uint32)[None, :])
        x.st = self.state.astype(np.int32)  # the state at the start of the tick: what every agent acts on
        return x

    def answer_oracle(self, x, tick):
        """WaitingOracle and due: right with probability 1 − error → Success with the true move, c += η_oracle(1 − c);
        else Failure, a += 1."""
        p = self.p
        x.answer = x.acting & (x.st == K.WAITING) & (tick >= self.due) \
            & (self.ctl[:, CONTROLS.oracle_up] != 0)[:, None]
        oracle_ok = self.math.uniform(x.ak, K.DRAW_ORACLE) < p.oracle_ok
        x.o_good, x.o_bad = x.answer & oracle_ok, x.answer & ~oracle_ok
        x.state[x.o_good] = K.SUCCESS
        x.state[x.o_bad] = K.FAILURE
        x.c = np.where(x.o_good, x.c + p.eta_oracle * (F(1.0) - x.c), x.c)
        x.a = np.where(x.o_bad, x.a + 1, x.a).astype(np.int32)
        self.proposal = np.where(x.o_good, x.true_c[None, :], self.proposal)

    def start_attempt(self, x, tick):
        """Idle or Failure in an active zone: Working, due after the SLM latency."""
        x.start = x.acting & ((x.st == K.IDLE) | (x.st == K.FAILURE)) & x.active
        x.state[x.start] = K.WORKING
        self.due = np.where(x.start, tick + self.p.slm_latency, self.due).astype(np.int32)

    def resolve_attempt(self, x, tick):
        """Working and due: propose (right with probability p), state a confidence p̂, count its calibration, then
        escalate (p̂ low, enough failures, oracle available) or commit (verified: Success or Failure)."""
        p, m = self.p, self.math
        c, a = x.c, x.a
        x.resolve = resolve = x.acting & (x.st == K.WORKING) & (tick >= self.due)
        shared = self.skill[x.wid, x.disk_c]
        e = F(1.0) - (F(1.0) - c) * (F(1.0) - shared)
        prob = e * (F(1.0) - p.kappa * self.difficulty[None, :]) + p.alpha * np.minimum(a, p.a_max).astype(F)
        prob = np.minimum(np.maximum(prob, p.p_min), p.p_max)
        x.right = right = m.uniform(x.ak, K.DRAW_CORRECT) < prob
        wrong = self._wrong_proposal(x.disk_c, x.true_pair_c, m.uniform(x.ak, K.DRAW_WRONG_PAIR))
        proposal = np.where(right, x.true_c[None, :], wrong)
        eps = m.inverse_normal(m.uniform(x.ak, K.DRAW_NOISE))
        sign = np.where(right, F(1.0), F(-1.0))
        z = m.logit(prob) + p.b_over * (F(1.0) - e) + p.omega * e * sign + p.sigma_conf * eps
        x.phat = phat = np.minimum(np.maximum(m.sigmoid(z), F(K.CONF_CLIP_LO)), F(K.CONF_CLIP_HI))
        x.y = y = right.astype(np.int32)
        x.nll = np.where(right, -m.log_f32(phat), -m.log_f32(F(1.0) - phat))
        yf = y.astype(F)
        x.brier = (phat - yf) * (phat - yf)
        x.escalate = resolve & (z < p.z_escalate) & (a >= p.a_escalate) \
            & (self.ctl[:, CONTROLS.oracle_available] != 0)[:, None]
        x.commit_ok = resolve & ~x.escalate & right
        x.commit_bad = resolve & ~x.escalate & ~right
        x.state[x.commit_ok] = K.SUCCESS
        x.state[x.commit_bad] = K.FAILURE
        x.state[x.escalate] = K.WAITING
        self.due = np.where(x.escalate, tick + p.oracle_latency, self.due).astype(np.int32)
        x.c = np.where(x.commit_ok, c + p.eta * (F(1.0) - c), c)
        x.a = np.where(x.commit_bad, a + 1, a).astype(np.int32)
        self.proposal = np.where(resolve, proposal, self.proposal).astype(np.int32)
        self.confidence = np.where(resolve, phat, self.confidence)
        self.history = np.where(resolve, (self.history << np.uint32(1)) | y.astype(np.uint32), self.history)
        x.turned = x.o_good | x.commit_ok

    def compose_tile(self, x, tick):
        """τ_green agreeing Success agents complete the tile's move: record it and its tick."""
        agree_c = (x.state == K.SUCCESS) & (self.proposal == x.true_c[None, :])
        x.completes_t = x.open_t & (self._per_tile(agree_c) >= self.p.tau_green)
        w_idx, t_idx = np.nonzero(x.completes_t)
        moves = self.move_of_tile[t_idx]
        self.complete_tick[w_idx, moves] = tick
        self.composed[w_idx, moves] = self.move_packed[moves]
        self.world_stats[:, WORLD.moves_done] += x.completes_t.sum(axis=1)

    def adopt(self, x):
        """The tile's other live agents adopt the composed move: Success, c += η(1 − c)."""
        x.adopt = x.completes_t[:, self.tile_of_cell] & (self.alive != 0) & (x.state != K.SUCCESS)
        x.state[x.adopt] = K.SUCCESS
        self.proposal = np.where(x.adopt, x.true_c[None, :], self.proposal)
        x.c = np.where(x.adopt, x.c + self.p.eta * (F(1.0) - x.c), x.c)
        x.turned |= x.adopt
        x.complete_t = x.complete_t | x.completes_t

    def measure_tile(self, x):
        """Per zone: what happened this tick and the agents' current states; reliability bins; k_q."""
        W, T, m, zone_c = self.W, self.T, self.math, x.zone_c
        measured = x.task_t[:, self.tile_of_cell]
        events = {
            "resolved": x.resolve, "correct": x.resolve & x.right, "escalated": x.escalate,
            "escalated_wrong": x.escalate & ~x.right, "oracle_answers": x.answer, "oracle_wrong": x.o_bad,
            "commit_success": x.commit_ok, "commit_failure": x.commit_bad, "adopted": x.adopt, "started": x.start,
            "active": x.acting,
        }
        for name, mask in events.items():
            self.zone_stats[:, :, getattr(ZONE, name)] = self._per_zone(mask.astype(np.int64), zone_c)
        for name, values in (("nll_fx", x.nll), ("brier_fx", x.brier), ("phat_fx", x.phat)):
            self.zone_stats[:, :, getattr(ZONE, name)] = self._per_zone(np.where(x.resolve, m.to_fixed(values), 0),
                                                                        zone_c)
        for code, name in enumerate(K.STATE_NAMES):
            self.zone_stats[:, :, getattr(ZONE, f"n_{name}")] = self._per_zone(
                (measured & (x.state == code)).astype(np.int64), zone_c)
        live = measured & (x.state != K.DEAD)
        self.zone_stats[:, :, ZONE.competence_fx] = self._per_zone(np.where(live, m.to_fixed(x.c), 0), zone_c)
        live_t = self._per_tile(live)
        open_left_t = x.task_t & ~x.complete_t
        tz = np.broadcast_to(self.tile_zone, (W, T))
        self.zone_stats[:, :, ZONE.open_tiles] = self._per_zone((open_left_t & ~x.gated_t).astype(np.int64), tz)
        self.zone_stats[:, :, ZONE.completable] = self._per_zone(
            (open_left_t & (live_t >= self.p.tau_green)).astype(np.int64), tz)
        self.zone_stats[:, :, ZONE.completed_now] = self._per_zone(x.completes_t.astype(np.int64), tz)

        bins = np.minimum((x.phat * F(K.RELIABILITY_BINS)).astype(np.int32), K.RELIABILITY_BINS - 1)
        flat = (x.wid * K.RELIABILITY_BINS + bins)[x.resolve]
        size = W * K.RELIABILITY_BINS
        self.reliability[:, :, BIN.count] = np.bincount(flat, minlength=size).reshape(W, -1)
        self.reliability[:, :, BIN.correct] = np.bincount(flat, weights=x.y[x.resolve], minlength=size).reshape(W, -1)
        self.reliability[:, :, BIN.phat_fx] = np.bincount(flat, weights=m.to_fixed(x.phat)[x.resolve],
                                                          minlength=size).reshape(W, -1)

        teach = x.commit_ok | ((self.p.distill != 0) & (x.o_good | x.adopt))
        kflat = (x.wid * self.Q + x.disk_c[None, :])[teach]
        self.kq[:] = np.bincount(kflat, minlength=W * self.Q).reshape(W, self.Q)

    # ---- helpers
    def _wrong_proposal(self, disk, true_pair, u):
        """A wrong move of the same disk (same rule as `kernels.attempt.wrong_proposal`)."""
        P = self.P
        n_pairs = P * (P - 1)
        j = np.minimum((u * F(n_pairs - 1)).astype(np.int32), n_pairs - 2)
        j = np.where(j >= true_pair[None, :], j + 1, j)
        src, r = j // (P - 1), j % (P - 1)
        dst = r + (r >= src)
        return (disk[None, :] * 16 + src * 4 + dst).astype(np.int32)

    def _per_tile(self, cell_values):
        """Sum a (W, N) array over the cells of each tile → (W, T)."""
        flat = (np.arange(self.W)[:, None] * self.T + self.tile_of_cell[None, :]).ravel()
        return np.bincount(flat, weights=cell_values.ravel(), minlength=self.W * self.T).reshape(self.W, self.T).astype(np.int64)

    def _per_zone(self, values, zone):
        """Sum a (W, X) int64 array by zone id (X cells or tiles; zone −1 dropped) → (W, Z)."""
        zone = np.broadcast_to(zone, values.shape)
        keep = zone >= 0
        flat = (np.arange(self.W)[:, None] * self.Z + zone)[keep]
        out = np.zeros(self.W * self.Z, np.int64)
        np.add.at(out, flat, values[keep].astype(np.int64))
        return out.reshape(self.W, self.Z)

    def learn_from_neighbours(self, c, running):
        """c_j += η_nbr·max(0, c_i − c_j) for each neighbour i that turned Success, in the order N, E, S, W."""
        W, G = self.W, self.G
        c2 = c.reshape(W, G, G)
        turned = self.turned.reshape(W, G, G).astype(F)
        learner = (running[:, None] & (self.alive != 0) & (self.move_of_cell >= 0)[None, :]).reshape(W, G, G)
        eta = self.p.eta_nbr[:, :, None]
        idx = np.arange(G)
        out = c2.copy()
        for di, dj in NEIGHBOURS:
            ii, jj = idx + di, idx + dj
            inside = ((ii >= 0) & (ii < G))[:, None] & ((jj >= 0) & (jj < G))[None, :]
            ic, jc = np.clip(ii, 0, G - 1), np.clip(jj, 0, G - 1)
            gate = turned[:, ic][:, :, jc] * inside.astype(F)
            out = out + eta * (gate * np.maximum(F(0.0), c2[:, ic][:, :, jc] - out))
        return np.where(learner, out, c2).reshape(W, -1)

    def learn_shared_skill(self, running):
        """S ← 1 − (1 − S)(1 − η_shared)^k_q, the power by squaring as in the kernel."""
        base = np.broadcast_to(F(1.0) - self.p.eta_shared, self.skill.shape).copy()
        power = np.ones_like(self.skill)
        kk = self.kq.astype(np.int64)
        while np.any(kk > 0):
            odd = (kk & 1) == 1
            power = np.where(odd, power * base, power)
            base = base * base
            kk = kk >> 1
        new = F(1.0) - (F(1.0) - self.skill) * power
        self.skill = np.where(running[:, None], new, self.skill)

    def advance_prefix(self, running):
        """Extend each running world's complete prefix; in prefix order the move it now reaches is no longer gated,
        so its zone counts it as open this tick already (as kernels.worlds.advance_prefix)."""
        for w in np.nonzero(running)[0]:
            before = p = int(self.world_stats[w, WORLD.prefix])
            while p < self.M and self.complete_tick[w, p] >= 0:
                p += 1
            self.world_stats[w, WORLD.prefix] = p
            if int(self.p.order_prefix[w, 0]) != 0 and before < p < self.M:  # measured gated: k > the old prefix
                self.zone_stats[w, self.zone_of_move[p], ZONE.open_tiles] += 1
