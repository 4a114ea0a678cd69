"""Measurements behind `gridhanoi bench` (DESIGN §7): throughput, ratios measured in one run, roofline, overheads.

Protocol, per configuration (scenario, worlds W, grid G) and backend: build the Simulation, time its first step (the
JIT compile on Taichi), warm up a few ticks, then `repeats` times: `reset()` and step the same `ticks` ticks from
tick 0. The engine is deterministic, so every repeat and every backend does the same work (checked: identical
statistics). Kernel time is `device.step(tick)` + `ti.sync()` (the device's step is wrapped, the engine is not
edited); full-loop time is `Simulation.step()` (scheduler, upload, kernel, statistics readback, managers); the
recording pass adds `attach_recorder` into a temporary folder and its `close()`. Medians over repeats, with spread.

This module times the backends and puts the run together; the rest lives beside it: bench_stats (spreads, rates),
bench_hardware (machine and source facts), bench_roofline (copy bandwidth, bytes per agent-step), bench_jit (fresh
processes), bench_viewer (viewer timings), bench_summary (headline and targets), bench_profile (`--profile`).
"""
from __future__ import annotations

import hashlib
import tempfile
import time
from pathlib import Path

import numpy as np

from engine.bench.hardware import hardware, load_average, source_state
from engine.bench.jit import fresh_process_jit, taichi_cache_entries
from engine.bench.roofline import add_roofline, copy_bandwidth, field_table, merge_bandwidth
from engine.bench.stats import paired, rate, ratio, spread
from engine.bench.summary import summarise
from engine.bench.viewer import viewer_timings
from kernels.records import ZONE

BACKENDS = ("taichi", "reference", "plain")
# integer counters of the zone statistics (decisions), without the fixed-point float sums (NLL, Brier, p̂, c):
# plain NumPy rounds those floats differently, so only its decisions can match the engine's
COUNTS = [s for s in range(len(ZONE)) if s not in (ZONE.nll_fx, ZONE.brier_fx, ZONE.phat_fx, ZONE.competence_fx)]
TAICHI_WARMUP = 3  # ticks after the first (JIT) step before timing: caches, allocator and thread pool are hot
NUMPY_WARMUP = 1   # the NumPy backends have nothing to compile; one tick loads their code paths


