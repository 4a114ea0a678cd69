"""The host loop: scenario → device state → ticks → outcomes (DESIGN §2.2, §2.4, §2.6).

Simulation
----------
- `Simulation(scenario, seed=0, worlds=1, arch="auto", backend="taichi", variants=None)` steps W worlds at once.
  World w is the episode with seed `seed + w`: its trajectory does not depend on W or on the other worlds.
  `variants` (optional, one Scenario per world) give each world its own knobs and manager; grid, tile, task,
  layout and faults must be the same for all worlds of one batch.
- `step()` advances every running world by one tick; `run(max_ticks=None)` until every world has an outcome.
- Per world outcome: "complete" (every move composed; the plan is then validated), "stalled" (no open tile can
  still complete, or no move and no stage for `stall_ticks`), "max_ticks", or "interrupted".
- `summary()` returns per-world figures and the batch totals as plain Python data.
- Backends: "taichi" (kernels/, one launch per tick) or "reference" (engine/sim/reference.py, NumPy): the same
  interface, bit-identical on the CPU.
"""
from __future__ import annotations

import os
import time

import numpy as np

from engine.sim.invariants import check_tick
from engine.sim.layout import build_layout
from engine.sim.metrics import world_metrics
from engine.managers import ManagerError, ZoneObservation, manager_class
from engine.sim.manager_check import check_manager
from engine.sim.memory import check_memory
from engine.sim.params import world_params
from engine.sim.seeds import check_seed_range, check_seeds
from engine.sim.tasks import make_task
from kernels import constants as K
from kernels.records import BIN, CONTROLS, GROUND_TRUTH, VOTE, WORLD, ZONE
from scenarios.errors import ScenarioError

TRUTH_ZONE = [getattr(ZONE, c) for c in GROUND_TRUTH["zone"]]  # the columns no manager may see (consensus mode)
TRUTH_VOTE = [getattr(VOTE, c) for c in GROUND_TRUTH["vote"]]


def batch_key(scenario) -> tuple:
    """What worlds of one batch must share: everything the static layout and the task are built from."""
    ag = scenario.agents
    return (scenario.grid.size, scenario.grid.tile, scenario.task.kind, scenario.task.disks, scenario.task.pegs,
            scenario.layout, scenario.faults, scenario.curriculum.radii, ag.c0_patches,
            ag.c0 if ag.c0_patches is not None else None,
            scenario.consensus.feedback)  # the kernel is compiled for one feedback mode


def build_world_layout(scenario):
    """The static layout (mapping, difficulty, zones, dead mask) shared by every world of a batch."""
    from engine.sim import spatial_maps

    g, lay, fl, ag = scenario.grid, scenario.layout, scenario.faults, scenario.agents
    task = make_task(scenario.task.kind, scenario.task.disks, scenario.task.pegs)
    base = getattr(scenario, "base_dir", None)
    here = lambda p: os.path.join(str(base), p) if base else p  # noqa: E731
    def read(key: str, reader, source):
        try:
            return reader(source, g.size)
        except ValueError as err:  # a map the loader could only check for existence: one line naming the key
            raise ScenarioError(f"{scenario.source}: {key}: {err}") from None

    difficulty = None
    if lay.difficulty_ascii:
        difficulty = read("layout.difficulty_ascii", spatial_maps.map_from_ascii, lay.difficulty_ascii)
    elif lay.difficulty != "radial":
        difficulty = read("layout.difficulty", spatial_maps.map_from_png, here(lay.difficulty))
    dead = None
    if fl.dead_ascii:
        dead = read("faults.dead_ascii", spatial_maps.mask_from_ascii, fl.dead_ascii)
    if fl.dead_png:
        png = read("faults.dead_png", spatial_maps.mask_from_png, here(fl.dead_png))
        dead = png if dead is None else dead | png
    patches = ag.c0_patches
    layout = build_layout(
        g.size, g.tile, task.n_moves, mapping=lay.mapping, radii=tuple(scenario.curriculum.radii),
        sectors=lay.sectors, seed=lay.seed, difficulty_map=difficulty, dead_share=fl.dead_share, dead_mask=dead,
        c0=ag.c0, c0_patches=None if patches is None else (patches.count, patches.radius, patches.inside,
                                                           patches.outside))
    far = layout.move_of_tile >= 0
    if np.any(layout.tile_ring[far] >= layout.n_rings):
        worst = float(layout.tile_difficulty[far].max())
        raise ScenarioError(
            f"{scenario.source}: curriculum.radii ends at {scenario.curriculum.radii[-1]} but the farthest task "
            f"tile has difficulty {worst:.3f}; make the last radius ≥ {np.ceil(worst * 100) / 100:.2f}")
    return task, layout


