"""Record a running Simulation into an episode folder (DESIGN §3): a Simulation listener.

Frames go to a device ring buffer every `frame_every` ticks and are exported once per chunk; metrics rows are
built on the host from the per-tick statistics the loop already has; moves are diffed from the device's
completion table per chunk; the writer thread (replay.writer) compresses and appends in the background.
"""
from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

import numpy as np

from engine.sim.devices import cpu_model, gpu_name
from kernels import constants as K
from kernels.records import WORLD, ZONE
from replay.writer import EpisodeWriter, check_writable

FRAME_RING_BYTES = 64 << 20  # cap on the device ring buffer
PENDING_ROWS = 1 << 18       # metrics rows (ticks × worlds) buffered before they go to the writer


def default_folder(scenario, seed: int) -> Path:
    """runs/<scenario>-<seed>-<YYYYmmdd-HHMMSS>-<4 random hex digits>: a name, not yet created (see claim_folder)."""
    import secrets

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{scenario.name}-{seed}-{stamp}-{secrets.token_hex(2)}"


def claim_default_folder(scenario, seed: int, attempts: int = 64) -> Path:
    """Create and return a new default episode folder; mkdir without exist_ok is the atomic claim, so two runs
    started in the same second never share one (a collision of the random suffix just draws another)."""
    from engine.errors import UsageError

    for _ in range(attempts):
        folder = default_folder(scenario, seed)
        check_writable(folder)
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
        except OSError as err:
            raise UsageError(f"cannot create {folder}: {err.strerror or err}; choose a folder with --out") from None
    raise UsageError(f"no free episode folder name under {folder.parent} after {attempts} tries; use --out")


def git_commit() -> str | None:
    """The source tree's git commit, when it is a checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def hardware(arch: str | None = None) -> str:
    """CPU model, plus the device Taichi runs on (or `arch` says it runs on) when that is CUDA or Vulkan, e.g.
    "AMD EPYC 7B13 + vulkan: llvmpipe (LLVM 15.0.6, 256 bits)", for manifests and rows."""
    from engine.sim.arch import initialised_arch, vulkan_device_name

    arch = arch or initialised_arch()
    cpu = cpu_model()
    gpu = gpu_name() if arch == "cuda" else vulkan_device_name() if arch == "vulkan" else None
    return f"{cpu} + {arch}: {gpu}" if gpu else cpu


def frame_cadence(scenario) -> int:
    """Ticks between recorded frames: the scenario's, or every tick up to 128×128 and every 16 beyond."""
    every = scenario.record.frame_every
    return every if every > 0 else (1 if scenario.grid.size <= 128 else 16)


