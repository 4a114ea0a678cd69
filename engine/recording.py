"""Record a running Simulation into an episode folder (DESIGN §3): a Simulation listener.

Frames go to a device ring buffer every `frame_every` ticks and are exported once per chunk; metrics rows are
built on the host from the per-tick statistics the loop already has; moves are diffed from the device's
completion table per chunk; the writer thread (replay.writer) compresses and appends in the background.
"""
from __future__ import annotations

import datetime
import platform
import subprocess
from pathlib import Path

import numpy as np

from kernels import constants as K
from replay.writer import EpisodeWriter, check_writable

FRAME_RING_BYTES = 64 << 20  # cap on the device ring buffer


def default_folder(scenario, seed: int) -> Path:
    """runs/<scenario>-<seed>-<timestamp>."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{scenario.name}-{seed}-{stamp}"


def git_commit() -> str | None:
    """The source tree's git commit, when it is a checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def hardware() -> str:
    """CPU model (and GPU when Taichi runs on one), for manifests and benchmark rows."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return cpu


def frame_cadence(scenario) -> int:
    """Ticks between recorded frames: the scenario's, or every tick up to 128×128 and every 16 beyond."""
    every = scenario.record.frame_every
    return every if every > 0 else (1 if scenario.grid.size <= 128 else 16)


def versions() -> dict:
    """Versions of gridhanoi and what it runs on."""
    import sys
    from importlib import metadata

    def version(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {"gridhanoi_version": version("gridhanoi"), "python": sys.version.split()[0],
            "taichi": version("taichi"), "numpy": np.__version__, "pyarrow": version("pyarrow")}


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
        sim.device.allocate_frames(self.slots, self.worlds, sc.record.confidence)
        self.used = 0
        self.slot_ticks: list[int] = []
        self.metric_rows: list[dict] = []
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
                "device": hardware(), "scenario_name": sc.name, "scenario_text": sc.text, "seed": sim.seed,
                "worlds": sim.W, "recorded_worlds": self.worlds.tolist(), "grid": sc.grid.size, "tile": sc.grid.tile,
                "disks": sc.task.disks, "pegs": sc.task.pegs, "moves_total": sim.M, "frame_every": self.every,
                "n_zones": sim.Z, "stage_radii": list(sc.curriculum.radii), "ticks": None}

    # ---- per tick
    def on_tick(self, sim, stats):
        """Buffer this tick's metrics (and frame); flush a chunk when the ring is full."""
        tick = sim.tick
        self.metric_rows.append(self.metrics_row(sim, stats))
        self.buffer_curriculum(sim, tick)
        if tick % self.every == 0 or not sim.running.any():
            sim.device.capture_frame(self.used)
            self.slot_ticks.append(tick)
            self.used += 1
        if self.used == self.slots or len(self.metric_rows) >= 256 or not sim.running.any():
            self.flush()

    def metrics_row(self, sim, stats) -> dict:
        """Per-world metrics of one tick as columns (arrays of length W)."""
        zs = stats["zone_stats"]
        counts = zs[:, :, K.Z_N_IDLE:K.Z_N_DEAD + 1].sum(axis=1)
        t = sim.totals
        resolved_now = zs[:, :, K.Z_RESOLVED].sum(axis=1)
        nll_now = zs[:, :, K.Z_NLL_FX].sum(axis=1) / K.FX_SCALE
        radii = np.asarray(sim.scenario.curriculum.radii, dtype=np.float32)
        attempt_cost = np.array([v.oracle.attempt_cost for v in sim.variants])
        call_cost = np.array([v.oracle.cost for v in sim.variants])
        return {
            "tick": np.full(sim.W, sim.tick, np.int32), "world": np.arange(sim.W, dtype=np.int32),
            "stage": sim.stage.astype(np.int16), "radius": radii[sim.stage],
            "n_active_zones": sim.active.sum(axis=1).astype(np.int16),
            **{name: counts[:, i].astype(np.int32) for i, name in
               enumerate(("idle", "working", "waiting", "success", "failure", "dead"))},
            "attempts": t[:, K.Z_RESOLVED].copy(), "correct": t[:, K.Z_CORRECT].copy(),
            "escalations": t[:, K.Z_ESCALATED].copy(), "oracle_calls": sim.oracle_calls.copy(),
            "cost": t[:, K.Z_RESOLVED] * attempt_cost + sim.oracle_calls * call_cost,
            "moves_complete": sim.world_stats[:, K.W_MOVES_DONE].astype(np.int32),
            "prefix": sim.world_stats[:, K.W_PREFIX].astype(np.int32),
            "mean_nll": np.where(resolved_now > 0, nll_now / np.maximum(resolved_now, 1), np.nan).astype(np.float32),
            "shared_skill": stats["skill"].astype(np.float32),
            "running": sim.running.copy(),
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
            state, comp, conf = sim.device.export_frames(self.used)
            R = len(self.worlds)
            ticks = np.repeat(np.asarray(self.slot_ticks, np.int32), R)
            worlds = np.tile(self.worlds.astype(np.int32), self.used)
            n = state.shape[-1]
            self.writer.add_frames(ticks, worlds, state.reshape(-1, n), comp.reshape(-1, n),
                                   None if conf is None else conf.reshape(-1, n))
            self.used, self.slot_ticks = 0, []
        if self.metric_rows:
            rows = self.metric_rows
            columns = {k: np.concatenate([r[k] for r in rows]) if k != "shared_skill"
                       else np.concatenate([r[k] for r in rows], axis=0) for k in rows[0]}
            self.writer.add_metrics(columns)
            self.metric_rows = []
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
        self.writer.add_moves(w.astype(np.int32), m.astype(np.int32), t.astype(np.int32),
                              (packed >> 4).astype(np.int16), ((packed >> 2) & 3).astype(np.int8),
                              (packed & 3).astype(np.int8))

    def close(self):
        """Flush what is left and close the episode with each world's outcome."""
        if self.closed:
            return
        self.closed = True
        sim = self.sim
        if self.used or self.metric_rows or self.curriculum_rows:
            self.flush()
        else:
            self.flush_moves()
        outcome = {str(w): sim.outcome[w] or "running" for w in range(sim.W)}
        status = "interrupted" if "interrupted" in outcome.values() else "complete"
        extra = {"ticks": int(sim.tick), "world_results": sim.summary()["world_results"]}
        self.writer.close(outcome, status=status, extra=extra)


def attach_recorder(sim, out: str | None) -> Recorder:
    """Check the folder is writable, then start recording `sim` into it (default runs/<name>-<seed>-<time>)."""
    folder = Path(out) if out else default_folder(sim.scenario, sim.seed)
    check_writable(folder)
    return Recorder(sim, folder)
