"""Device state of W worlds and the fused tick kernel (DESIGN §2.3–2.4, §7).

`WorldsDevice` owns every hot field (leading world axis W) and advances all worlds with one kernel launch per tick.
The tick is written as the phases of DESIGN §2.4, one `@ti.func` each (inlined: they cost nothing at run time):
per tile, each agent does one of answer_oracle / start_attempt / resolve_attempt, then compose_tile, adopt,
measure_tile; then learn_from_neighbours, learn_shared_skill and advance_prefix. Parameters, controls and
statistics are read and written by name (`p.eta`, `tally.oracle_answers`): their types derive from the one
declaration in `kernels.records`. The NumPy twin is `engine.sim.reference.ReferenceWorlds` (the same phase names);
both expose the same small interface to `engine.sim.simulation`.
"""
import numpy as np
import taichi as ti

from kernels import consensus  # feedback = "consensus" (DESIGN §2.8)
from kernels import constants as K
from kernels.attempt import attempt_batch_type, resolve_due_attempts
from kernels.launch import PreparedLaunch, usable as prepared_launch_usable
from kernels.records import BIN, CONTROLS, PARAMS, STATE_COUNTS, VOTE, WORLD, ZONE, stats_layout
from kernels.mathf import agent_key, tick_key, to_fixed, uniform


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


class TickIO:
    """What the host hands the tick kernel and gets back, one launch per tick: controls in; statistics, shared skill
    and (when recording) frames out. A plain object on purpose: every attribute read on a @ti.data_oriented instance
    goes through Taichi's own __getattribute__ (~1 µs), which at W = 1 added up to a sizeable share of a tick."""

    def __init__(self, W: int, Q: int, layout: dict):
        self.W, self.Q, self.width = W, Q, layout["width"][0]
        self.views = [(name, start, start + int(np.prod(shape)), (W, *shape))  # vote_stats: consensus mode only
                      for name, (start, shape) in layout.items() if name != "width"]
        self.controls = self.stats_out = self.skill_out = None
        self.ring: FrameRing | None = None
        self.stand_in = FrameRing(1, [0], 1, False)  # a one-cell ring: the kernel's signature is the same without
        self.launch = None  # how the kernel is launched: prepared on the first step (kernels/launch.py)


TI_KIND = {"f32": ti.f32, "i32": ti.i32, "i64": ti.i64}


def struct_type(record):
    """The Taichi struct type of a `kernels.records.Record` (one member per name)."""
    return ti.types.struct(**{name: TI_KIND[kind] for name, kind in record.fields})


Params = struct_type(PARAMS)
Controls = struct_type(CONTROLS)
WorldStats = struct_type(WORLD)
# What one tile's agents add up in one tick, flushed with one atomic per non-zero entry after the agent loop (no 64-bit
# atomic inside an inner loop: docs/gpu.md): the zone statistics by name (the per-state counts as one vector indexed
# by state code), the reliability bins, and the tile's own counts (successes that teach the shared skill, agreeing
# Success agents, live agents, whether anyone turned Success).
Tally = ti.types.struct(**{name: ti.i64 for name in ZONE.names if name not in STATE_COUNTS},
                        n_state=ti.types.vector(len(STATE_COUNTS), ti.i64),
                        reliability=ti.types.vector(K.RELIABILITY_BINS * len(BIN), ti.i64),  # bin-major
                        k_success=ti.i32, agree=ti.i32, live=ti.i32, taught=ti.i32)
# What every agent of a tile needs to know about the tile this tick.
TileTask = ti.types.struct(zone=ti.i32, move=ti.i32, true_move=ti.i32, disk=ti.i32, true_pair=ti.i32, key=ti.u32,
                           shared=ti.f32, is_open=ti.i32, complete=ti.i32, gated=ti.i32, active=ti.i32)


SERIAL_WORLDS = 64     # CPU: per-world loops of at most this many worlds run serially
SERIAL_AGENTS = 4096   # CPU: the agent and tile loops of one world of at most this many agents run serially
WORKGROUP = 128  # threads per workgroup of a parallel loop on Vulkan (Taichi's default GPU block size)