def gridhanoi_version() -> str:
    """The installed gridhanoi version, else the one in pyproject.toml of this checkout, else "unknown"."""
    from importlib import metadata

    try:
        return metadata.version("gridhanoi")
    except metadata.PackageNotFoundError:
        pass
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    try:
        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        return tomllib.loads(pyproject.read_text())["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def versions() -> dict:
    """Versions of gridhanoi and what it runs on."""
    import sys
    from importlib import metadata

    def version(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {"gridhanoi_version": gridhanoi_version(), "python": sys.version.split()[0],
            "taichi": version("taichi"), "numpy": np.__version__, "pyarrow": version("pyarrow")}


def provenance() -> dict:
    """gridhanoi version, git commit and hardware of this machine, for every results row."""
    import os

    return {"gridhanoi_version": gridhanoi_version(), "git_commit": git_commit(),
            "hardware": f"{hardware()} ({os.cpu_count()} CPU cores)"}


class Recorder:
    """Streams one Simulation into an episode; attach with `attach_recorder`."""

    def __init__(self, sim, folder: Path):
        from engine.errors import UsageError

        sc = sim.scenario
        self.sim, self.folder = sim, Path(folder)
        self.worlds = np.asarray(sorted(set(sc.record.worlds)), dtype=np.int64)
        if self.worlds.size == 0 or self.worlds.max() >= sim.W:
            raise UsageError(f"record.worlds = {list(sc.record.worlds)} but the run has {sim.W} world(s) "
                             f"(0..{sim.W - 1}); choose worlds in that range with --record-worlds")
        self.every = frame_cadence(sc)
        n = sim.layout.size ** 2
        per_frame = len(self.worlds) * n * (3 if sc.record.confidence else 2)
        self.slots = int(max(1, min(sc.record.chunk_ticks, FRAME_RING_BYTES // per_frame)))
        self.ring = sim.device.make_frame_ring(self.slots, self.worlds, sc.record.confidence)
        sim.frame_request = self.request_frame
        self.used = 0
        self.slot_ticks: list[int] = []  # tick of each used ring slot, since the last flush
        self.last_frame_tick = -1
        self.metrics_ticks = 0  # ticks whose metrics rows are buffered or written: the ticks the episode holds
        self.pending: list[tuple] = []  # per tick: the statistics the metrics columns are built from
        # ticks buffered before a metrics batch: 256, fewer with many worlds, so the rows held (and the columns
        # built from them, ~700 B a row at the flush) stay near PENDING_ROWS whatever W is
        self.pending_ticks = int(max(1, min(256, PENDING_ROWS // sim.W)))
        self.cum_totals = np.zeros((sim.W, len(ZONE)), np.int64)
        # state counts of each world's last stepped tick: an ended world is no longer stepped (its statistics
        # come back zero), but its agents keep their final states, which its later rows and frames show
        self.last_states = np.zeros((sim.W, len(K.STATE_NAMES)), np.int64)
        self.was_running = np.ones(sim.W, bool)
        self.curriculum_rows: list[tuple] = []
        self.known_ticks = np.full((sim.W, sim.M), -1, np.int32)
        lay = sim.layout
        layout = {"cell": np.arange(n, dtype=np.int32), "move": lay.move_of_cell.astype(np.int32),
                  "tile": lay.tile_of_cell.astype(np.int32), "zone": lay.zone_of_cell.astype(np.int16),
                  "difficulty": lay.difficulty.astype(np.float32), "alive0": lay.alive0.astype(bool)}
        self.writer = EpisodeWriter(self.folder, self.manifest(), layout, lay.size, lay.tile,
                                    confidence=sc.record.confidence)
        sim.listeners.append(self.on_tick)
        self.closed = False

    def manifest(self) -> dict:
        """Everything needed to understand and re-simulate the episode."""
        sim, sc = self.sim, self.sim.scenario
        return {**versions(), "git_commit": git_commit(), "arch": sim.arch, "backend": sim.backend,
                "device": hardware(sim.arch), "scenario_name": sc.name, "scenario_text": sc.text, "seed": sim.seed,
                "worlds": sim.W, "recorded_worlds": self.worlds.tolist(), "grid": sc.grid.size, "tile": sc.grid.tile,
                "disks": sc.task.disks, "pegs": sc.task.pegs, "moves_total": sim.M, "frame_every": self.every,
                "n_zones": sim.Z, "stage_radii": list(sc.curriculum.radii), "ticks": None}

    # ---- per tick
    def on_tick(self, sim, stats):
        """Keep references to this tick's statistics (fresh arrays each tick, so no copies) and capture a frame;
        the metrics columns are built once per chunk, in `metrics_columns`."""
        tick = sim.tick
        # world_totals and world_stats are views into the tick's whole statistics block (zone stats included,
        # ~Z·23·8 bytes a world): copy the slices so a buffered tick keeps ~250 bytes a world, not the block
        self.pending.append((tick, stats["world_totals"].copy(), stats["world_stats"].copy(), stats["skill"],
                             sim.stage.copy(), sim.active.sum(axis=1), sim.running.copy()))
        self.metrics_ticks = tick + 1
        self.buffer_curriculum(sim, tick)
        ended = not sim.running.any()
        if ended and self.last_frame_tick != tick:  # always keep the final state
            if self.used == self.slots:
                self.flush()
            sim.capture_frame(self.used)
            self.slot_ticks.append(tick)
            self.used += 1
            self.last_frame_tick = tick
        if self.used == self.slots or len(self.pending) >= self.pending_ticks or ended:
            self.flush()

    def request_frame(self, tick: int) -> int:
        """The ring slot the tick kernel should record into after `tick`, or −1 (every `frame_every` ticks)."""
        if tick % self.every:
            return -1
        self.slot_ticks.append(tick)
        self.last_frame_tick = tick
        self.used += 1
        return self.used - 1

    def metrics_columns(self) -> dict:
        """The buffered ticks as metrics columns (one row per tick and world, tick-major)."""
        sim = self.sim
        ticks, now, world, skill, stage, active, running = (np.stack(x) for x in zip(*self.pending))
        K_, W = now.shape[:2]
        cumulative = self.cum_totals + np.cumsum(now, axis=0)  # running totals since tick 0, (K, W, stats)
        self.cum_totals = cumulative[-1]
        states = now[:, :, ZONE.state_counts].copy()  # (K, W, states)
        for k in range(K_):  # a world not running before tick k was not stepped: keep its final counts
            stepped = self.was_running
            states[k][~stepped] = self.last_states[~stepped]
            self.last_states[stepped] = states[k][stepped]
            self.was_running = running[k]
        resolved_now = now[:, :, ZONE.resolved]
        radii = np.asarray(sim.scenario.curriculum.radii, dtype=np.float32)
        attempt_cost = np.array([v.oracle.attempt_cost for v in sim.variants])
        call_cost = np.array([v.oracle.cost for v in sim.variants])
        calls = cumulative[:, :, ZONE.escalated]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_nll = np.where(resolved_now > 0, now[:, :, ZONE.nll_fx] / K.FX_SCALE / resolved_now, np.nan)
        flat = lambda a, dtype: a.reshape(K_ * W).astype(dtype)  # noqa: E731
        return {
            "tick": np.repeat(ticks, W).astype(np.int32), "world": np.tile(np.arange(W, dtype=np.int32), K_),
            "stage": flat(stage, np.int16), "radius": radii[stage].reshape(-1),
            "n_active_zones": flat(active, np.int16),
            **{name: flat(states[:, :, i], np.int32) for i, name in enumerate(K.STATE_NAMES)},
            "attempts": flat(cumulative[:, :, ZONE.resolved], np.int64),
            "correct": flat(cumulative[:, :, ZONE.correct], np.int64),
            "escalations": flat(calls, np.int64), "oracle_calls": flat(calls, np.int64),
            "cost": flat(cumulative[:, :, ZONE.resolved] * attempt_cost + calls * call_cost, np.float64),
            "moves_complete": flat(world[:, :, WORLD.moves_done], np.int32),
            "prefix": flat(world[:, :, WORLD.prefix], np.int32),
            "mean_nll": flat(mean_nll, np.float32),
            "shared_skill": skill.reshape(K_ * W, -1).astype(np.float32),
            "running": flat(running, bool),
        }

    def buffer_curriculum(self, sim, tick):
        """Keep the recorded worlds' manager posteriors of this tick (managers that have one)."""
        for rows, manager in sim.managers:
            post = manager.posterior() if hasattr(manager, "posterior") else None
            if not post:
                continue
            for local, w in enumerate(rows):
                if w in self.worlds:
                    self.curriculum_rows.append((tick, int(w), {k: np.asarray(v[local]) for k, v in post.items()}))

    def flush(self):
        """Hand buffered frames, metrics, moves and curriculum rows to the writer thread."""
        sim = self.sim
        if self.used:
            used, slot_ticks = self.used, self.slot_ticks
            self.used, self.slot_ticks = 0, []  # first: a Ctrl-C below must not leave them to be written twice
            state, comp, conf = self.ring.export(used)
            R = len(self.worlds)
            ticks = np.repeat(np.asarray(slot_ticks, np.int32), R)
            worlds = np.tile(self.worlds.astype(np.int32), used)
            n = state.shape[-1]
            self.writer.add_frames(ticks, worlds, state.reshape(-1, n), comp.reshape(-1, n),
                                   None if conf is None else conf.reshape(-1, n))
        if self.pending:
            columns = self.metrics_columns()
            self.pending = []
            self.writer.add_metrics(columns)
        if self.curriculum_rows:
            z = sim.Z
            cols = {"tick": [], "world": [], "zone": [], "alpha": [], "beta": [], "sample": [], "reward": []}
            for tick, w, post in self.curriculum_rows:
                cols["tick"].append(np.full(z, tick, np.int32))
                cols["world"].append(np.full(z, w, np.int32))
                cols["zone"].append(np.arange(z, dtype=np.int16))
                for key in ("alpha", "beta", "sample", "reward"):
                    cols[key].append(post.get(key, np.full(z, np.nan)).astype(np.float32))
            self.writer.add_curriculum(**{k: np.concatenate(v) for k, v in cols.items()})
            self.curriculum_rows = []
        self.flush_moves()

    def flush_moves(self):
        """Append the moves composed since the last flush, ordered by (tick, world, move)."""
        complete_tick, composed = self.sim.device.moves_table()
        new = (complete_tick >= 0) & (self.known_ticks < 0)
        if not new.any():
            return
        self.known_ticks = complete_tick
        w, m = np.nonzero(new)
        t = complete_tick[w, m]
        order = np.lexsort((m, w, t))
        w, m, t = w[order], m[order], t[order]
        packed = composed[w, m]
        truth = self.sim.task.moves[m].astype(np.int64)
        wrong = packed != truth[:, 0] * 16 + truth[:, 1] * 4 + truth[:, 2]  # consensus mode may compose these
        self.writer.add_moves(w.astype(np.int32), m.astype(np.int32), t.astype(np.int32),
                              (packed >> 4).astype(np.int16), ((packed >> 2) & 3).astype(np.int8),
                              (packed & 3).astype(np.int8), wrong)

    def close(self):
        """Flush what is left and close the episode with each world's outcome."""
        if self.closed:
            return
        self.closed = True
        sim = self.sim
        # Ctrl-C between the tick kernel (which records the frame) and the listeners (which buffer the metrics)
        # leaves a frame of a tick without metrics rows: drop it, so frames and metrics end on the same tick
        while self.slot_ticks and self.slot_ticks[-1] >= self.metrics_ticks:
            self.slot_ticks.pop()
            self.used -= 1
        if self.used or self.pending or self.curriculum_rows:
            self.flush()
        else:
            self.flush_moves()
        outcome = {str(w): sim.outcome[w] or "running" for w in range(sim.W)}
        status = "interrupted" if "interrupted" in outcome.values() else "complete"
        # ticks run = ticks recorded: an interrupt may land after the metrics of a tick but before sim.tick moves on
        extra = {"ticks": int(self.metrics_ticks), "world_results": sim.summary()["world_results"]}
        self.writer.close(outcome, status=status, extra=extra)


def attach_recorder(sim, out: str | None) -> Recorder:
    """Check the folder is writable, then start recording `sim` into it (default: a new folder claimed by
    claim_default_folder, runs/<name>-<seed>-<time>-<suffix>)."""
    if out:
        folder = Path(out)
        check_writable(folder)
    else:
        folder = claim_default_folder(sim.scenario, sim.seed)
    return Recorder(sim, folder)
