"""NumPy reference of the consensus tick (DESIGN §2.8): the test oracle for `kernels.consensus`.

Nobody checks a proposal: agents vote, each tile runs a first-to-ahead-by-k race over its vote counters `V`, and the
decision — right or wrong — is composed. Vectorised over (world, cell) for the agents' actions and over (world, tile)
for the race, which visits the tile's cells one slot at a time in row-major order, as the kernel's tile thread does.
Bit-identical to the kernel on the CPU (same float32 operations in the same order, integer statistics).
"""
import numpy as np

from engine.sim.reference import ReferenceWorlds
from kernels import constants as K
from kernels.records import CONTROLS, VOTE, WORLD, ZONE

F = np.float32


class ConsensusReferenceWorlds(ReferenceWorlds):
    """`ReferenceWorlds` whose tick is the consensus tick; adds the per-tile vote counters and vote statistics."""

    def __init__(self, n_worlds, size, tile, n_zones, n_pegs, moves, move_of_tile, tile_ring, tile_zone,
                 move_of_cell, difficulty):
        super().__init__(n_worlds, size, tile, n_zones, n_pegs, moves, move_of_tile, tile_ring, tile_zone,
                         move_of_cell, difficulty)
        self.NP = n_pegs * (n_pegs - 1)
        t, L = self.t, self.L
        ty, tx = np.divmod(np.arange(self.T), L)
        slot_i, slot_j = np.divmod(np.arange(t * t), t)
        # (T, t²): the tile's cells in row-major order, the order in which its votes enter the race
        self.cell_of_slot = ((ty[:, None] * t + slot_i[None, :]) * size + tx[:, None] * t + slot_j[None, :])

    def reset(self, seeds, params, alive0, c0, s0):
        """Start every world afresh, vote counters empty."""
        super().reset(seeds, params, alive0, c0, s0)
        self.votes = np.zeros((self.W, self.T, self.NP), np.int32)       # V: counted votes per answer
        self.vote_phat = np.zeros((self.W, self.T, self.NP), np.int64)   # Vp: Σ p̂ of those votes, fixed point
        self.vote_stats = np.zeros((self.W, self.Z, len(VOTE)), np.int64)
        self.kq_wrong = np.zeros((self.W, self.Q), np.int32)

    def stats(self) -> dict:
        """This tick's statistics, vote statistics included."""
        out = super().stats()
        out["vote_stats"] = self.vote_stats.copy()
        return out

    def pair_of(self, packed):
        """Answer index of packed moves: j = src·(P − 1) + dst − (dst > src)."""
        src, dst = (packed >> 2) & 3, packed & 3
        return (src * (self.P - 1) + dst - (dst > src)).astype(np.int32)

    def packed_of(self, disk, pair):
        """Packed move (disk·16 + src·4 + dst) of answer index `pair` for a move of `disk`."""
        src, r = pair // (self.P - 1), pair % (self.P - 1)
        return (disk * 16 + src * 4 + r + (r >= src)).astype(np.int32)

    def _advance(self, tick: int):
        """The consensus tick (DESIGN §2.8 steps 1–7, then neighbour learning, shared skill and prefix as §2.4)."""
        W, N, T = self.W, self.N, self.T
        m = self.math
        knob, ctl = self.p, self.ctl  # knob.eta: a (W, 1) parameter column, by name (kernels.records.PARAMS)
        for arr in (self.zone_stats, self.vote_stats, self.reliability, self.kq, self.kq_wrong, self.turned):
            arr[:] = 0
        running = ctl[:, CONTROLS.running] != 0
        oracle_up = (ctl[:, CONTROLS.oracle_up] != 0)[:, None]
        oracle_available = (ctl[:, CONTROLS.oracle_available] != 0)[:, None]

        tile_move = self.move_of_tile
        has_task_t = tile_move >= 0
        tile_k = np.maximum(tile_move, 0)
        complete_t = (self.complete_tick[:, tile_k] >= 0) & has_task_t
        unlocked_t = self.tile_ring[None, :] <= ctl[:, CONTROLS.stage][:, None]
        gated_t = (knob.order_prefix != 0) & (tile_move[None, :] > self.world_stats[:, WORLD.prefix][:, None])
        open_t = running[:, None] & has_task_t & unlocked_t & ~complete_t & ~gated_t
        task_t = running[:, None] & has_task_t
        tc = self.tile_of_cell
        zone_c = self.tile_zone[tc]
        true_c = self.move_packed[np.maximum(self.move_of_cell, 0)]
        disk_c = true_c >> 4
        true_pair_c = self.pair_of(true_c)

        st = self.state.astype(np.int32)
        c, a = self.competence, self.attempts
        acting = open_t[:, tc] & (self.alive != 0)
        wid = np.arange(W)[:, None]
        active = self.zone_active[wid, zone_c] != 0
        key = m.tick_key(self.seed, tick)
        ak = m.agent_key(key[:, None], np.arange(N, dtype=np.uint32)[None, :])

        # 1. oracle answers due: one vote (w_oracle) for the answer, right or wrong; the asker is Success
        answer = acting & (st == K.WAITING) & (tick >= self.due) & oracle_up
        oracle_ok = m.uniform(ak, K.DRAW_ORACLE) < knob.oracle_ok
        oracle_wrong = self._wrong_proposal(disk_c, true_pair_c, m.uniform(ak, K.DRAW_ORACLE_PAIR))
        oracle_move = np.where(oracle_ok, true_c[None, :], oracle_wrong)
        asked_right = self.proposal == oracle_move  # the asker's own proposal against the answer (nll_source oracle)
        nll_asked = np.where(asked_right, -m.log_f32(self.confidence), -m.log_f32(F(1.0) - self.confidence))
        ell_oracle = oracle_ok.astype(F)

        # 2. attempts: every free agent of an open tile in an active zone resamples, Success agents too
        start = acting & ((st == K.IDLE) | (st == K.FAILURE) | (st == K.SUCCESS)) & active
        resolve = acting & (st == K.WORKING) & (tick >= self.due)
        shared = self.skill[wid, disk_c]
        e = F(1.0) - (F(1.0) - c) * (F(1.0) - shared)
        p = e * (F(1.0) - knob.kappa * self.difficulty[None, :]) + knob.alpha * np.minimum(a, knob.a_max).astype(F)
        p = np.minimum(np.maximum(p, knob.p_min), knob.p_max)
        right = m.uniform(ak, K.DRAW_CORRECT) < p
        wrong = self._wrong_proposal(disk_c, true_pair_c, m.uniform(ak, K.DRAW_WRONG_PAIR))
        proposal = np.where(right, true_c[None, :], wrong)
        eps = m.inverse_normal(m.uniform(ak, K.DRAW_NOISE))
        sign = np.where(right, F(1.0), F(-1.0))
        z = m.logit(p) + knob.b_over * (F(1.0) - e) + knob.omega * e * sign + knob.sigma_conf * eps
        phat = np.minimum(np.maximum(m.sigmoid(z), F(K.CONF_CLIP_LO)), F(K.CONF_CLIP_HI))
        y = right.astype(np.int32)
        nll_yes, nll_no = -m.log_f32(phat), -m.log_f32(F(1.0) - phat)
        nll = np.where(right, nll_yes, nll_no)
        yf = y.astype(F)
        brier = (phat - yf) * (phat - yf)
        red = resolve & ~right & (m.uniform(ak, K.DRAW_RED_FLAG) < knob.red_flag)
        escalate = resolve & ~red & (z < knob.z_escalate) & (a >= knob.a_escalate) & oracle_available
        commit = resolve & ~red & ~escalate & (z >= knob.z_commit)
        abstain = resolve & ~red & ~escalate & ~commit

        new_st = st.copy()
        new_st[answer | commit] = K.SUCCESS
        new_st[red | abstain] = K.FAILURE
        new_st[start] = K.WORKING
        new_st[escalate] = K.WAITING
        self.due = np.where(start, tick + knob.slm_latency, self.due)
        self.due = np.where(escalate, tick + knob.oracle_latency, self.due).astype(np.int32)
        c = np.where(answer, c + knob.eta_oracle * (ell_oracle - c), c)
        a = np.where(red | abstain, a + 1, a).astype(np.int32)
        self.proposal = np.where(answer, oracle_move, self.proposal)
        self.proposal = np.where(resolve, proposal, self.proposal).astype(np.int32)
        self.confidence = np.where(resolve, phat, self.confidence)
        self.history = np.where(resolve, (self.history << np.uint32(1)) | y.astype(np.uint32), self.history)
        turned = answer | commit

        # 3. the race: this tick's votes enter V one at a time in row-major cell order (oracle answers in their slot)
        weight = np.where(answer, knob.w_oracle, np.where(commit, 1, 0)).astype(np.int32)
        vote_fx = np.where(answer, np.int64(K.FX_SCALE) * weight, np.where(commit, m.to_fixed(phat), 0))
        vote_pair = self.pair_of(self.proposal)
        V, Vp = self.votes, self.vote_phat
        k_ahead = knob.k_ahead[:, 0]
        decided = np.zeros((W, T), bool)
        decision = np.zeros((W, T), np.int32)
        for s in range(self.t * self.t):
            cells = self.cell_of_slot[:, s]
            wi, ti = np.nonzero((weight[:, cells] > 0) & ~decided)
            ci = cells[ti]
            j = vote_pair[wi, ci]
            V[wi, ti, j] += weight[wi, ci]
            Vp[wi, ti, j] += vote_fx[wi, ci]
            others = V[wi, ti].copy()
            others[np.arange(len(j)), j] = np.iinfo(np.int32).min
            ahead = V[wi, ti, j] - others.max(axis=1) >= k_ahead[wi]
            decided[wi[ahead], ti[ahead]] = True
            decision[wi[ahead], ti[ahead]] = j[ahead]

        # 4. audit (optional): one oracle call checks the decision; a rejection empties V and the tile stays open
        dw, dt = np.nonzero(decided)
        dc = decision[dw, dt]
        leader_votes = V[dw, dt, dc].astype(np.int64)
        runner_up = V[dw, dt].copy()
        runner_up[np.arange(len(dc)), dc] = 0
        mode = knob.audit[dw, 0]
        doubtful = np.where(mode == K.AUDIT_CONFIDENCE,
                            Vp[dw, dt, dc] < knob.tau_audit_fx[dw, 0].astype(np.int64) * leader_votes,
                            (mode == K.AUDIT_CONTESTED) & (runner_up.max(axis=1) > 0))
        audited = doubtful & oracle_available[dw, 0]
        first_cell = self.cell_of_slot[dt, 0]
        check_ok = m.uniform(ak[dw, first_cell], K.DRAW_AUDIT) < knob.oracle_ok[dw, 0]
        tile_true_pair = self.pair_of(self.move_packed[tile_k[dt]])
        rejected = audited & (check_ok != (dc == tile_true_pair))
        V[dw[rejected], dt[rejected]] = 0
        Vp[dw[rejected], dt[rejected]] = 0

        # 5. accept: compose the decision, right or wrong; the whole tile adopts it
        acc = ~rejected
        aw, at, ac = dw[acc], dt[acc], dc[acc]
        moves = tile_move[at]
        composed = self.packed_of(self.move_packed[moves] >> 4, ac)
        right_t = composed == self.move_packed[moves]
        self.complete_tick[aw, moves] = tick
        self.composed[aw, moves] = composed
        self.world_stats[:, WORLD.moves_done] += np.bincount(aw, minlength=W)
        accepted = np.zeros((W, T), bool)
        accepted[aw, at] = True
        decision_right = np.zeros((W, T), bool)
        decision_right[aw, at] = right_t
        composed_t = np.zeros((W, T), np.int32)
        composed_t[aw, at] = composed
        members = accepted[:, tc] & (self.alive != 0)
        adopt = members & (new_st != K.SUCCESS)
        new_st[members] = K.SUCCESS
        self.proposal = np.where(members, composed_t[:, tc], self.proposal)
        learn_self = (knob.learn_oracle[:, 0] == 0)[:, None]
        ell_tile = decision_right[:, tc].astype(F)
        c = np.where(members & learn_self, c + knob.eta * (ell_tile - c), c)
        turned |= members

        # 6. shared skill: the leader's counted votes (learn = self) or the oracle's answers (learn = oracle)
        counted = V[aw, at, ac]
        self_rows = knob.learn_oracle[aw, 0] == 0
        disk_t = self.move_packed[moves] >> 4
        for target, pick in ((self.kq, right_t & self_rows), (self.kq_wrong, ~right_t & self_rows)):
            np.add.at(target, (aw[pick], disk_t[pick]), counted[pick])
        by_oracle = answer & ~learn_self
        for target, pick in ((self.kq, by_oracle & oracle_ok), (self.kq_wrong, by_oracle & ~oracle_ok)):
            ow, oc = np.nonzero(pick)
            np.add.at(target, (ow, disk_c[oc]), 1)

        # 7. what managers see: agreement with the tile's leader after the tally, NLL against an observable label
        top = V.max(axis=2)
        leader = np.where(top > 0, V.argmax(axis=2), -1)
        agrees = vote_pair == leader[:, tc]
        seen = resolve & ~red
        nll_oracle = (knob.nll_oracle[:, 0] != 0)[:, None]
        nll_seen = np.where(nll_oracle, np.where(answer, m.to_fixed(nll_asked), 0),
                            np.where(seen, m.to_fixed(np.where(agrees, nll_yes, nll_no)), 0))
        nll_seen_n = np.where(nll_oracle, answer, seen)

        # measure (cells of measured tiles only)
        measured = task_t[:, tc]
        cols = {
            ZONE.resolved: resolve, ZONE.correct: resolve & right, ZONE.escalated: escalate,
            ZONE.escalated_wrong: escalate & ~right, ZONE.oracle_answers: answer, ZONE.oracle_wrong: answer & ~oracle_ok,
            ZONE.adopted: adopt, ZONE.started: start,
        }
        for s, mask in cols.items():
            self.zone_stats[:, :, s] = self._per_zone(mask.astype(np.int64), zone_c)
        for s, values in ((ZONE.nll_fx, nll), (ZONE.brier_fx, brier), (ZONE.phat_fx, phat)):
            self.zone_stats[:, :, s] = self._per_zone(np.where(resolve, m.to_fixed(values), 0), zone_c)
        for code, name in enumerate(K.STATE_NAMES):
            self.zone_stats[:, :, getattr(ZONE, f"n_{name}")] = self._per_zone(
                (measured & (new_st == code)).astype(np.int64), zone_c)
        live = measured & (new_st != K.DEAD)
        self.zone_stats[:, :, ZONE.competence_fx] = self._per_zone(np.where(live, m.to_fixed(c), 0), zone_c)
        live_t = self._per_tile(live)
        complete_t = complete_t | accepted
        open_left_t = task_t & ~complete_t
        tz = np.broadcast_to(self.tile_zone, (W, T))
        self.zone_stats[:, :, ZONE.open_tiles] = self._per_zone((open_left_t & ~gated_t).astype(np.int64), tz)
        # one live agent can decide a tile alone (it votes again and again)
        self.zone_stats[:, :, ZONE.completable] = self._per_zone((open_left_t & (live_t >= 1)).astype(np.int64), tz)
        self.zone_stats[:, :, ZONE.completed_now] = self._per_zone(accepted.astype(np.int64), tz)
        self.zone_stats[:, :, ZONE.active] = self._per_zone(acting.astype(np.int64), zone_c)
        vote_cols = {VOTE.votes: commit, VOTE.votes_right: commit & right, VOTE.abstained: abstain, VOTE.red_flagged: red,
                     VOTE.agree: commit & agrees,
                     VOTE.nll_seen_n: nll_seen_n}
        for s, mask in vote_cols.items():
            self.vote_stats[:, :, s] = self._per_zone(mask.astype(np.int64), zone_c)
        self.vote_stats[:, :, VOTE.nll_seen_fx] = self._per_zone(nll_seen, zone_c)
        tile_cols = {VOTE.audits: (dw[audited], dt[audited], 1), VOTE.audit_rejected: (dw[rejected], dt[rejected], 1),
                     VOTE.composed_wrong: (aw[~right_t], at[~right_t], 1),
                     VOTE.decision_votes: (aw, at, V[aw, at].sum(axis=1).astype(np.int64))}
        for s, (rows, tiles, values) in tile_cols.items():
            per_tile = np.zeros((W, T), np.int64)
            np.add.at(per_tile, (rows, tiles), values)
            self.vote_stats[:, :, s] = self._per_zone(per_tile, tz)

        bins = np.minimum((phat * F(K.RELIABILITY_BINS)).astype(np.int32), K.RELIABILITY_BINS - 1)
        flat = (wid * K.RELIABILITY_BINS + bins)[resolve]
        size = W * K.RELIABILITY_BINS
        self.reliability[:, :, 0] = np.bincount(flat, minlength=size).reshape(W, -1)
        self.reliability[:, :, 1] = np.bincount(flat, weights=y[resolve], minlength=size).reshape(W, -1)
        self.reliability[:, :, 2] = np.bincount(flat, weights=m.to_fixed(phat)[resolve], minlength=size).reshape(W, -1)

        self.state = new_st.astype(np.uint8)
        self.attempts = a
        self.turned = turned.astype(np.uint8)
        self.competence = self.learn_from_neighbours(c, running)
        self.learn_shared_skill(running)
        self.advance_prefix(running)

    def learn_shared_skill(self, running):
        """S ← 1 − (1 − S)(1 − η_shared)^k_right, then S ← S·(1 − η_shared)^k_wrong (a wrong consensus teaches wrong)."""
        base = F(1.0) - self.p.eta_shared
        new = F(1.0) - (F(1.0) - self.skill) * self._power(base, self.kq)
        new = new * self._power(base, self.kq_wrong)
        self.skill = np.where(running[:, None], new, self.skill)

    def _power(self, base, exponent):
        """base^exponent elementwise in float32, by squaring in the kernel's order."""
        base = np.broadcast_to(base, exponent.shape).copy()
        power = np.ones(exponent.shape, F)
        kk = exponent.astype(np.int64)
        while np.any(kk > 0):
            power = np.where((kk & 1) == 1, power * base, power)
            base = base * base
            kk = kk >> 1
        return power
