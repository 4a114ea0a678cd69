"""Device state of W worlds and the fused tick kernel (DESIGN §2.3–2.4, §7).

`WorldsDevice` owns every hot field (leading world axis W) and advances all worlds with one kernel launch per tick:
clear the per-tick statistics → act and compose, tile by tile → neighbour learning → shared-skill update → prefix.
The NumPy twin is `engine.sim.reference.ReferenceWorlds`; both expose the same small interface to `engine.sim.simulation`.
"""
import numpy as np
import taichi as ti

from kernels import consensus  # feedback = "consensus" (DESIGN §2.8)
from kernels import constants as K
from kernels.attempt import correct_probability, effective_skill, wrong_proposal
from kernels.launch import PreparedLaunch, usable as prepared_launch_usable
from kernels.mathf import (agent_key, inverse_normal, log_f32, logit, sigmoid, tick_key, to_fixed, uniform)


class FrameRing:
    """Memory for `slots` recorded frames of some worlds: state, competence and optionally confidence.

    On the CPU the ring is plain NumPy: the kernel writes straight into it, so exporting a chunk is a slice. On a
    GPU it is device memory (ti.ndarray), copied to the host once per chunk, never per tick."""

    def __init__(self, slots: int, worlds, cells: int, with_confidence: bool):
        R = len(worlds)
        self.slots, self.with_confidence = slots, with_confidence
        self.on_host = ti.lang.impl.current_cfg().arch in (ti.x64, ti.arm64)
        shape = (slots, R, cells)
        self.worlds = self._array(ti.i32, np.int32, R)
        self.state = self._array(ti.u8, np.uint8, shape)
        self.competence = self._array(ti.u8, np.uint8, shape)
        self.confidence = self._array(ti.u8, np.uint8, shape if with_confidence else (1, 1, 1))
        if self.on_host:
            self.worlds[:] = worlds
        else:
            self.worlds.from_numpy(np.asarray(worlds, dtype=np.int32))

    def _array(self, ti_type, np_type, shape):
        """A NumPy array on the CPU backend, a device ndarray elsewhere."""
        return np.zeros(shape, np_type) if self.on_host else ti.ndarray(ti_type, shape)

    def export(self, count: int) -> tuple:
        """The first `count` slots as NumPy (state, competence, confidence or None), each (count, R, cells) u8."""
        host = (lambda a: a[:count].copy()) if self.on_host else (lambda a: a.to_numpy()[:count])  # noqa: E731
        return host(self.state), host(self.competence), host(self.confidence) if self.with_confidence else None