class Simulation:
    """W worlds of one scenario stepped together; see the module docstring for the contract."""

    def __init__(self, scenario, seed: int = 0, worlds: int = 1, arch: str = "auto", backend: str = "taichi",
                 variants=None, seeds=None, record: bool = False):
        if worlds < 1:
            raise ScenarioError(f"--worlds must be ≥ 1, got {worlds}")
        self.scenario = scenario
        self.W, self.backend = int(worlds), backend
        if seeds is None:
            check_seed_range(seed, self.W)
        self.task, self.layout = build_world_layout(scenario)
        # before any allocation per world (even the lists below) or JIT; `record`: a recorder will be attached
        check_memory(scenario, worlds, self.layout.n_zones, record=record)
        self.variants = list(variants) if variants is not None else [scenario] * worlds
        if len(self.variants) != worlds:
            raise ValueError("variants must hold one scenario per world")
        if any(batch_key(v) != batch_key(scenario) for v in self.variants):
            raise ValueError("worlds of one batch must share grid, task, layout, faults, stage radii and c0 map")
        # world w is the episode with seed `seed + w`, or `seeds[w]` when given (sweeps pair seeds across knobs)
        self.seeds = check_seeds(seed, self.W, seeds)
        if self.seeds.shape != (self.W,):
            raise ValueError("seeds must hold one episode seed per world")
        self.seed = int(self.seeds[0])
        self.M, self.Z = self.task.n_moves, self.layout.n_zones
        self.prefix_order = scenario.layout.order == "prefix"
        for v in {v.curriculum: v for v in self.variants}.values():  # the checks `scenario check` makes
            check_manager(v, self.layout.zone_ring)
        self._make_managers()  # fail on a bad plugin before any allocation or JIT
        self.arch = self.device_label = "numpy"
        self.consensus = scenario.consensus.feedback == "consensus"
        extra = {}
        if backend == "taichi":
            from engine.sim.arch import device_label, init_taichi
            self.arch = init_taichi(arch)
            self.device_label = device_label()  # e.g. "vulkan: llvmpipe (…)": what the summary and manifest name
            from kernels.worlds import WorldsDevice as Device
            extra = {"consensus": self.consensus}
        elif backend == "reference" and self.consensus:
            from engine.sim.consensus_reference import ConsensusReferenceWorlds as Device
        elif backend == "reference":
            from engine.sim.reference import ReferenceWorlds as Device
        else:
            raise ValueError(f"unknown backend {backend!r}")
        lay = self.layout
        self.device = Device(self.W, lay.size, lay.tile, self.Z, self.task.n_pegs, self.task.moves,
                             lay.move_of_tile, lay.tile_ring, lay.tile_zone, lay.move_of_cell, lay.difficulty,
                             **extra)
        self.reset()
        self.device.moves_table()  # JIT the move read-back now (with the rest of setup), not inside the first ticks

    # ---- setup
    def _make_managers(self):
        """Group worlds by their whole [curriculum] section: each group gets one vectorised manager instance,
        so every world runs with its own manager knobs."""
        groups: dict = {}
        for w, v in enumerate(self.variants):
            groups.setdefault(v.curriculum, []).append(w)
        managers = []
        for curriculum, rows in groups.items():
            try:
                cls = manager_class(curriculum.manager)
            except ManagerError as err:
                raise ScenarioError(f"{self.scenario.source}: curriculum.manager: {err}") from None
            rows = np.asarray(rows)
            managers.append((rows, cls(self.variants[rows[0]].curriculum, self.seeds[rows], self.layout.zone_ring)))
        return managers

    def reset(self):
        """Put every world back at tick 0 (managers too: fresh posteriors and random streams)."""
        W, lay = self.W, self.layout
        self.managers = self._make_managers()
        N = lay.size * lay.size
        params = world_params(self.variants)
        alive0 = np.broadcast_to(lay.alive0.astype(np.uint8), (W, N))
        c0_cells = lay.c0_map if lay.c0_map is not None else None
        c0 = np.stack([c0_cells if c0_cells is not None else np.full(N, np.float32(v.agents.c0), np.float32)
                       for v in self.variants])
        s0 = np.stack([np.full(self.task.n_categories, np.float32(v.agents.s0), np.float32) for v in self.variants])
        self.device.reset(self.seeds.astype(np.uint32), params, alive0, c0, s0)
        self.knobs = {  # per-world host-side knobs as arrays, so the per-tick bookkeeping is vectorised
            "budget": np.array([v.oracle.budget for v in self.variants], np.int64),
            "oracle_enabled": np.array([v.oracle.enabled for v in self.variants], bool),
            "tau_stage": np.array([v.curriculum.tau_stage for v in self.variants]),
            "stall_ticks": np.array([v.task.stall_ticks for v in self.variants], np.int64),
            "max_ticks": np.array([v.task.max_ticks for v in self.variants], np.int64),
        }
        self.first_cap = int(self.knobs["max_ticks"].min())  # no world reaches max_ticks before this tick
        self.tick = 0
        self.has_task = lay.move_of_cell >= 0  # the agents the state counts cover (engine.sim.invariants)
        self.alive_task = lay.alive0.astype(bool) & self.has_task
        # their counts, for the per-tick invariants check (alive_task changes only in _apply_faults)
        self.n_task, self.n_live_task = int(self.has_task.sum()), int(self.alive_task.sum())
        # per stage s: agents with a task in the zones beyond R_s (ring > s), alive or not (_advance_stages)
        per_zone = np.bincount(lay.tile_zone[lay.tile_of_cell[self.has_task]], minlength=self.Z)
        self.tasks_beyond = np.array([per_zone[lay.zone_ring > s].sum() for s in range(lay.n_rings)], np.int64)
        # per stage s: 1 + the last zone of ring ≤ s (every unlocked zone lies below it; rings are contiguous)
        self.zones_upto = np.array([np.flatnonzero(lay.zone_ring <= s)[-1] + 1 if (lay.zone_ring <= s).any() else 0
                                    for s in range(lay.n_rings)])
        n_rings = lay.n_rings
        self.unlock_all = np.zeros(W, bool)
        for rows, m in self.managers:
            self.unlock_all[rows] = bool(getattr(m, "unlock_all", False))
        self.stage = np.where(self.unlock_all, n_rings - 1, 0).astype(np.int32)
        self._stage_changed()
        self.ctl = np.zeros((W, len(CONTROLS)), np.int32)  # this tick's controls, rewritten in place each tick
        self.running = np.ones(W, bool)
        self.outcome = [None] * W
        self.end_tick = np.zeros(W, np.int64)
        self.last_progress = np.zeros(W, np.int64)
        self.stage_ticks = [[0] for _ in range(W)]  # tick at which each stage began
        self.zone_stats = np.zeros((W, self.Z, len(ZONE)), np.int64)
        # consensus mode: the last tick's vote statistics per zone, and their totals over the episode
        self.vote_stats = np.zeros((W, self.Z, len(VOTE)), np.int64) if self.consensus else None
        self.vote_totals = np.zeros((W, len(VOTE)), np.int64)
        self.masked_stats = None
        # before the first tick every task tile is open, except those waiting for their predecessor
        first_open = lay.move_of_tile == 0 if self.scenario.layout.order == "prefix" else lay.move_of_tile >= 0
        self.open_tiles = np.zeros((W, self.Z), np.int64)
        np.add.at(self.open_tiles, (slice(None), lay.tile_zone[first_open]), 1)
        self.totals = np.zeros((W, len(ZONE)), np.int64)  # per-tick counters summed over zones and ticks
        self.reliability = np.zeros((W, K.RELIABILITY_BINS, len(BIN)), np.int64)
        self.world_stats = np.zeros((W, len(WORLD)), np.int64)
        self.plan_check = [None] * W
        self._errors = (-1, np.zeros(W, np.int64), np.full(W, -1, np.int64))  # (tick computed at, errors, first)
        self.wall = 0.0
        self.first_tick_s = 0.0  # wall time of tick 0, the JIT compile included (part of `wall`)
        self.unlimited_oracle = bool((self.knobs["budget"] < 0).all())
        self.oracle_up = np.ones(W, bool)
        self.listeners = []  # callables(sim, stats) run after every tick (recorder, progress)
        self.frame_request = None  # callable(tick) → frame-ring slot to record after this tick, or −1

    @property
    def agent_steps(self) -> int:
        """Live agents with a task in running worlds, summed over the ticks since reset (the kernel leaves the
        rows of ended worlds at zero, so this is a column of `totals`)."""
        return int(self.totals[:, ZONE.live_state_counts].sum())

    @property
    def active_agent_steps(self) -> int:
        """Of `agent_steps`, the agents in open tiles: what the ticks really advanced."""
        return int(self.totals[:, ZONE.active].sum())

    @property
    def oracle_calls(self) -> np.ndarray:
        """(W,) oracle calls so far: escalations, and in consensus mode audits too (zero columns otherwise)."""
        return self.totals[:, ZONE.escalated] + self.vote_totals[:, VOTE.audits]

    def _stage_changed(self, rows=None):
        """Recompute what follows from `stage` (of the worlds `rows` only, when given): the unlocked zones (ring ≤
        stage; a new read-only array, since managers see it) and the worlds whose stage can still advance."""
        lay = self.layout
        if rows is None:
            unlocked = lay.zone_ring[None, :] <= self.stage[:, None]
        else:
            unlocked = self.unlocked.copy()
            unlocked[rows] = lay.zone_ring[None, :] <= self.stage[rows, None]
        unlocked.flags.writeable = False
        self.unlocked = unlocked
        # the zones up to the last one unlocked in any world (_advance_stages sums over these only)
        self.unlocked_upto = int(self.zones_upto[self.stage.max()])
        self.may_advance = ~self.unlock_all & (self.stage < lay.n_rings - 1)
        self.open_zones = None  # recomputed on demand (observation)

    # ---- one tick
    def _oracle_flags(self):
        """(available, up) per world: up = not in an outage; available = enabled, up and budget left."""
        outage = any(o.start <= self.tick < o.end for o in self.scenario.faults.oracle_outage)  # batch-wide
        if not outage and self.unlimited_oracle:  # the usual case: the same flags every tick
            return self.knobs["oracle_enabled"], self.oracle_up
        up = np.full(self.W, not outage)
        budget = self.knobs["budget"]
        avail = self.knobs["oracle_enabled"] & up & ((budget < 0) | (self.oracle_calls < budget))
        return avail, up

    def observation(self, rows) -> ZoneObservation:
        """The zone view a manager gets for its worlds."""
        if self.open_zones is None:  # kept until the stage or the open tiles change: a tick's update and the
            # next tick's choose usually see the same mask (read-only, like `unlocked`: managers share it)
            self.open_zones = self.unlocked & (self.open_tiles > 0)
            self.open_zones.flags.writeable = False
        if self.consensus and self.masked_stats is None:  # no ground truth reaches a manager, built-in or plugin
            zone_stats, vote_stats = self.zone_stats.copy(), self.vote_stats.copy()  # (DESIGN §2.8.7); one copy
            zone_stats[..., TRUTH_ZONE] = 0  # per tick, shared by the update and the next choose, so read-only
            vote_stats[..., TRUTH_VOTE] = 0
            zone_stats.flags.writeable = vote_stats.flags.writeable = False
            self.masked_stats = zone_stats, vote_stats
        zone_stats, vote_stats = self.masked_stats if self.consensus else (self.zone_stats, self.vote_stats)
        if len(rows) == self.W:  # one manager for the whole batch: the arrays themselves, not copies
            return ZoneObservation(tick=self.tick, stage=self.stage, running=self.running, unlocked=self.unlocked,
                                   open=self.open_zones, zone_stats=zone_stats, vote_stats=vote_stats)
        return ZoneObservation(tick=self.tick, stage=self.stage[rows], running=self.running[rows],
                               unlocked=self.unlocked[rows], open=self.open_zones[rows], zone_stats=zone_stats[rows],
                               vote_stats=None if vote_stats is None else vote_stats[rows])

    def _apply_faults(self):
        """Agents scheduled to die at this tick die now (same cells in every world: a layout property)."""
        if not self.scenario.faults.die_at:
            return
        for i, event in enumerate(self.scenario.faults.die_at):
            if event.tick == self.tick and event.share > 0:
                rng = np.random.default_rng([self.scenario.layout.seed, 7919, i])
                n = self.layout.size ** 2
                dead = np.zeros(n, bool)
                dead[rng.choice(n, size=int(round(event.share * n)), replace=False)] = True
                self.device.kill(np.broadcast_to(dead, (self.W, n)))
                self.alive_task &= ~dead
                self.n_live_task = int(self.alive_task.sum())

    def step(self):
        """Advance every running world by one tick and settle outcomes."""
        if not self.running.any():
            return
        started = time.perf_counter()
        self._apply_faults()
        if len(self.managers) == 1:  # one manager for every world: no per-group assembly
            obs = self.observation(self.managers[0][0])
            active = np.asarray(self.managers[0][1].choose(obs), dtype=bool) & obs.open
        else:
            active = np.zeros((self.W, self.Z), bool)
            for rows, manager in self.managers:
                obs = self.observation(rows)
                active[rows] = np.asarray(manager.choose(obs), dtype=bool) & obs.open
        active &= self.running[:, None]
        avail, up = self._oracle_flags()
        ctl = self.ctl  # the devices copy it (set_controls), so one buffer serves every tick
        ctl[:, CONTROLS.running], ctl[:, CONTROLS.stage] = self.running, self.stage
        ctl[:, CONTROLS.oracle_available], ctl[:, CONTROLS.oracle_up] = avail, up
        self.device.set_controls(ctl, active)
        self.device.step(self.tick, self.frame_request(self.tick) if self.frame_request else -1)
        stats = self.device.stats()
        check_tick(self.arch, self.tick, self.running, stats, self.world_stats, self.n_live_task, self.n_task,
                   self.M)
        self._absorb(stats)
        self.active = active
        for rows, manager in self.managers:
            manager.update(self.observation(rows))
        self._advance_stages()
        self._settle_outcomes()
        for listener in self.listeners:
            listener(self, stats)
        spent = time.perf_counter() - started
        self.wall += spent
        if self.tick == 0:  # the first tick compiles the tick kernel (JIT) unless Taichi's offline cache has it
            self.first_tick_s = spent
        self.tick += 1

    def _absorb(self, stats):
        """Fold this tick's statistics into the running totals. The kernel leaves the rows of ended worlds at
        zero, so the per-tick counters are summed unmasked; the latest per-zone view is kept per running world."""
        run = self.running
        zs = stats["zone_stats"]
        per_world = stats["world_totals"]
        self.totals += per_world
        self.reliability += stats["reliability"]
        self.open_zones = self.masked_stats = None  # the managers' views of the last tick (observation)
        if self.consensus:
            votes = stats["vote_stats"]
            self.vote_totals += votes.sum(axis=1)
        if run.all():
            self.zone_stats = zs
            self.open_tiles = zs[:, :, ZONE.open_tiles]
            if self.consensus:
                self.vote_stats = votes
        else:
            self.zone_stats[run] = zs[run]
            self.open_tiles[run] = zs[run, :, ZONE.open_tiles]
            if self.consensus:
                self.vote_stats[run] = votes[run]
        moved = stats["world_stats"][:, WORLD.moves_done] > self.world_stats[:, WORLD.moves_done]
        self.last_progress[run & moved] = self.tick
        self.world_stats = stats["world_stats"].copy()
        self.skill = stats["skill"]
        self.last_stats = stats

    def _advance_stages(self):
        """Open the next stage where the Success share of agents with a task inside R_s reaches τ_stage."""
        candidates = self.running & self.may_advance
        if not candidates.any():  # every world at its last stage (or ended): nothing to sum
            return
        if not self.prefix_order:
            # A necessary condition from this tick's per-world totals, so that only the few worlds near τ_stage
            # need their zone statistics summed: the Success agents inside R_s are at most all of them, and the live
            # agents inside R_s at least the live ones (check_tick: n_live_task in a running world) minus every agent
            # beyond R_s. Prefix order leaves gated agents out of the share, which this bound does not cover.
            success = self.last_stats["world_totals"][:, ZONE.n_success]
            candidates &= success >= self.knobs["tau_stage"] * (self.n_live_task - self.tasks_beyond[self.stage])
        rows = candidates.nonzero()[0]
        if rows.size == 0:
            return
        # per candidate world, each live state's count summed over the unlocked zones (ring ≤ stage): one integer
        # matmul over the zones up to the last one unlocked in any world
        upto = self.unlocked_upto
        counts = self.zone_stats[rows, :upto, ZONE.live_state_counts]
        inside = np.matmul(self.unlocked[rows, None, :upto].astype(np.int64), counts)[:, 0]
        live, success = inside.sum(axis=1), inside[:, ZONE.n_success - ZONE.live_state_counts.start]
        if self.prefix_order:
            live = live - self._gated_live_inside()[rows]
        advance = rows[(live > 0) & (success >= self.knobs["tau_stage"][rows] * live)]
        if advance.size == 0:
            return
        for w in advance:
            self.stage_ticks[w].append(self.tick + 1)
        self.stage[advance] += 1
        self.last_progress[advance] = self.tick
        self._stage_changed(advance)

    def _gated_live_inside(self) -> np.ndarray:
        """Per world: live agents inside R_s of the tiles that wait for their predecessor (move k > the complete
        prefix). In prefix order they cannot work by design, so the stage share leaves them out: otherwise a ring
        whose next move lies in a locked ring never reaches τ_stage (a deadlock). Gated tiles never worked, so
        none of their agents is Success; `alive_task` is the same in every world (faults hit the same cells)."""
        lay = self.layout
        live_tile = np.bincount(lay.tile_of_cell, weights=self.alive_task, minlength=lay.lattice ** 2)
        gated = lay.move_of_tile[None, :] > self.world_stats[:, WORLD.prefix][:, None]  # −1 (no task) never
        in_ring = lay.tile_ring[:, None] == np.arange(lay.n_rings)[None, :]  # tiles beyond the last ring: none
        per_ring = (gated * live_tile[None, :]) @ in_ring
        return per_ring.cumsum(axis=1)[np.arange(self.W), self.stage].astype(np.int64)

    def _settle_outcomes(self):
        """Give an outcome to worlds that completed, stalled or reached max_ticks (first matching rule wins)."""
        done = self.world_stats[:, WORLD.moves_done] >= self.M
        stuck = self.zone_stats[:, :, ZONE.completable].sum(axis=1) == 0
        idle = self.tick - self.last_progress >= self.knobs["stall_ticks"]
        capped = self.tick + 1 >= self.knobs["max_ticks"] if self.tick + 1 >= self.first_cap else False
        ending = self.running & (done | stuck | idle | capped)
        if not ending.any():
            return
        for w in np.nonzero(ending)[0]:
            self.outcome[w] = "complete" if done[w] else "stalled" if (stuck[w] or idle[w]) else "max_ticks"
        self.running[ending] = False
        self.end_tick[ending] = self.tick + 1
        if done[ending].any():
            self._validate_plans()

    def plan_errors(self) -> tuple[np.ndarray, np.ndarray]:
        """Per world: composed moves that differ from the task's move (errors) and the first one's index (−1 none).

        Only consensus mode (DESIGN §2.8) can compose a wrong move; verified mode always reports 0."""
        if self._errors[0] != self.tick:
            _, composed = self.device.moves_table()
            m = self.task.moves.astype(np.int64)
            truth = m[:, 0] * 16 + m[:, 1] * 4 + m[:, 2]  # packed like the device's composed moves
            wrong = (composed >= 0) & (composed != truth[None, :])
            first = np.where(wrong.any(axis=1), wrong.argmax(axis=1), -1)
            self._errors = (self.tick, wrong.sum(axis=1).astype(np.int64), first.astype(np.int64))
        return self._errors[1], self._errors[2]

    def plan_verdict(self, world: int) -> dict:
        """errors, first_error (None when none), plan_valid (None while unknown) and plan_error of one world."""
        errors, first = self.plan_errors()
        n, check = int(errors[world]), self.plan_check[world]
        valid = None if check is None else bool(check.ok)
        reason = None if check is None or check.ok else check.reason
        if n:  # a wrong move makes the plan invalid even before the episode ends
            valid, reason = False, f"{n} wrong move(s), the first is move {int(first[world])}" + (
                f"; {reason}" if reason else "")
        return {"errors": n, "first_error": int(first[world]) if n else None, "plan_valid": valid,
                "plan_error": reason}

    def _validate_plans(self):
        """Check each newly completed world's composed plan with the task's independent validator."""
        _, composed = self.device.moves_table()
        for w, o in enumerate(self.outcome):
            if o == "complete" and self.plan_check[w] is None:
                self.plan_check[w] = self.task.validate(unpack_moves(composed[w]))

    # ---- whole runs
    def run(self, max_ticks: int | None = None):
        """Step until every world has an outcome (or `max_ticks` more ticks); Ctrl-C marks them interrupted."""
        limit = None if max_ticks is None else self.tick + max_ticks
        try:
            while self.running.any() and (limit is None or self.tick < limit):
                self.step()
        except KeyboardInterrupt:
            self.interrupt()
            raise
        return self

    def capture_frame(self, slot: int):
        """Record the current state into a frame-ring slot without advancing (one launch, every world paused)."""
        paused = np.zeros((self.W, len(CONTROLS)), np.int32)  # running = 0: nothing acts
        paused[:, CONTROLS.stage] = self.stage
        self.device.set_controls(paused, np.zeros((self.W, self.Z), bool))
        self.device.step(self.tick, slot)

    def interrupt(self):
        """Mark every running world interrupted."""
        for w in np.nonzero(self.running)[0]:
            self.outcome[w] = "interrupted"
            self.end_tick[w] = self.tick
        self.running[:] = False

    def composed_plan(self, world: int) -> np.ndarray:
        """The composed moves of one world as (M, 3) disk, src, dst (−1 rows for moves not composed)."""
        _, composed = self.device.moves_table()
        return unpack_moves(composed[world])

    def summary(self) -> dict:
        """Per-world results (`metrics.world_metrics`, NaN as None) and batch totals as plain Python data
        (deterministic apart from `timing`)."""
        worlds = [{k: None if isinstance(x, float) and x != x else x for k, x in world_metrics(self, w).items()}
                  for w in range(self.W)]
        return {"scenario": self.scenario.name, "seed": self.seed, "worlds": self.W, "arch": self.arch,
                "device": self.device_label, "backend": self.backend, "moves_total": self.M, "world_results": worlds,
                "timing": {"wall_s": self.wall, "first_tick_s": self.first_tick_s, "agent_steps": self.agent_steps,
                           "active_agent_steps": self.active_agent_steps,
                           "agent_steps_per_s": self.agent_steps / self.wall if self.wall > 0 else 0.0}}

    def stalled_moves(self, world: int, limit: int = 20) -> list[int]:
        """Moves that can no longer complete in a stalled world (tile has fewer than τ_green live agents)."""
        complete_tick, _ = self.device.moves_table()
        lay = self.layout
        alive = self.device.alive_mask()[world]
        live_per_tile = np.bincount(lay.tile_of_cell, weights=alive, minlength=lay.lattice ** 2)
        tau = self.variants[world].grid.tau_green
        moves = [int(m) for m in np.nonzero(complete_tick[world] < 0)[0]
                 if live_per_tile[lay.tile_of_move[m]] < tau]
        return moves[:limit]


def unpack_moves(packed: np.ndarray) -> np.ndarray:
    """Packed moves (disk·16 + src·4 + dst, −1 none) → (M, 3) int32 disk, src, dst (−1 rows stay −1)."""
    packed = np.asarray(packed, dtype=np.int64)
    out = np.stack([packed >> 4, (packed >> 2) & 3, packed & 3], axis=1).astype(np.int32)
    out[packed < 0] = -1
    return out