def whole_workgroups(threads: int) -> int:
    """`threads` rounded up to a multiple of WORKGROUP."""
    return -(-threads // WORKGROUP) * WORKGROUP


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

    def struct_field(self, struct, shape):
        """A dense field of a struct type whose members all have one width, placed in the tree of that width."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        widths = {np.dtype(ti.lang.util.to_numpy_type(t)).itemsize for t in struct.members.values()}
        assert len(widths) == 1, f"struct members of mixed widths {sorted(widths)}: split the record"
        width = widths.pop()
        if width not in self.builders:
            self.builders[width] = ti.FieldsBuilder()
        f = struct.field()
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
        self.zone_of_move = trees.field(ti.i32, M)         # zone of the tile that composes move k
        # per world (records of kernels.records, by name)
        self.seed = trees.field(ti.u32, W)                 # episode seed = run seed + world
        self.tick_key = trees.field(ti.u32, W)             # this tick's root of every draw (kernels.mathf.tick_key)
        self.params = trees.struct_field(Params, W)
        self.ctl = trees.struct_field(Controls, W)              # this tick's host decisions
        self.zone_active = trees.field(ti.u8, (W, Z))
        self.skill = trees.field(ti.f32, (W, Q))           # shared skill S[q]
        self.kq = trees.field(ti.i32, (W, Q))              # successful attempts per category this tick
        self.complete_tick = trees.field(ti.i32, (W, M))   # −1 until the move is composed
        self.composed = trees.field(ti.i32, (W, M))        # the composed (packed) move
        # statistics (integer atomics only); columns: kernels.records.ZONE, WORLD, BIN
        self.zone_stats = trees.field(ti.i64, (W, Z, len(ZONE)))
        self.world = trees.struct_field(WorldStats, W)
        self.reliability = trees.field(ti.i64, (W, K.RELIABILITY_BINS, len(BIN)))
        # consensus mode: per-tile vote counters V and Vp (kept until the tile is composed), per-zone vote
        # statistics (columns kernels.records.VOTE), wrong-consensus votes per category, and per agent what this
        # tick's attempt cast (kernels.consensus.COMMITTED | answer + 1). One-element stand-ins in verified mode.
        NP, WV, TV, NV = (self.P * (self.P - 1), W, T, N) if self.consensus else (1, 1, 1, 1)
        self.votes = trees.field(ti.i32, (WV, TV, NP))
        self.vote_phat = trees.field(ti.i64, (WV, TV, NP))  # Σ p̂ of V's votes, fixed point
        self.vote_stats = trees.field(ti.i64, (W, Z, len(VOTE)))
        self.kq_wrong = trees.field(ti.i32, (W, Q))
        self.cast = trees.field(ti.u8, (WV, NV))
        trees.finalize()
        self.AttemptBatch = attempt_batch_type(t * t)  # a tile's resolved attempts (kernels.attempt)
        self.out_layout = stats_layout(Z, Q, self.consensus)  # where each statistic lies in the row handed back

        # On the CPU every parallel loop of the tick wakes the thread pool (~50 µs each, issue 15.4), more than a
        # small batch's whole work: loops run on the launching thread when there is little to share.
        on_cpu = ti.lang.impl.current_cfg().arch in (ti.x64, ti.arm64)
        # One world's agent loops too: ~0.3 ms less per tick, but the whole tick then compiles as one serial task,
        # ~1 s more JIT per new shape (measured: smoke W=1, 3.7 -> 4.7 s), so only for the single-world case.
        self.serial_worlds = on_cpu and W <= SERIAL_WORLDS
        self.serial_tiles = on_cpu and W == 1 and N <= SERIAL_AGENTS
        self.io = TickIO(W, self.Q, self.out_layout)
        m = moves.astype(np.int32)
        task_tiles = move_of_tile >= 0  # every move has exactly one tile (engine.sim.layout)
        zone_of_move = np.zeros(M, np.int32)
        zone_of_move[move_of_tile[task_tiles]] = tile_zone[task_tiles]
        i32 = lambda a: np.ascontiguousarray(a, dtype=np.int32)  # noqa: E731
        self.load_layout(i32(move_of_tile), i32(tile_ring), i32(tile_zone), i32(move_of_cell),
                         np.ascontiguousarray(difficulty, dtype=np.float32), i32(m[:, 0] * 16 + m[:, 1] * 4 + m[:, 2]),
                         zone_of_move)

    @ti.kernel
    def load_layout(self, move_of_tile: ti.types.ndarray(dtype=ti.i32, ndim=1),
                    tile_ring: ti.types.ndarray(dtype=ti.i32, ndim=1), tile_zone: ti.types.ndarray(dtype=ti.i32, ndim=1),
                    move_of_cell: ti.types.ndarray(dtype=ti.i32, ndim=1),
                    difficulty: ti.types.ndarray(dtype=ti.f32, ndim=1),
                    move_packed: ti.types.ndarray(dtype=ti.i32, ndim=1),
                    zone_of_move: ti.types.ndarray(dtype=ti.i32, ndim=1)):
        """Copy the static layout in: one kernel, not one `from_numpy` per field (each is a kernel of its own to
        compile for every new batch shape)."""
        for tile in range(self.T):
            self.move_of_tile[tile] = move_of_tile[tile]
            self.tile_ring[tile] = tile_ring[tile]
            self.tile_zone[tile] = tile_zone[tile]
        for n in range(self.N):
            self.move_of_cell[n] = move_of_cell[n]
            self.difficulty[n] = difficulty[n]
        for k in range(self.M):
            self.move_packed[k] = move_packed[k]
            self.zone_of_move[k] = zone_of_move[k]

    # ---- host interface (shared with engine.sim.reference.ReferenceWorlds)
    def reset(self, seeds, params, alive0, c0, s0):
        """Start every world afresh: all agents Idle (or Dead), competence c0, shared skill s0; `params` is the
        (W,) structured array of `engine.sim.params.world_params`."""
        W, N = self.W, self.N
        params = np.ascontiguousarray(params, dtype=PARAMS.numpy_dtype())
        self.reset_worlds(np.ascontiguousarray(seeds, dtype=np.uint32),
                          params.view(np.int32).reshape(W, len(PARAMS)),  # every member is 4 bytes: one array
                          np.ascontiguousarray(np.asarray(alive0, dtype=np.uint8).reshape(W, N)),
                          np.ascontiguousarray(np.asarray(c0, dtype=np.float32).reshape(W, N)),
                          np.ascontiguousarray(np.asarray(s0, dtype=np.float32).reshape(W, self.Q)))

    @ti.kernel
    def reset_worlds(self, seeds: ti.types.ndarray(dtype=ti.u32, ndim=1),
                     packed: ti.types.ndarray(dtype=ti.i32, ndim=2), alive: ti.types.ndarray(dtype=ti.u8, ndim=2),
                     c0: ti.types.ndarray(dtype=ti.f32, ndim=2), s0: ti.types.ndarray(dtype=ti.f32, ndim=2)):
        """Every field to its start value in one kernel (one compile per batch shape instead of ~25 fill and
        from_numpy kernels): seeds, parameters (PARAMS order, floats as their bits), agents Idle or Dead with
        competence c0, shared skill s0, every count, move and statistic cleared."""
        for w in range(self.W):
            self.seed[w] = seeds[w]
            for i in ti.static(range(len(PARAMS))):
                if ti.static(PARAMS.fields[i][1] == "f32"):
                    self.params[w][PARAMS.names[i]] = ti.bit_cast(packed[w, i], ti.f32)
                else:
                    self.params[w][PARAMS.names[i]] = packed[w, i]
            for i in ti.static(range(len(WORLD))):
                self.world[w][WORLD.names[i]] = 0
        for w, n in ti.ndrange(self.W, self.N):
            self.alive[w, n] = alive[w, n]
            self.state[w, n] = ti.u8(K.IDLE) if alive[w, n] == 1 else ti.u8(K.DEAD)
            self.competence[w, n] = c0[w, n]
            self.attempts[w, n] = 0
            self.proposal[w, n] = -1
            self.confidence[w, n] = 0.0
            self.history[w, n] = ti.u32(0)
            self.due[w, n] = 0
            self.turned[w, n] = ti.u8(0)
        for w, q in ti.ndrange(self.W, self.Q):
            self.skill[w, q] = s0[w, q]
            self.kq[w, q] = 0
            self.kq_wrong[w, q] = 0
        for I in ti.grouped(self.tile_taught):
            self.tile_taught[I] = ti.u8(0)
        for I in ti.grouped(self.complete_tick):
            self.complete_tick[I] = -1
            self.composed[I] = -1
        for I in ti.grouped(self.zone_stats):
            self.zone_stats[I] = 0
        for I in ti.grouped(self.reliability):
            self.reliability[I] = 0
        for I in ti.grouped(self.votes):  # consensus mode's vote counters (one-element stand-ins otherwise)
            self.votes[I] = 0
            self.vote_phat[I] = 0
        for I in ti.grouped(self.vote_stats):
            self.vote_stats[I] = 0
        for I in ti.grouped(self.cast):
            self.cast[I] = ti.u8(0)

    def set_controls(self, ctl: np.ndarray, zone_active: np.ndarray):
        """Take this tick's host decisions (CONTROLS columns, then the active zones); they travel with the next
        launch."""
        io = self.io
        if io.controls is None:  # one buffer for every tick: the prepared launch then need not re-bind it
            io.controls = np.empty((io.W, len(CONTROLS) + self.Z), np.int32)
        io.controls[:, :len(CONTROLS)] = ctl
        io.controls[:, len(CONTROLS):] = zone_active

    def kill(self, dead: np.ndarray):
        """Kill agents (fault injection): mask (W, N) bool."""
        alive = self.alive.to_numpy() & ~np.asarray(dead, dtype=bool).reshape(self.W, self.N)
        state = self.state.to_numpy()
        state[~alive.astype(bool)] = K.DEAD
        self.alive.from_numpy(alive.astype(np.uint8))
        self.state.from_numpy(state)

    def stats(self) -> dict:
        """The last tick's statistics as NumPy arrays (small: per world and zone, not per agent)."""
        io = self.io
        row = io.stats_out
        out = {name: row[:, start:stop].reshape(shape) for name, start, stop, shape in io.views}
        out["kq"] = out["kq"].astype(np.int32)
        out["skill"] = io.skill_out
        return out

    def moves_table(self) -> tuple[np.ndarray, np.ndarray]:
        """(complete_tick, composed), both (W, M) int32."""
        complete_tick, composed = np.empty((self.W, self.M), np.int32), np.empty((self.W, self.M), np.int32)
        self.read_moves(complete_tick, composed)
        return complete_tick, composed

    @ti.kernel
    def read_moves(self, complete_tick: ti.types.ndarray(dtype=ti.i32, ndim=2),
                   composed: ti.types.ndarray(dtype=ti.i32, ndim=2)):
        """Copy the move table out (one kernel for both fields)."""
        for w, k in ti.ndrange(self.W, self.M):
            complete_tick[w, k] = self.complete_tick[w, k]
            composed[w, k] = self.composed[w, k]

    def alive_mask(self) -> np.ndarray:
        """(W, N) bool: which agents are alive now."""
        return self.alive.to_numpy().astype(bool)

    SNAPSHOT = (("state", np.uint8), ("competence", np.float32), ("attempts", np.int32), ("proposal", np.int32),
                ("confidence", np.float32), ("history", np.uint32), ("due", np.int32), ("alive", np.uint8))

    def snapshot(self) -> dict:
        """Every per-agent field as NumPy arrays, (W, N) each (tests and audits; slow for big grids)."""
        out = {name: np.empty((self.W, self.N), dtype) for name, dtype in self.SNAPSHOT}
        self.read_agents(*out.values())
        return out

    @ti.kernel
    def read_agents(self, state: ti.types.ndarray(dtype=ti.u8, ndim=2),
                    competence: ti.types.ndarray(dtype=ti.f32, ndim=2),
                    attempts: ti.types.ndarray(dtype=ti.i32, ndim=2), proposal: ti.types.ndarray(dtype=ti.i32, ndim=2),
                    confidence: ti.types.ndarray(dtype=ti.f32, ndim=2),
                    history: ti.types.ndarray(dtype=ti.u32, ndim=2), due: ti.types.ndarray(dtype=ti.i32, ndim=2),
                    alive: ti.types.ndarray(dtype=ti.u8, ndim=2)):
        """Copy the per-agent fields out in one kernel (SNAPSHOT order), not one `to_numpy` kernel per field."""
        for w, n in ti.ndrange(self.W, self.N):
            state[w, n] = self.state[w, n]
            competence[w, n] = self.competence[w, n]
            attempts[w, n] = self.attempts[w, n]
            proposal[w, n] = self.proposal[w, n]
            confidence[w, n] = self.confidence[w, n]
            history[w, n] = self.history[w, n]
            due[w, n] = self.due[w, n]
            alive[w, n] = self.alive[w, n]

    # ---- recording: a ring of frames in device memory, written by the tick kernel itself, exported per chunk
    def make_frame_ring(self, slots: int, worlds, confidence: bool):
        """A ring of `slots` frames of the recorded `worlds` (device ndarrays, so a GPU run copies nothing per tick)."""
        self.io.ring = FrameRing(slots, worlds, self.N, confidence)
        return self.io.ring

    def step(self, tick: int, frame_slot: int = -1):
        """Advance every running world by one tick in one launch: the controls go in and the statistics come out
        as kernel arguments (no separate upload or read-back launches); with `frame_slot` ≥ 0 the recorded
        worlds' state after the tick is written into that slot of the frame ring."""
        io = self.io
        io.stats_out = np.empty((io.W, io.width), np.int64)  # fresh each tick: callers may keep the last ones
        io.skill_out = np.empty((io.W, io.Q), np.float32)
        ring = io.ring if io.ring is not None else io.stand_in
        if frame_slot >= 0 and io.ring is None:
            raise ValueError("make_frame_ring before asking for frames")
        args = (tick, io.controls, io.stats_out, io.skill_out, frame_slot, ring.worlds, ring.state,
                ring.competence, ring.confidence, int(ring.with_confidence))
        if io.launch is None:  # the CPU launches through a prepared context (~10× less Python per launch)
            usable = prepared_launch_usable()
            io.launch = PreparedLaunch(self, "advance_worlds", *args) if usable else self.advance_worlds
        io.launch(*args)

    # ---- the tick
    @ti.kernel
    def advance_worlds(self, tick: ti.i32, controls: ti.types.ndarray(dtype=ti.i32, ndim=2),
                       stats_out: ti.types.ndarray(dtype=ti.i64, ndim=2),
                       skill_out: ti.types.ndarray(dtype=ti.f32, ndim=2), frame_slot: ti.i32,
                       ring_worlds: ti.types.ndarray(dtype=ti.i32, ndim=1),
                       ring_state: ti.types.ndarray(dtype=ti.u8, ndim=3),
                       ring_competence: ti.types.ndarray(dtype=ti.u8, ndim=3),
                       ring_confidence: ti.types.ndarray(dtype=ti.u8, ndim=3), with_confidence: ti.i32):
        W, G, t, L, Z = ti.static(self.W, self.G, self.t, self.L, self.Z)
        # take this tick's controls and clear its statistics. Per-world work is one loop before and one after the
        # tile loops: every top-level loop is one offloaded task with its own launch cost, which dominates a small
        # batch (issue 15.4); inside a world the work is serial and tiny.
        ti.loop_config(serialize=ti.static(self.serial_worlds))
        for w in range(W):
            for i in ti.static(range(len(CONTROLS))):
                self.ctl[w][CONTROLS.names[i]] = controls[w, i]
            self.tick_key[w] = tick_key(self.seed[w], tick)  # once per world, not once per tile
            for z in range(Z):
                self.zone_active[w, z] = ti.cast(controls[w, ti.static(len(CONTROLS)) + z], ti.u8)
                for s in ti.static(range(len(ZONE))):  # stat columns unrolled: ~10× cheaper than a struct-for
                    self.zone_stats[w, z, s] = 0
                if ti.static(self.consensus):
                    for s in ti.static(range(len(VOTE))):
                        self.vote_stats[w, z, s] = 0
            for b in range(K.RELIABILITY_BINS):
                for s in ti.static(range(len(BIN))):
                    self.reliability[w, b, s] = 0
            for q in range(self.Q):
                self.kq[w, q] = 0
                if ti.static(self.consensus):
                    self.kq_wrong[w, q] = 0

        # act, compose, adopt and measure: one thread per (world, tile), the tile's agents in turn. The range is
        # padded to whole workgroups, so every thread of every workgroup enters the loop: on llvmpipe the threads of a
        # part-filled workgroup lose their writes after their first atomics (docs/gpu.md)
        ti.loop_config(serialize=ti.static(self.serial_tiles))
        for i in range(ti.static(whole_workgroups(W * L * L))):
            if i < W * L * L:
                w, tile = i // (L * L), i % (L * L)
                k = self.move_of_tile[tile]
                if self.ctl[w].running != 0 and k >= 0:
                    if ti.static(self.consensus):
                        consensus.vote_tile(self, w, tile, k, tick)
                    else:
                        self.tick_tile(w, tile, k, tick)

        # neighbour learning (after compose, so adoptions teach too): a gather, so deterministic. One thread per
        # grid row, whose cells are contiguous (the loop over them vectorises); only the columns next to a tile
        # where someone turned Success can change (taught_span), the rest of the row is skipped.
        ti.loop_config(serialize=ti.static(self.serial_tiles))
        for w, i in ti.ndrange(W, G):
            if self.ctl[w].running != 0:
                lo, hi = self.taught_span(w, i // t)
                self.learn_from_neighbours(w, i, lo, hi)
        ti.loop_config(serialize=ti.static(self.serial_tiles))
        for w, i in ti.ndrange(W, G):
            if self.ctl[w].running != 0:
                lo, hi = self.taught_span(w, i // t)
                for j in range(lo, hi):
                    self.competence[w, i * G + j] = self.competence_next[w, i * G + j]

        # per world: shared skill, prefix (amortised O(M) over the episode), statistics out
        ti.loop_config(serialize=ti.static(self.serial_worlds))
        for w in range(W):
            if self.ctl[w].running != 0:
                for q in range(self.Q):
                    if ti.static(self.consensus):
                        consensus.learn_shared_skill_from_votes(self, w, q)
                    else:
                        self.learn_shared_skill(w, q)
                self.advance_prefix(w)
            self.hand_back_statistics(w, stats_out, skill_out)

        # record a frame: state and quantised competence (round(255·c)) of the recorded worlds
        ti.loop_config(serialize=ti.static(self.serial_tiles))
        for r, n in ti.ndrange(ring_state.shape[1], ring_state.shape[2]):
            if frame_slot >= 0:
                w = ring_worlds[r]
                ring_state[frame_slot, r, n] = self.state[w, n]
                ring_competence[frame_slot, r, n] = ti.cast(ti.floor(self.competence[w, n] * 255.0 + 0.5), ti.u8)
                if with_confidence != 0:
                    ring_confidence[frame_slot, r, n] = ti.cast(ti.floor(self.confidence[w, n] * 255.0 + 0.5),
                                                                ti.u8)

    @ti.func
    def hand_back_statistics(self, w, stats_out: ti.template(), skill_out: ti.template()):
        """Write world w's statistics of this tick into its row of the caller's array, laid out by
        `kernels.records.stats_layout`."""
        Z, Q, NZ, NW, NB = ti.static(self.Z, self.Q, len(ZONE), len(WORLD), len(BIN))
        zones, totals = ti.static(self.out_layout["zone_stats"][0], self.out_layout["world_totals"][0])
        world, bins, kq = ti.static(self.out_layout["world_stats"][0], self.out_layout["reliability"][0],
                                    self.out_layout["kq"][0])
        total = ti.Vector([0] * NZ, dt=ti.i64)  # the zone statistics summed over zones: the host's per-world view
        for z in range(Z):
            for s in ti.static(range(NZ)):
                value = self.zone_stats[w, z, s]
                stats_out[w, zones + z * NZ + s] = value
                total[s] += value
        for s in ti.static(range(NZ)):
            stats_out[w, totals + s] = total[s]
        for s in ti.static(range(NW)):
            stats_out[w, world + s] = self.world[w][WORLD.names[s]]
        for b in range(K.RELIABILITY_BINS):
            for s in ti.static(range(NB)):
                stats_out[w, bins + b * NB + s] = self.reliability[w, b, s]
        for q in range(Q):
            stats_out[w, kq + q] = ti.cast(self.kq[w, q], ti.i64)
            skill_out[w, q] = self.skill[w, q]
        if ti.static(self.consensus):
            votes = ti.static(self.out_layout["vote_stats"][0])
            for z in range(Z):
                for s in ti.static(range(len(VOTE))):
                    stats_out[w, votes + z * ti.static(len(VOTE)) + s] = self.vote_stats[w, z, s]

    # ---- the phases of one tile (DESIGN §2.4 steps 2–4)
    @ti.func
    def tick_tile(self, w, tile, k, tick):
        """One tile of one world: each agent acts (answer_oracle, start_attempt or resolve_attempt), then the tile
        composes its move when τ_green agree, the rest adopt it, and the tile is measured."""
        G, t, L = ti.static(self.G, self.t, self.L)
        p, ctl = self.params[w], self.ctl[w]
        task = self.tile_task(w, tile, k, tick, p, ctl)
        tally = Tally(0)
        ty, tx = tile // L, tile % L
        batch = self.AttemptBatch(0)  # the due attempts' proposals and confidences
        if task.is_open != 0:
            batch = resolve_due_attempts(self, w, ty, tx, tick, task.key, task.shared, task.true_move, task.disk,
                                         task.true_pair, p)
            tally.resolved = batch.count
            tally.correct = batch.correct
            tally.nll_fx = batch.nll_fx
            tally.brier_fx = batch.brier_fx
            tally.phat_fx = batch.phat_fx
            tally.reliability = batch.reliability
        for lane in range(t * t):
            n = (ty * t + lane // t) * G + tx * t + lane % t
            self.turned[w, n] = ti.u8(0)
            st = ti.cast(self.state[w, n], ti.i32)
            if task.is_open != 0 and self.alive[w, n] != 0:
                tally.active += 1
                if st == K.WAITING:
                    if tick >= self.due[w, n] and ctl.oracle_up != 0:
                        self.answer_oracle(w, n, task, p, tally)
                elif st == K.IDLE or st == K.FAILURE:
                    if task.active != 0:
                        self.start_attempt(w, n, tick, p, tally)
                elif st == K.WORKING and tick >= self.due[w, n]:
                    self.resolve_attempt(w, n, tick, batch.right[lane], batch.z[lane], p, ctl, tally)
            if self.state[w, n] == K.SUCCESS and self.proposal[w, n] == task.true_move:
                tally.agree += 1
        if task.is_open != 0 and tally.agree >= p.tau_green:
            self.compose_tile(w, tick, task, tally)
            self.adopt(w, tile, task, p, tally)
        self.measure_tile(w, tile, task, p, tally)

    @ti.func
    def tile_task(self, w, tile, k, tick, p: ti.template(), ctl: ti.template()):
        """The tile's move and whether it is open (unlocked, not complete, not waiting for its predecessor)."""
        P = ti.static(self.P)
        task = TileTask(0)
        task.zone = self.tile_zone[tile]
        task.move = k
        task.true_move = self.move_packed[k]
        task.disk = task.true_move >> 4
        src, dst = (task.true_move >> 2) & 3, task.true_move & 3
        task.true_pair = src * (P - 1) + dst - ti.select(dst > src, 1, 0)
        task.key = self.tick_key[w]
        task.shared = self.skill[w, task.disk]
        complete = self.complete_tick[w, k] >= 0
        unlocked = self.tile_ring[tile] <= ctl.stage
        gated = (p.order_prefix != 0) and (k > self.world[w].prefix)
        task.complete = ti.select(complete, 1, 0)
        task.gated = ti.select(gated, 1, 0)
        task.is_open = ti.select(unlocked and (not complete) and (not gated), 1, 0)
        task.active = ti.select(self.zone_active[w, task.zone] != 0, 1, 0)
        return task

    @ti.func
    def answer_oracle(self, w, n, task: ti.template(), p: ti.template(), tally: ti.template()):
        """WaitingOracle and due: right with probability 1 − error → Success with the true move, c += η_oracle(1 − c);
        else Failure, a += 1."""
        tally.oracle_answers += 1
        if uniform(agent_key(task.key, n), K.DRAW_ORACLE) < p.oracle_ok:
            c = self.competence[w, n]
            self.state[w, n] = ti.u8(K.SUCCESS)
            self.proposal[w, n] = task.true_move
            self.competence[w, n] = c + p.eta_oracle * (1.0 - c)
            self.turned[w, n] = ti.u8(1)
            if p.distill != 0:
                tally.k_success += 1
        else:
            self.state[w, n] = ti.u8(K.FAILURE)
            self.attempts[w, n] += 1
            tally.oracle_wrong += 1

    @ti.func
    def start_attempt(self, w, n, tick, p: ti.template(), tally: ti.template()):
        """Idle or Failure in an active zone: Working, due after the SLM latency."""
        self.state[w, n] = ti.u8(K.WORKING)
        self.due[w, n] = tick + p.slm_latency
        tally.started += 1

    @ti.func
    def resolve_attempt(self, w, n, tick, right, z, p: ti.template(), ctl: ti.template(), tally: ti.template()):
        """Working and due, its proposal and confidence made (kernels.attempt.resolve_due_attempts): escalate (p̂
        low, enough failures, oracle available) or commit (verified: Success or Failure)."""
        a = self.attempts[w, n]
        if z < p.z_escalate and a >= p.a_escalate and ctl.oracle_available != 0:
            self.state[w, n] = ti.u8(K.WAITING)
            self.due[w, n] = tick + p.oracle_latency
            tally.escalated += 1
            tally.escalated_wrong += 1 - right
        elif right != 0:
            c = self.competence[w, n]
            self.state[w, n] = ti.u8(K.SUCCESS)
            self.competence[w, n] = c + p.eta * (1.0 - c)
            self.turned[w, n] = ti.u8(1)
            tally.commit_success += 1
            tally.k_success += 1
        else:
            self.state[w, n] = ti.u8(K.FAILURE)
            self.attempts[w, n] = a + 1
            tally.commit_failure += 1

    @ti.func
    def compose_tile(self, w, tick, task: ti.template(), tally: ti.template()):
        """τ_green agreeing Success agents complete the tile's move: record it and its tick."""
        task.complete = 1
        self.complete_tick[w, task.move] = tick
        self.composed[w, task.move] = task.true_move
        ti.atomic_add(self.world[w].moves_done, ti.i64(1))
        tally.completed_now += 1

    @ti.func
    def adopt(self, w, tile, task: ti.template(), p: ti.template(), tally: ti.template()):
        """The tile's other live agents adopt the composed move: Success, c += η(1 − c)."""
        G, t, L = ti.static(self.G, self.t, self.L)
        ty, tx = tile // L, tile % L
        for a_i, a_j in ti.ndrange(t, t):
            n = (ty * t + a_i) * G + tx * t + a_j
            if self.alive[w, n] != 0 and self.state[w, n] != K.SUCCESS:
                self.state[w, n] = ti.u8(K.SUCCESS)
                self.proposal[w, n] = task.true_move
                self.competence[w, n] = self.competence[w, n] + p.eta * (1.0 - self.competence[w, n])
                self.turned[w, n] = ti.u8(1)
                tally.adopted += 1
                if p.distill != 0:
                    tally.k_success += 1

    @ti.func
    def measure_tile(self, w, tile, task: ti.template(), p: ti.template(), tally: ti.template()):
        """Count the tile's agents by state and sum their competence, then add the tally to the zone statistics and
        reliability bins (integer atomics, skipped when zero) and the tile's successes to k_q."""
        G, t, L = ti.static(self.G, self.t, self.L)
        ty, tx = tile // L, tile % L
        for a_i, a_j in ti.ndrange(t, t):
            n = (ty * t + a_i) * G + tx * t + a_j
            st = ti.cast(self.state[w, n], ti.i32)
            tally.taught |= ti.cast(self.turned[w, n], ti.i32)
            tally.n_state[st] += 1
            if st != K.DEAD:
                tally.live += 1
                tally.competence_fx += to_fixed(self.competence[w, n])
        if task.complete == 0:
            if task.gated == 0:
                tally.open_tiles += 1
            if tally.live >= p.tau_green:
                tally.completable += 1
        for s in ti.static(range(len(ZONE))):
            value = ti.i64(0)
            if ti.static(ZONE.names[s] in STATE_COUNTS):
                value = tally.n_state[ti.static(STATE_COUNTS.index(ZONE.names[s]))]
            else:
                value = tally[ZONE.names[s]]
            if value != 0:
                ti.atomic_add(self.zone_stats[w, task.zone, s], value)
        for b in ti.static(range(K.RELIABILITY_BINS)):
            for s in ti.static(range(len(BIN))):
                if tally.reliability[b * ti.static(len(BIN)) + s] != 0:
                    ti.atomic_add(self.reliability[w, b, s], tally.reliability[b * ti.static(len(BIN)) + s])
        if tally.k_success > 0:
            ti.atomic_add(self.kq[w, task.disk], tally.k_success)
        self.tile_taught[w, tile] = ti.u8(tally.taught)

    # ---- learning (DESIGN §2.4 step 2 "cooperation" and step 5) and the prefix
    @ti.func
    def taught_span(self, w, ty):
        """The columns [lo, hi) of tile row ty whose agents may have a neighbour that turned Success this tick: the
        tiles next to (or in) a tile where someone did, among tile rows ty − 1 … ty + 1. Empty (lo ≥ hi) when none;
        the other agents cannot change."""
        L, t = ti.static(self.L, self.t)
        lo, hi = L, -1
        for tx in range(L):
            taught = 0
            for r in ti.static(range(-1, 2)):
                taught |= ti.cast(self.tile_taught[w, ti.min(ti.max(ty + r, 0), L - 1) * L + tx], ti.i32)
            if taught != 0:
                lo = ti.min(lo, tx - 1)
                hi = ti.max(hi, tx + 1)
        return ti.max(lo, 0) * t, (ti.min(hi, L - 1) + 1) * t

    @ti.func
    def learn_from_neighbours(self, w, i, lo, hi):
        """Grid row i, columns lo … hi − 1: c_j += η_nbr·max(0, c_i − c_j) for each neighbour i that turned, in the order N, E, S, W →
        competence_next.

        Branch-free (clamped neighbour index × inside mask; dead agents and cells without a task keep c by a
        select), so the loop over the row's cells vectorises; an agent whose neighbours did not turn keeps c
        exactly (the update adds η·0)."""
        G = ti.static(self.G)
        eta_nbr = self.params[w].eta_nbr
        for j in range(lo, hi):
            n = i * G + j
            c0 = self.competence[w, n]
            c = c0
            for d in ti.static(range(4)):  # N, E, S, W
                di, dj = ti.static(((-1, 0), (0, 1), (1, 0), (0, -1))[d])
                ii, jj = i + di, j + dj
                inside = ti.select((ii >= 0) and (ii < G) and (jj >= 0) and (jj < G), 1.0, 0.0)
                m = ti.min(ti.max(ii, 0), G - 1) * G + ti.min(ti.max(jj, 0), G - 1)
                gate = ti.cast(self.turned[w, m], ti.f32) * inside
                c = c + eta_nbr * (gate * ti.max(0.0, self.competence[w, m] - c))
            learns = self.alive[w, n] != 0 and self.move_of_cell[n] >= 0
            self.competence_next[w, n] = ti.select(learns, c, c0)

    @ti.func
    def learn_shared_skill(self, w, q):
        """S[q] ← 1 − (1 − S[q])(1 − η_shared)^k_q, the power by squaring."""
        kk = self.kq[w, q]
        base = 1.0 - self.params[w].eta_shared
        power = ti.f32(1.0)
        while kk > 0:
            if kk & 1:
                power = power * base
            base = base * base
            kk = kk >> 1
        self.skill[w, q] = 1.0 - (1.0 - self.skill[w, q]) * power

    @ti.func
    def advance_prefix(self, w):
        """Extend the world's complete prefix over the moves composed since; in prefix order the move it now
        reaches is no longer gated, so its zone counts it as open this tick already (the manager may activate that
        zone on the next tick instead of one tick later)."""
        before = ti.cast(self.world[w].prefix, ti.i32)
        prefix = before
        while prefix < self.M and self.complete_tick[w, prefix] >= 0:
            prefix += 1
        self.world[w].prefix = prefix
        # move `prefix` was measured gated (k > the old prefix) and is not complete (the loop stopped there)
        if self.params[w].order_prefix != 0 and prefix > before and prefix < self.M:
            self.zone_stats[w, self.zone_of_move[prefix], ZONE.open_tiles] += 1