class FieldTrees:
    """Taichi fields grouped into one SNode tree per element width (1, 4 or 8 bytes).

    Taichi's SPIR-V backends (Vulkan; also Metal, OpenGL) pack the fields of one tree sorted by byte size with no
    padding, and address an element of width w at buffer word (byte offset // w). A wide field that lands behind a
    narrower one of odd length (at W = 1: the 4-byte seed, then the i64 world statistics) is misaligned and its
    reads, writes and atomics silently hit its neighbour's bytes. In a tree of one width every offset is a multiple
    of that width, on every backend (docs/gpu.md)."""

    def __init__(self):
        self.builders: dict[int, ti.FieldsBuilder] = {}

    def field(self, dtype, shape):
        """A dense field of `dtype` and `shape`, placed in the tree of its element width."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        width = np.dtype(ti.lang.util.to_numpy_type(dtype)).itemsize
        if width not in self.builders:
            self.builders[width] = ti.FieldsBuilder()
        f = ti.field(dtype)
        self.builders[width].dense(ti.axes(*range(len(shape))), shape).place(f)
        return f

    def finalize(self):
        """Materialise every tree (after the last `field`, before the first kernel touches one)."""
        self.trees = [b.finalize() for b in self.builders.values()]


@ti.data_oriented
class WorldsDevice:
    """All agents of W worlds in Taichi fields; `step(tick)` advances every running world by one tick."""

    def __init__(self, n_worlds: int, size: int, tile: int, n_zones: int, n_pegs: int,
                 moves: np.ndarray, move_of_tile: np.ndarray, tile_ring: np.ndarray, tile_zone: np.ndarray,
                 move_of_cell: np.ndarray, difficulty: np.ndarray, consensus: bool = False):
        W, G, t = n_worlds, size, tile
        self.consensus = bool(consensus)  # feedback = "consensus" (DESIGN §2.8): compiled in with ti.static
        self.W, self.G, self.t, self.L = W, G, t, G // t
        self.N, self.T, self.M = G * G, self.L * self.L, int(moves.shape[0])
        self.Z, self.Q, self.P = n_zones, int(moves[:, 0].max()) + 1, n_pegs
        N, T, M, Z, Q = self.N, self.T, self.M, self.Z, self.Q
        trees = FieldTrees()  # one SNode tree per element width: see FieldTrees
        # agents (W, N), cell n = i·G + j
        self.state = trees.field(ti.u8, (W, N))            # K.IDLE … K.DEAD
        self.competence = trees.field(ti.f32, (W, N))      # c in [0, 1]
        self.competence_next = trees.field(ti.f32, (W, N)) # neighbour-learning output, copied back
        self.attempts = trees.field(ti.i32, (W, N))        # failed attempts a (pity bonus)
        self.proposal = trees.field(ti.i32, (W, N))        # packed move disk·16 + src·4 + dst, −1 none
        self.confidence = trees.field(ti.f32, (W, N))      # p̂ of the last proposal
        self.history = trees.field(ti.u32, (W, N))         # last 32 outcomes, newest in bit 0
        self.due = trees.field(ti.i32, (W, N))             # tick at which Working / WaitingOracle resolves
        self.alive = trees.field(ti.u8, (W, N))
        self.turned = trees.field(ti.u8, (W, N))           # became Success this tick (teaches neighbours)
        self.tile_taught = trees.field(ti.u8, (W, self.T)) # some agent of the tile turned Success this tick
        # static layout and task
        self.move_of_tile = trees.field(ti.i32, T)
        self.tile_ring = trees.field(ti.i32, T)
        self.tile_zone = trees.field(ti.i32, T)
        self.move_of_cell = trees.field(ti.i32, N)
        self.difficulty = trees.field(ti.f32, N)
        self.move_packed = trees.field(ti.i32, M)
        # per world
        self.seed = trees.field(ti.u32, W)                 # episode seed = run seed + world
        self.params_f = trees.field(ti.f32, (W, K.N_PARAMS_F))
        self.params_i = trees.field(ti.i32, (W, K.N_PARAMS_I))
        self.ctl = trees.field(ti.i32, (W, K.N_CTL))       # running, stage, oracle available, oracle up
        self.zone_active = trees.field(ti.u8, (W, Z))
        self.skill = trees.field(ti.f32, (W, Q))           # shared skill S[q]
        self.kq = trees.field(ti.i32, (W, Q))              # successful attempts per category this tick
        self.complete_tick = trees.field(ti.i32, (W, M))   # −1 until the move is composed
        self.composed = trees.field(ti.i32, (W, M))        # the composed (packed) move
        # statistics (integer atomics only)
        self.zone_stats = trees.field(ti.i64, (W, Z, K.N_ZONE_STATS))
        self.world_stats = trees.field(ti.i64, (W, K.N_WORLD_STATS))
        self.reliability = trees.field(ti.i64, (W, K.RELIABILITY_BINS, 3))  # count, correct, Σp̂ (fixed point)
        # consensus mode: per-tile vote counters V and Vp (kept until the tile is composed), per-zone vote
        # statistics, wrong-consensus votes per category, and per agent what this tick's attempt cast
        # (kernels.consensus.COMMITTED | answer + 1). One-element stand-ins in verified mode.
        NP, WV, TV, NV = (self.P * (self.P - 1), W, T, N) if self.consensus else (1, 1, 1, 1)
        self.votes = trees.field(ti.i32, (WV, TV, NP))
        self.vote_phat = trees.field(ti.i64, (WV, TV, NP))  # Σ p̂ of V's votes, fixed point
        self.vote_stats = trees.field(ti.i64, (W, Z, K.N_VOTE_STATS))
        self.kq_wrong = trees.field(ti.i32, (W, Q))
        self.cast = trees.field(ti.u8, (WV, NV))
        trees.finalize()

        self.ring: FrameRing | None = None
        self.launch = None  # how the tick kernel is launched: prepared on the first step (kernels/launch.py)
        self.move_of_tile.from_numpy(move_of_tile.astype(np.int32))
        self.tile_ring.from_numpy(tile_ring.astype(np.int32))
        self.tile_zone.from_numpy(tile_zone.astype(np.int32))
        self.move_of_cell.from_numpy(move_of_cell.astype(np.int32))
        self.difficulty.from_numpy(difficulty.astype(np.float32))
        m = moves.astype(np.int32)
        self.move_packed.from_numpy(m[:, 0] * 16 + m[:, 1] * 4 + m[:, 2])

    # ---- host interface (shared with engine.sim.reference.ReferenceWorlds)
    def reset(self, seeds, params_f, params_i, alive0, c0, s0):
        """Start every world afresh: all agents Idle (or Dead), competence c0, shared skill s0."""
        W, N = self.W, self.N
        self.seed.from_numpy(np.asarray(seeds, dtype=np.uint32))
        self.params_f.from_numpy(np.asarray(params_f, dtype=np.float32))
        self.params_i.from_numpy(np.asarray(params_i, dtype=np.int32))
        alive = np.asarray(alive0, dtype=np.uint8).reshape(W, N)
        self.alive.from_numpy(alive)
        self.state.from_numpy(np.where(alive == 1, K.IDLE, K.DEAD).astype(np.uint8))
        self.competence.from_numpy(np.asarray(c0, dtype=np.float32).reshape(W, N))
        self.skill.from_numpy(np.asarray(s0, dtype=np.float32).reshape(W, self.Q))
        for f, v in ((self.attempts, 0), (self.proposal, -1), (self.confidence, 0), (self.history, 0),
                     (self.due, 0), (self.turned, 0), (self.tile_taught, 0), (self.complete_tick, -1), (self.composed, -1),
                     (self.world_stats, 0), (self.zone_stats, 0), (self.reliability, 0), (self.kq, 0),
                     (self.votes, 0), (self.vote_phat, 0), (self.vote_stats, 0), (self.kq_wrong, 0), (self.cast, 0)):
            f.fill(v)

    def set_controls(self, ctl: np.ndarray, zone_active: np.ndarray):
        """Take this tick's host decisions (control words and active zones); they travel with the next launch."""
        self.controls = np.ascontiguousarray(np.concatenate([ctl, zone_active], axis=1), dtype=np.int32)

    def kill(self, dead: np.ndarray):
        """Kill agents (fault injection): mask (W, N) bool."""
        alive = self.alive.to_numpy() & ~np.asarray(dead, dtype=bool).reshape(self.W, self.N)
        state = self.state.to_numpy()
        state[~alive.astype(bool)] = K.DEAD
        self.alive.from_numpy(alive.astype(np.uint8))
        self.state.from_numpy(state)

    def stats(self) -> dict:
        """The last tick's statistics as NumPy arrays (small: per world and zone, not per agent)."""
        W, Z = self.W, self.Z
        flat = self.stats_out
        z_end = Z * K.N_ZONE_STATS
        t_end = z_end + K.N_ZONE_STATS
        w_end = t_end + K.N_WORLD_STATS
        r_end = w_end + K.RELIABILITY_BINS * 3
        q_end = r_end + self.Q
        out = {"zone_stats": flat[:, :z_end].reshape(W, Z, K.N_ZONE_STATS), "world_totals": flat[:, z_end:t_end],
               "world_stats": flat[:, t_end:w_end],
               "reliability": flat[:, w_end:r_end].reshape(W, K.RELIABILITY_BINS, 3),
               "kq": flat[:, r_end:q_end].astype(np.int32), "skill": self.skill_out}
        if self.consensus:
            out["vote_stats"] = flat[:, q_end:].reshape(W, Z, K.N_VOTE_STATS)
        return out

    def moves_table(self) -> tuple[np.ndarray, np.ndarray]:
        """(complete_tick, composed), both (W, M) int32."""
        return self.complete_tick.to_numpy(), self.composed.to_numpy()

    def alive_mask(self) -> np.ndarray:
        """(W, N) bool: which agents are alive now."""
        return self.alive.to_numpy().astype(bool)

    def snapshot(self) -> dict:
        """Every per-agent field as NumPy arrays (tests and audits; slow for big grids)."""
        names = ("state", "competence", "attempts", "proposal", "confidence", "history", "due", "alive")
        return {n: getattr(self, n).to_numpy() for n in names}

    # ---- recording: a ring of frames in device memory, written by the tick kernel itself, exported per chunk
    def make_frame_ring(self, slots: int, worlds, confidence: bool):
        """A ring of `slots` frames of the recorded `worlds` (device ndarrays, so a GPU run copies nothing per tick)."""
        self.ring = FrameRing(slots, worlds, self.N, confidence)
        return self.ring

    def step(self, tick: int, frame_slot: int = -1):
        """Advance every running world by one tick in one launch: the controls go in and the statistics come out
        as kernel arguments (no separate upload or read-back launches); with `frame_slot` ≥ 0 the recorded
        worlds' state after the tick is written into that slot of the frame ring."""
        width = (self.Z + 1) * K.N_ZONE_STATS + K.N_WORLD_STATS + K.RELIABILITY_BINS * 3 + self.Q
        width += self.Z * K.N_VOTE_STATS if self.consensus else 0
        self.stats_out = np.empty((self.W, width), np.int64)  # fresh each tick: callers may keep the last ones
        self.skill_out = np.empty((self.W, self.Q), np.float32)
        ring = self.ring if self.ring is not None else self.no_ring()
        if frame_slot >= 0 and self.ring is None:
            raise ValueError("make_frame_ring before asking for frames")
        args = (tick, self.controls, self.stats_out, self.skill_out, frame_slot, ring.worlds, ring.state,
                ring.competence, ring.confidence, int(ring.with_confidence))
        if self.launch is None:  # the CPU launches through a prepared context (~10× less Python per launch)
            usable = prepared_launch_usable()
            self.launch = PreparedLaunch(self, "advance_worlds", *args) if usable else self.advance_worlds
        self.launch(*args)

    def no_ring(self):
        """A one-cell stand-in ring, so the kernel's signature is the same with or without recording."""
        if getattr(self, "_no_ring", None) is None:
            self._no_ring = FrameRing(1, [0], 1, False)
        return self._no_ring

    # ---- the tick
    @ti.kernel
    def advance_worlds(self, tick: ti.i32, controls: ti.types.ndarray(dtype=ti.i32, ndim=2),
                       stats_out: ti.types.ndarray(dtype=ti.i64, ndim=2),
                       skill_out: ti.types.ndarray(dtype=ti.f32, ndim=2), frame_slot: ti.i32,
                       ring_worlds: ti.types.ndarray(dtype=ti.i32, ndim=1),
                       ring_state: ti.types.ndarray(dtype=ti.u8, ndim=3),
                       ring_competence: ti.types.ndarray(dtype=ti.u8, ndim=3),
                       ring_confidence: ti.types.ndarray(dtype=ti.u8, ndim=3), with_confidence: ti.i32):
        W, G, t, L, M, N = ti.static(self.W, self.G, self.t, self.L, self.M, self.N)
        Z, Q, NZ = ti.static(self.Z, self.Q, K.N_ZONE_STATS)
        for w in range(W):
            for c in ti.static(range(K.N_CTL)):
                self.ctl[w, c] = controls[w, c]
            for z in range(Z):
                self.zone_active[w, z] = ti.cast(controls[w, K.N_CTL + z], ti.u8)
        # clear this tick's statistics: one thread per (world, zone) with the stat columns unrolled is ~10×
        # cheaper on the CPU than a struct-for over every element
        for w, z in ti.ndrange(W, self.Z):
            for s in ti.static(range(K.N_ZONE_STATS)):
                self.zone_stats[w, z, s] = 0
        for w in range(W):
            for b in range(K.RELIABILITY_BINS):
                for s in ti.static(range(3)):
                    self.reliability[w, b, s] = 0
            for q in range(self.Q):
                self.kq[w, q] = 0
                if ti.static(self.consensus):
                    self.kq_wrong[w, q] = 0
        if ti.static(self.consensus):
            for w, z in ti.ndrange(W, self.Z):
                for s in ti.static(range(K.N_VOTE_STATS)):
                    self.vote_stats[w, z, s] = 0

        # act and compose: one thread per (world, tile), agents of the tile in turn
        for w, tile in ti.ndrange(W, L * L):
            k = self.move_of_tile[tile]
            if self.ctl[w, K.C_RUNNING] != 0 and k >= 0:
                if ti.static(self.consensus):
                    consensus.vote_tile(self, w, tile, k, tick)
                else:
                    self.act_and_compose_tile(w, tile, k, tick)

        # neighbour learning (after compose, so adoptions teach too): a gather, so deterministic. Only tiles
        # next to a tile where someone turned Success can change; the rest are skipped whole.
        for w, tile in ti.ndrange(W, L * L):
            if self.ctl[w, K.C_RUNNING] != 0 and self.near_teacher(w, tile):
                self.learn_from_neighbours(w, tile)
        for w, tile in ti.ndrange(W, L * L):
            if self.ctl[w, K.C_RUNNING] != 0 and self.near_teacher(w, tile):
                ty, tx = tile // L, tile % L
                for a_i, a_j in ti.ndrange(t, t):
                    n = (ty * t + a_i) * G + tx * t + a_j
                    self.competence[w, n] = self.competence_next[w, n]

        # shared skill: S ← 1 − (1 − S)(1 − η_shared)^k_q, the power by squaring
        for w, q in self.skill:
            if ti.static(self.consensus):
                if self.ctl[w, K.C_RUNNING] != 0:
                    consensus.learn_shared_skill_from_votes(self, w, q)
            elif self.ctl[w, K.C_RUNNING] != 0:
                kk = self.kq[w, q]
                base = 1.0 - self.params_f[w, K.P_ETA_SHARED]
                power = ti.f32(1.0)
                while kk > 0:
                    if kk & 1:
                        power = power * base
                    base = base * base
                    kk = kk >> 1
                self.skill[w, q] = 1.0 - (1.0 - self.skill[w, q]) * power

        # complete prefix: serial per world, amortised O(M) over the episode
        for w in range(W):
            if self.ctl[w, K.C_RUNNING] != 0:
                p = ti.cast(self.world_stats[w, K.W_PREFIX], ti.i32)
                while p < M and self.complete_tick[w, p] >= 0:
                    p += 1
                self.world_stats[w, K.W_PREFIX] = p

        # hand this tick's statistics back in the caller's arrays
        for w, z in ti.ndrange(W, Z):
            for s in ti.static(range(NZ)):
                stats_out[w, z * NZ + s] = self.zone_stats[w, z, s]
        for w in range(W):
            base = Z * NZ
            for s in ti.static(range(NZ)):  # the zone statistics summed over zones: the host's per-world view
                total = ti.i64(0)
                for z in range(Z):
                    total += self.zone_stats[w, z, s]
                stats_out[w, base + s] = total
            base += NZ
            for s in ti.static(range(K.N_WORLD_STATS)):
                stats_out[w, base + s] = self.world_stats[w, s]
            base += K.N_WORLD_STATS
            for b in range(K.RELIABILITY_BINS):
                for s in ti.static(range(3)):
                    stats_out[w, base + b * 3 + s] = self.reliability[w, b, s]
            base += K.RELIABILITY_BINS * 3
            for q in range(Q):
                stats_out[w, base + q] = ti.cast(self.kq[w, q], ti.i64)
                skill_out[w, q] = self.skill[w, q]
            if ti.static(self.consensus):
                base += Q
                for z in range(Z):
                    for s in ti.static(range(K.N_VOTE_STATS)):
                        stats_out[w, base + z * K.N_VOTE_STATS + s] = self.vote_stats[w, z, s]

        # record a frame: state and quantised competence (round(255·c)) of the recorded worlds
        for r, n in ti.ndrange(ring_state.shape[1], ring_state.shape[2]):
            if frame_slot >= 0:
                w = ring_worlds[r]
                ring_state[frame_slot, r, n] = self.state[w, n]
                ring_competence[frame_slot, r, n] = ti.cast(ti.floor(self.competence[w, n] * 255.0 + 0.5), ti.u8)
                if with_confidence != 0:
                    ring_confidence[frame_slot, r, n] = ti.cast(ti.floor(self.confidence[w, n] * 255.0 + 0.5),
                                                                ti.u8)

    @ti.func
    def near_teacher(self, w, tile) -> bool:
        """Did anyone in this tile or one of its four neighbour tiles turn Success this tick?"""
        L = ti.static(self.L)
        ty, tx = tile // L, tile % L
        taught = self.tile_taught[w, tile]
        taught |= self.tile_taught[w, ti.max(ty - 1, 0) * L + tx]
        taught |= self.tile_taught[w, ti.min(ty + 1, L - 1) * L + tx]
        taught |= self.tile_taught[w, ty * L + ti.max(tx - 1, 0)]
        taught |= self.tile_taught[w, ty * L + ti.min(tx + 1, L - 1)]
        return taught != 0

    @ti.func
    def learn_from_neighbours(self, w, tile):
        """c_j += η_nbr·max(0, c_i − c_j) for each neighbour i that turned, in the order N, E, S, W → competence_next.

        Neighbour flags are loaded branch-free (clamped index × inside mask); an agent with a task whose
        neighbours did not turn keeps c exactly (the update adds η·0)."""
        G, t, L = ti.static(self.G, self.t, self.L)
        ty, tx = tile // L, tile % L
        eta_nbr = self.params_f[w, K.P_ETA_NBR]
        for a_i, a_j in ti.ndrange(t, t):
            i, j = ty * t + a_i, tx * t + a_j
            n = i * G + j
            c = self.competence[w, n]
            if self.alive[w, n] != 0 and self.move_of_cell[n] >= 0:
                for d in ti.static(range(4)):  # N, E, S, W
                    di, dj = ti.static(((-1, 0), (0, 1), (1, 0), (0, -1))[d])
                    ii, jj = i + di, j + dj
                    inside = ti.select((ii >= 0) and (ii < G) and (jj >= 0) and (jj < G), 1.0, 0.0)
                    m = ti.min(ti.max(ii, 0), G - 1) * G + ti.min(ti.max(jj, 0), G - 1)
                    gate = ti.cast(self.turned[w, m], ti.f32) * inside
                    c = c + eta_nbr * (gate * ti.max(0.0, self.competence[w, m] - c))
            self.competence_next[w, n] = c

    @ti.func
    def act_and_compose_tile(self, w, tile, k, tick):
        """Act every agent of one tile, compose its move when τ_green agree, then adopt and count."""
        G, t, L, P = ti.static(self.G, self.t, self.L, self.P)
        ty, tx = tile // L, tile % L
        zone = self.tile_zone[tile]
        true_move = self.move_packed[k]
        disk = true_move >> 4
        src, dst = (true_move >> 2) & 3, true_move & 3
        true_pair = src * (P - 1) + dst - ti.select(dst > src, 1, 0)
        complete = self.complete_tick[w, k] >= 0
        unlocked = self.tile_ring[tile] <= self.ctl[w, K.C_STAGE]
        gated = (self.params_i[w, K.Q_ORDER_PREFIX] != 0) and (k > self.world_stats[w, K.W_PREFIX])
        is_open = unlocked and (not complete) and (not gated)
        active = self.zone_active[w, zone] != 0
        oracle_up = self.ctl[w, K.C_ORACLE_UP] != 0
        oracle_available = self.ctl[w, K.C_ORACLE_AVAILABLE] != 0
        distill = self.params_i[w, K.Q_DISTILL] != 0
        shared = self.skill[w, disk]
        key = tick_key(self.seed[w], tick)

        acc = ti.Vector([0] * K.N_ZONE_STATS, dt=ti.i64)
        # reliability (bin, column) sums, flushed with atomics after the agent loop: never a 64-bit atomic inside
        # an inner loop (llvmpipe drops the rest of the thread's writes; docs/gpu.md)
        rel = ti.Vector([0] * (K.RELIABILITY_BINS * 3), dt=ti.i64)
        k_success = 0
        agree = 0
        taught = 0
        for a_i, a_j in ti.ndrange(t, t):
            n = (ty * t + a_i) * G + tx * t + a_j
            self.turned[w, n] = ti.u8(0)
            st = ti.cast(self.state[w, n], ti.i32)
            if is_open and self.alive[w, n] != 0:
                c = self.competence[w, n]
                a = self.attempts[w, n]
                ak = agent_key(key, n)
                if st == K.WAITING:
                    if tick >= self.due[w, n] and oracle_up:
                        acc[K.Z_ORACLE_ANSWERS] += 1
                        if uniform(ak, K.DRAW_ORACLE) < self.params_f[w, K.P_ORACLE_OK]:
                            st = K.SUCCESS
                            self.proposal[w, n] = true_move
                            c = c + self.params_f[w, K.P_ETA_ORACLE] * (1.0 - c)
                            self.turned[w, n] = ti.u8(1)
                            if distill:
                                k_success += 1
                        else:
                            st = K.FAILURE
                            a += 1
                            acc[K.Z_ORACLE_WRONG] += 1
                elif st == K.IDLE or st == K.FAILURE:
                    if active:
                        st = K.WORKING
                        self.due[w, n] = tick + self.params_i[w, K.Q_SLM_LATENCY]
                        acc[K.Z_STARTED] += 1
                elif st == K.WORKING and tick >= self.due[w, n]:
                    e = effective_skill(c, shared)
                    p = correct_probability(e, self.difficulty[n], a, self.params_f[w, K.P_KAPPA],
                                            self.params_f[w, K.P_ALPHA], self.params_i[w, K.Q_A_MAX],
                                            self.params_f[w, K.P_P_MIN], self.params_f[w, K.P_P_MAX])
                    right = uniform(ak, K.DRAW_CORRECT) < p
                    proposal = true_move
                    if not right:
                        proposal = wrong_proposal(disk, true_pair, uniform(ak, K.DRAW_WRONG_PAIR), P)
                    eps = inverse_normal(uniform(ak, K.DRAW_NOISE))
                    sign = ti.select(right, 1.0, -1.0)
                    z = (logit(p) + self.params_f[w, K.P_B_OVER] * (1.0 - e)
                         + self.params_f[w, K.P_OMEGA] * e * sign + self.params_f[w, K.P_SIGMA_CONF] * eps)
                    phat = ti.min(ti.max(sigmoid(z), K.CONF_CLIP_LO), K.CONF_CLIP_HI)
                    y = ti.select(right, 1, 0)
                    yf = ti.cast(y, ti.f32)
                    nll = -log_f32(phat)
                    if not right:
                        nll = -log_f32(1.0 - phat)
                    acc[K.Z_RESOLVED] += 1
                    acc[K.Z_CORRECT] += y
                    acc[K.Z_NLL_FX] += to_fixed(nll)
                    acc[K.Z_BRIER_FX] += to_fixed((phat - yf) * (phat - yf))
                    acc[K.Z_PHAT_FX] += to_fixed(phat)
                    b = ti.min(ti.cast(phat * ti.static(float(K.RELIABILITY_BINS)), ti.i32),
                               K.RELIABILITY_BINS - 1)
                    rel[b * 3] += 1
                    rel[b * 3 + 1] += y
                    rel[b * 3 + 2] += to_fixed(phat)
                    self.history[w, n] = (self.history[w, n] << 1) | ti.cast(y, ti.u32)
                    self.confidence[w, n] = phat
                    self.proposal[w, n] = proposal
                    if (z < self.params_f[w, K.P_Z_ESCALATE] and a >= self.params_i[w, K.Q_A_ESCALATE]
                            and oracle_available):
                        st = K.WAITING
                        self.due[w, n] = tick + self.params_i[w, K.Q_ORACLE_LATENCY]
                        acc[K.Z_ESCALATED] += 1
                        acc[K.Z_ESCALATED_WRONG] += 1 - y
                    elif right:
                        st = K.SUCCESS
                        c = c + self.params_f[w, K.P_ETA] * (1.0 - c)
                        self.turned[w, n] = ti.u8(1)
                        acc[K.Z_COMMIT_SUCCESS] += 1
                        k_success += 1
                    else:
                        st = K.FAILURE
                        a += 1
                        acc[K.Z_COMMIT_FAILURE] += 1
                self.state[w, n] = ti.cast(st, ti.u8)
                self.competence[w, n] = c
                self.attempts[w, n] = a
            if st == K.SUCCESS and self.proposal[w, n] == true_move:
                agree += 1

        # compose: τ_green agreeing Success agents complete the move; the rest of the tile adopts it
        if is_open and agree >= self.params_i[w, K.Q_TAU_GREEN]:
            complete = True
            self.complete_tick[w, k] = tick
            self.composed[w, k] = true_move
            ti.atomic_add(self.world_stats[w, K.W_MOVES_DONE], ti.i64(1))
            acc[K.Z_COMPLETED_NOW] += 1
            eta = self.params_f[w, K.P_ETA]
            for a_i, a_j in ti.ndrange(t, t):
                n = (ty * t + a_i) * G + tx * t + a_j
                if self.alive[w, n] != 0 and self.state[w, n] != K.SUCCESS:
                    self.state[w, n] = ti.u8(K.SUCCESS)
                    self.proposal[w, n] = true_move
                    self.competence[w, n] = self.competence[w, n] + eta * (1.0 - self.competence[w, n])
                    self.turned[w, n] = ti.u8(1)
                    acc[K.Z_ADOPTED] += 1
                    if distill:
                        k_success += 1

        # measure: current state counts and competence of the tile's agents
        live = 0
        for a_i, a_j in ti.ndrange(t, t):
            n = (ty * t + a_i) * G + tx * t + a_j
            st = ti.cast(self.state[w, n], ti.i32)
            taught |= ti.cast(self.turned[w, n], ti.i32)
            acc[K.Z_N_IDLE + st] += 1
            if st != K.DEAD:
                live += 1
                acc[K.Z_COMPETENCE_FX] += to_fixed(self.competence[w, n])
        if not complete:
            if not gated:
                acc[K.Z_OPEN_TILES] += 1
            if live >= self.params_i[w, K.Q_TAU_GREEN]:
                acc[K.Z_COMPLETABLE] += 1
        for s in ti.static(range(K.N_ZONE_STATS)):
            if acc[s] != 0:
                ti.atomic_add(self.zone_stats[w, zone, s], acc[s])
        for b in ti.static(range(K.RELIABILITY_BINS)):
            for s in ti.static(range(3)):
                if rel[b * 3 + s] != 0:
                    ti.atomic_add(self.reliability[w, b, s], rel[b * 3 + s])
        if k_success > 0:
            ti.atomic_add(self.kq[w, disk], k_success)
        self.tile_taught[w, tile] = ti.u8(taught)
