"""NumPy reference of the tick (DESIGN §2.4): the test oracle for `kernels.worlds.WorldsDevice`.

Written for clarity, vectorised over (world, cell). It uses the float32 helpers of `engine.sim.mathref`, which repeat the
kernel's operations in the same order, so on the CPU every field and statistic is bit-identical to the Taichi run.
"""
import numpy as np

from engine.sim import mathref as R
from kernels import constants as K

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
        i, j = np.divmod(np.arange(self.N), size)
        self.tile_of_cell = ((i // tile) * self.L + j // tile).astype(np.int32)

    def reset(self, seeds, params_f, params_i, alive0, c0, s0):
        """Start every world afresh."""
        W, N, M = self.W, self.N, self.M
        self.seed = np.asarray(seeds, dtype=np.uint32)
        self.params_f = np.asarray(params_f, dtype=F)
        self.params_i = np.asarray(params_i, dtype=np.int32)
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
        self.world_stats = np.zeros((W, K.N_WORLD_STATS), np.int64)
        self.zone_stats = np.zeros((W, self.Z, K.N_ZONE_STATS), np.int64)
        self.reliability = np.zeros((W, K.RELIABILITY_BINS, 3), np.int64)
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

    def _world(self, column, params):
        """One per-world parameter as a (W, 1) column that broadcasts over cells."""
        return params[:, column][:, None]

    def step(self, tick: int, frame_slot: int = -1):
        """Advance every running world by one tick (and record a frame into `frame_slot` when ≥ 0)."""
        self._advance(tick)
        if frame_slot >= 0:
            self.capture(frame_slot)

    def _advance(self, tick: int):
        """The tick itself (DESIGN §2.4)."""
        W, N, T, P = self.W, self.N, self.T, self.P
        pf, pi, ctl = self.params_f, self.params_i, self.ctl
        fw = lambda col: self._world(col, pf)  # noqa: E731  (a (W, 1) float parameter)
        iw = lambda col: self._world(col, pi)  # noqa: E731
        self.zone_stats[:] = 0
        self.reliability[:] = 0
        self.kq[:] = 0
        self.turned[:] = 0
        running = ctl[:, K.C_RUNNING] != 0

        # tile-level conditions, then broadcast to cells
        tile_move = self.move_of_tile
        has_task_t = tile_move >= 0
        tile_k = np.maximum(tile_move, 0)
        complete_t = (self.complete_tick[:, tile_k] >= 0) & has_task_t
        unlocked_t = self.tile_ring[None, :] <= ctl[:, K.C_STAGE][:, None]
        gated_t = (pi[:, K.Q_ORDER_PREFIX][:, None] != 0) & (tile_move[None, :] > self.world_stats[:, K.W_PREFIX][:, None])
        open_t = running[:, None] & has_task_t & unlocked_t & ~complete_t & ~gated_t
        task_t = running[:, None] & has_task_t  # tiles that are measured
        tc = self.tile_of_cell
        zone_c = self.tile_zone[tc]
        true_c = self.move_packed[np.maximum(self.move_of_cell, 0)]
        disk_c = true_c >> 4
        src_c, dst_c = (true_c >> 2) & 3, true_c & 3
        true_pair_c = src_c * (P - 1) + dst_c - (dst_c > src_c)

        st = self.state.astype(np.int32)
        c = self.competence
        a = self.attempts
        acting = open_t[:, tc] & (self.alive != 0)
        wid = np.arange(W)[:, None]
        active = self.zone_active[wid, zone_c] != 0
        key = self.math.tick_key(self.seed, tick)
        ak = self.math.agent_key(key[:, None], np.arange(N, dtype=np.uint32)[None, :])

        # WaitingOracle: the answer arrives
        answer = acting & (st == K.WAITING) & (tick >= self.due) & (ctl[:, K.C_ORACLE_UP] != 0)[:, None]
        oracle_ok = self.math.uniform(ak, K.DRAW_ORACLE) < fw(K.P_ORACLE_OK)
        o_good, o_bad = answer & oracle_ok, answer & ~oracle_ok
        # Idle/Failure in an active zone: start an attempt
        start = acting & ((st == K.IDLE) | (st == K.FAILURE)) & active
        # Working and due: resolve the attempt
        resolve = acting & (st == K.WORKING) & (tick >= self.due)
        shared = self.skill[wid, disk_c]
        e = F(1.0) - (F(1.0) - c) * (F(1.0) - shared)
        p = e * (F(1.0) - fw(K.P_KAPPA) * self.difficulty[None, :]) + fw(K.P_ALPHA) * np.minimum(a, iw(K.Q_A_MAX)).astype(F)
        p = np.minimum(np.maximum(p, fw(K.P_P_MIN)), fw(K.P_P_MAX))
        right = self.math.uniform(ak, K.DRAW_CORRECT) < p
        wrong = self._wrong_proposal(disk_c, true_pair_c, self.math.uniform(ak, K.DRAW_WRONG_PAIR))
        proposal = np.where(right, true_c[None, :], wrong)
        eps = self.math.inverse_normal(self.math.uniform(ak, K.DRAW_NOISE))
        sign = np.where(right, F(1.0), F(-1.0))
        z = self.math.logit(p) + fw(K.P_B_OVER) * (F(1.0) - e) + fw(K.P_OMEGA) * e * sign + fw(K.P_SIGMA_CONF) * eps
        phat = np.minimum(np.maximum(self.math.sigmoid(z), F(K.CONF_CLIP_LO)), F(K.CONF_CLIP_HI))
        y = right.astype(np.int32)
        nll = np.where(right, -self.math.log_f32(phat), -self.math.log_f32(F(1.0) - phat))
        yf = y.astype(F)
        brier = (phat - yf) * (phat - yf)
        escalate = resolve & (z < fw(K.P_Z_ESCALATE)) & (a >= iw(K.Q_A_ESCALATE)) & (ctl[:, K.C_ORACLE_AVAILABLE] != 0)[:, None]
        commit_ok = resolve & ~escalate & right
        commit_bad = resolve & ~escalate & ~right

        new_st = st.copy()
        new_st[o_good | commit_ok] = K.SUCCESS
        new_st[o_bad | commit_bad] = K.FAILURE
        new_st[start] = K.WORKING
        new_st[escalate] = K.WAITING
        self.due = np.where(start, tick + iw(K.Q_SLM_LATENCY), self.due)
        self.due = np.where(escalate, tick + iw(K.Q_ORACLE_LATENCY), self.due).astype(np.int32)
        c = np.where(o_good, c + fw(K.P_ETA_ORACLE) * (F(1.0) - c), c)
        c = np.where(commit_ok, c + fw(K.P_ETA) * (F(1.0) - c), c)
        a = np.where(o_bad | commit_bad, a + 1, a).astype(np.int32)
        self.proposal = np.where(o_good, true_c[None, :], self.proposal)
        self.proposal = np.where(resolve, proposal, self.proposal).astype(np.int32)
        self.confidence = np.where(resolve, phat, self.confidence)
        self.history = np.where(resolve, (self.history << np.uint32(1)) | y.astype(np.uint32), self.history)
        turned = o_good | commit_ok

        # compose per tile, then adoption
        agree_c = (new_st == K.SUCCESS) & (self.proposal == true_c[None, :])
        agree_t = self._per_tile(agree_c)
        completes_t = open_t & (agree_t >= pi[:, K.Q_TAU_GREEN][:, None])
        w_idx, t_idx = np.nonzero(completes_t)
        self.complete_tick[w_idx, tile_move[t_idx]] = tick
        self.composed[w_idx, tile_move[t_idx]] = self.move_packed[tile_move[t_idx]]
        self.world_stats[:, K.W_MOVES_DONE] += completes_t.sum(axis=1)
        adopt = completes_t[:, tc] & (self.alive != 0) & (new_st != K.SUCCESS)
        new_st[adopt] = K.SUCCESS
        self.proposal = np.where(adopt, true_c[None, :], self.proposal)
        c = np.where(adopt, c + fw(K.P_ETA) * (F(1.0) - c), c)
        turned |= adopt
        complete_t = complete_t | completes_t

        # measure per zone (cells of measured tiles only)
        measured = task_t[:, tc]
        cols = {
            K.Z_RESOLVED: resolve, K.Z_CORRECT: resolve & right, K.Z_ESCALATED: escalate,
            K.Z_ESCALATED_WRONG: escalate & ~right, K.Z_ORACLE_ANSWERS: answer, K.Z_ORACLE_WRONG: o_bad,
            K.Z_COMMIT_SUCCESS: commit_ok, K.Z_COMMIT_FAILURE: commit_bad, K.Z_ADOPTED: adopt, K.Z_STARTED: start,
        }
        for s, mask in cols.items():
            self.zone_stats[:, :, s] = self._per_zone(mask.astype(np.int64), zone_c)
        for s, values in ((K.Z_NLL_FX, nll), (K.Z_BRIER_FX, brier), (K.Z_PHAT_FX, phat)):
            self.zone_stats[:, :, s] = self._per_zone(np.where(resolve, self.math.to_fixed(values), 0), zone_c)
        for s in range(6):
            self.zone_stats[:, :, K.Z_N_IDLE + s] = self._per_zone((measured & (new_st == s)).astype(np.int64), zone_c)
        live = measured & (new_st != K.DEAD)
        self.zone_stats[:, :, K.Z_COMPETENCE_FX] = self._per_zone(np.where(live, self.math.to_fixed(c), 0), zone_c)
        live_t = self._per_tile(live)
        open_left_t = task_t & ~complete_t
        tz = np.broadcast_to(self.tile_zone, (W, T))
        self.zone_stats[:, :, K.Z_OPEN_TILES] = self._per_zone((open_left_t & ~gated_t).astype(np.int64), tz)
        self.zone_stats[:, :, K.Z_COMPLETABLE] = self._per_zone(
            (open_left_t & (live_t >= pi[:, K.Q_TAU_GREEN][:, None])).astype(np.int64), tz)
        self.zone_stats[:, :, K.Z_COMPLETED_NOW] = self._per_zone(completes_t.astype(np.int64), tz)

        bins = np.minimum((phat * F(K.RELIABILITY_BINS)).astype(np.int32), K.RELIABILITY_BINS - 1)
        flat = (wid * K.RELIABILITY_BINS + bins)[resolve]
        size = W * K.RELIABILITY_BINS
        self.reliability[:, :, 0] = np.bincount(flat, minlength=size).reshape(W, -1)
        self.reliability[:, :, 1] = np.bincount(flat, weights=y[resolve], minlength=size).reshape(W, -1)
        self.reliability[:, :, 2] = np.bincount(flat, weights=self.math.to_fixed(phat)[resolve], minlength=size).reshape(W, -1)

        teach = commit_ok | ((pi[:, K.Q_DISTILL] != 0)[:, None] & (o_good | adopt))
        kflat = (wid * self.Q + disk_c[None, :])[teach]
        self.kq[:] = np.bincount(kflat, minlength=W * self.Q).reshape(W, self.Q)

        self.state = new_st.astype(np.uint8)
        self.attempts = a
        self.turned = turned.astype(np.uint8)
        self.competence = self._learn_from_neighbours(c, running)
        self._update_shared_skill(running)
        self._advance_prefix(running)

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

    def _learn_from_neighbours(self, c, running):
        """c_j += η_nbr·max(0, c_i − c_j) for each neighbour i that turned Success, in the order N, E, S, W."""
        W, G = self.W, self.G
        c2 = c.reshape(W, G, G)
        turned = self.turned.reshape(W, G, G).astype(F)
        learner = (running[:, None] & (self.alive != 0) & (self.move_of_cell >= 0)[None, :]).reshape(W, G, G)
        eta = self.params_f[:, K.P_ETA_NBR][:, None, None]
        idx = np.arange(G)
        out = c2.copy()
        for di, dj in NEIGHBOURS:
            ii, jj = idx + di, idx + dj
            inside = ((ii >= 0) & (ii < G))[:, None] & ((jj >= 0) & (jj < G))[None, :]
            ic, jc = np.clip(ii, 0, G - 1), np.clip(jj, 0, G - 1)
            gate = turned[:, ic][:, :, jc] * inside.astype(F)
            out = out + eta * (gate * np.maximum(F(0.0), c2[:, ic][:, :, jc] - out))
        return np.where(learner, out, c2).reshape(W, -1)

    def _update_shared_skill(self, running):
        """S ← 1 − (1 − S)(1 − η_shared)^k_q, the power by squaring as in the kernel."""
        base = np.broadcast_to(F(1.0) - self.params_f[:, K.P_ETA_SHARED][:, None], self.skill.shape).copy()
        power = np.ones_like(self.skill)
        kk = self.kq.astype(np.int64)
        while np.any(kk > 0):
            odd = (kk & 1) == 1
            power = np.where(odd, power * base, power)
            base = base * base
            kk = kk >> 1
        new = F(1.0) - (F(1.0) - self.skill) * power
        self.skill = np.where(running[:, None], new, self.skill)

    def _advance_prefix(self, running):
        """Extend each running world's complete prefix."""
        for w in np.nonzero(running)[0]:
            p = int(self.world_stats[w, K.W_PREFIX])
            while p < self.M and self.complete_tick[w, p] >= 0:
                p += 1
            self.world_stats[w, K.W_PREFIX] = p