def scenario_for(name: str, grid: int | None):
    """Load scenario `name`, resized to `grid` with as many disks as its tiles can hold (None: as written)."""
    from scenarios.loader import load_scenario
    from scenarios.move_count import moves_for

    base = load_scenario(name)
    if grid is None or grid == base.grid.size:
        return base
    tiles = (grid // base.grid.tile) ** 2
    disks = 1
    while moves_for(disks + 1, base.task.pegs) <= tiles:
        disks += 1
    return load_scenario(name, {"grid.size": grid, "task.disks": disks})


def make_sim(scenario, worlds: int, backend: str, arch: str):
    """A Simulation on one backend: taichi, reference (exact float32 NumPy) or plain (NumPy's own log/exp)."""
    from engine.sim.simulation import Simulation

    if backend == "plain":
        from engine.bench.plain_numpy import plain_simulation
        return plain_simulation(scenario, 0, worlds)
    if backend == "reference":
        return Simulation(scenario, 0, worlds, backend="reference")
    return Simulation(scenario, 0, worlds, arch=arch)


def sync_for(backend: str):
    """Wait for the device to finish (Taichi launches are asynchronous); a no-op for NumPy."""
    if backend == "taichi":
        import taichi as ti
        return ti.sync
    return lambda: None


class StepClock:
    """Wraps `sim.device.step` to add up the time spent in it (synced), without touching the engine."""

    def __init__(self, sim, sync):
        self.seconds = 0.0
        inner = sim.device.step

        def timed(tick, frame_slot=-1):
            t0 = time.perf_counter()
            inner(tick, frame_slot)
            sync()
            self.seconds += time.perf_counter() - t0

        sim.device.step = timed


def run_ticks(sim, ticks: int, clock: StepClock, sync, record_dir: Path | None = None) -> dict:
    """Reset and step `ticks` ticks; return full-loop and kernel seconds, agent-steps and world-ticks."""
    sim.reset()  # fresh device state and managers: every repeat, and every backend, replays the same ticks
    recorder = None
    if record_dir is not None:
        from engine.sim.recording import attach_recorder
        recorder = attach_recorder(sim, record_dir)
    world_ticks = 0
    sync()
    clock.seconds = 0.0
    t0 = time.perf_counter()
    for _ in range(ticks):
        world_ticks += int(sim.running.sum())
        sim.step()
    sync()
    t_close = time.perf_counter()
    if recorder is not None:
        recorder.close()  # the last chunk's flush and compression belong to the recording cost
    full = time.perf_counter() - t0
    return {"full_s": full, "kernel_s": clock.seconds, "close_s": time.perf_counter() - t_close,
            "agent_steps": int(sim.agent_steps),
            "world_ticks": world_ticks, "digest": digest(sim.totals), "decisions": digest(sim.totals[:, COUNTS])}


def digest(a: np.ndarray) -> str:
    """A short hash of an array's bytes."""
    return hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest()[:12]


class Backend:
    """One backend's Simulation on one configuration, built, compiled and warmed up, ready for timed runs."""

    def __init__(self, scenario, worlds: int, backend: str, arch: str = "cpu"):
        self.sync = sync_for(backend)
        t0 = time.perf_counter()
        self.sim = make_sim(scenario, worlds, backend, arch)
        self.build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.sim.step()
        self.sync()
        self.first_step_s = time.perf_counter() - t0  # the JIT compile on Taichi
        for _ in range((TAICHI_WARMUP if backend == "taichi" else NUMPY_WARMUP) - 1):
            self.sim.step()
        self.clock = StepClock(self.sim, self.sync)
        self.runs, self.recorded = [], []

    def run(self, ticks: int, record_dir: Path | None = None) -> None:
        """One timed run of `ticks` ticks from reset (recorded into `record_dir` when given)."""
        r = run_ticks(self.sim, ticks, self.clock, self.sync, record_dir)
        (self.recorded if record_dir else self.runs).append(r)

    def result(self) -> dict:
        """Timings (spreads over runs), the work done and whether every run did the same work."""
        runs, sim = self.runs, self.sim
        out = {"backend": sim.backend, "arch": sim.arch, "build_s": self.build_s, "first_step_s": self.first_step_s,
               "kernel_s": spread([r["kernel_s"] for r in runs]), "full_s": spread([r["full_s"] for r in runs]),
               "full_over_kernel": [r["full_s"] / r["kernel_s"] for r in runs],
               "agent_steps": runs[0]["agent_steps"], "world_ticks": runs[0]["world_ticks"],
               "deterministic": len({r["digest"] for r in runs + self.recorded}) == 1, "digest": runs[0]["digest"],
               "decisions": runs[0]["decisions"]}
        if self.recorded:
            out["record_s"] = spread([r["full_s"] for r in self.recorded])
            out["record_close_s"] = spread([r["close_s"] for r in self.recorded])  # of record_s: final flush, close
            # each recorded run right after its plain twin, so both saw the same load on the machine
            out["record_over_full"] = [r["full_s"] / p["full_s"] for r, p in zip(self.recorded, runs)]
        return out


def measure_config(scenario, worlds: int, ticks: int, repeats: int, ref_repeats: int, arch: str = "cpu",
                   backends=BACKENDS) -> dict:
    """Every backend on one configuration, runs interleaved (so slow drifts in machine load hit all alike)."""
    g = scenario.grid
    res = {"scenario": scenario.name, "worlds": worlds, "grid": g.size, "tile": g.tile, "disks": scenario.task.disks,
           "agents": worlds * g.size ** 2, "ticks": ticks, "backends": {}}
    ready = {b: Backend(scenario, worlds, b, arch) for b in backends}
    with tempfile.TemporaryDirectory(prefix="gridhanoi-bench-") as tmp:
        for i in range(max(repeats, ref_repeats)):
            for b, bk in ready.items():
                if i < (repeats if b == "taichi" else ref_repeats):
                    bk.run(ticks)
                    if b == "taichi":
                        bk.run(ticks, Path(tmp) / f"episode-{i}")
    res["backends"] = {b: bk.result() for b, bk in ready.items()}
    derive(res)
    return res


def derive(res: dict) -> None:
    """Add rates (agent-steps/s, world-ticks/s) and ratios to one configuration's result."""
    bk = res["backends"]
    tai = bk.get("taichi")
    rates, ratios = {}, {}
    for name, b in bk.items():
        for what, key in (("kernel", "kernel_s"), ("full", "full_s"), ("record", "record_s")):
            if key in b:
                label = name if (name != "taichi" and what == "kernel") else f"{name}_{what}"
                rates[label] = {"agent_steps_per_s": rate(b["agent_steps"], b[key]),
                                "world_ticks_per_s": rate(b["world_ticks"], b[key])}
    if tai:
        ratios["full_over_kernel"] = paired(tai["full_over_kernel"])
        ratios["scheduler_share"] = paired([1 - 1 / r for r in tai["full_over_kernel"]])
        ratios["record_overhead"] = paired(tai["record_over_full"])
        for name in ("reference", "plain"):
            if name in bk:
                # the NumPy backends' device step vs the Taichi kernel, over the same ticks from reset
                ratios[f"speedup_vs_{name}"] = ratio(bk[name]["kernel_s"], tai["kernel_s"])
        # same work: the same discrete decisions; bit-identical: every statistic, float sums included
        res["same_work"] = {name: b["decisions"] == tai["decisions"] for name, b in bk.items() if name != "taichi"}
        res["bit_identical"] = {name: b["digest"] == tai["digest"] for name, b in bk.items() if name != "taichi"}
    res["rates"], res["ratios"] = rates, ratios


def run_benchmark(scenario: str = "paper", worlds=(1, 4, 16, 64, 256), grids=(64, 256, 1024), ticks: int = 25,
                  repeats: int = 11, ref_repeats: int = 3, arch: str = "cpu", quick: bool = False,
                  measure_cold_jit: bool = True, measure_viewer: bool = True, progress=None) -> dict:
    """Measure every configuration on every backend in this process and return one JSON-ready dict."""
    from engine.sim.arch import init_taichi

    say = progress or (lambda msg: None)
    t_start = time.perf_counter()
    cache_before = taichi_cache_entries()
    load_before = load_average()
    source = source_state()  # before measuring: others may commit while the bench runs
    used_arch = init_taichi(arch)
    say("memory bandwidth (NumPy copy)")
    mib = 64 if quick else 256
    copies = [copy_bandwidth(mib)]
    base = scenario_for(scenario, None)
    configs = [(w, None) for w in worlds] + [(1, g) for g in grids if not (1 in worlds and g == base.grid.size)]
    results = []
    for w, g in configs:
        sc = scenario_for(scenario, g)
        say(f"W={w} G={sc.grid.size}: taichi, reference, plain NumPy")
        results.append(measure_config(sc, w, ticks, repeats, ref_repeats, arch))
    copies.append(copy_bandwidth(mib))  # again at the end: other processes share the memory bus
    bandwidth = merge_bandwidth(copies)
    for res in results:
        add_roofline(res, bandwidth["peak_bytes_per_s"])
    first = results[0]["backends"]["taichi"]
    # Taichi writes its offline cache when the process exits, and the shared cache is LRU-trimmed at ~100 MB:
    # whether this process found its kernels there is unknown, hence the fresh-process cold/warm pair below
    jit = {"first_step_s": first["first_step_s"], "first_build_s": first["build_s"],
           "offline_cache_files_at_start": cache_before,
           "per_config_first_step_s": {f"W={r['worlds']} G={r['grid']}": r["backends"]["taichi"]["first_step_s"]
                                       for r in results}}
    if measure_cold_jit:
        say("JIT in fresh processes (empty, then warm offline cache)")
        jit.update(fresh_process_jit(scenario, arch))
    say("viewer frame and seek time" if measure_viewer else "viewer skipped")
    out = {"hardware": hardware(used_arch), "source": source,
           "settings": {"scenario": scenario, "worlds": list(worlds), "grids": list(grids), "ticks": ticks,
                        "repeats": repeats, "ref_repeats": ref_repeats, "quick": quick,
                        "taichi_warmup_ticks": TAICHI_WARMUP, "numpy_warmup_ticks": NUMPY_WARMUP,
                        "load_average_before": load_before, "load_average_after": load_average()},
           "bandwidth": bandwidth, "bytes_per_agent_fields": field_table(),
           "configs": results, "jit": jit,
           "viewer": viewer_timings(quick) if measure_viewer else {"status": "n/a (not measured: --no-viewer)"}}
    out["summary"] = summarise(out)
    out["wall_s"] = time.perf_counter() - t_start
    return out
