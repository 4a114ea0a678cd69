"""Measurements behind `gridhanoi bench` (DESIGN §7): the configurations users feel, ratios measured in one run.

Protocol, per case (engine/bench/cases.py: all-open, mid-episode, million) and backend: build the Simulation, time
its first step (the JIT compile on Taichi), warm up a few ticks, then `repeats` times: reset, step the case's
`start` ticks untimed (the NumPy backends step them once and copy that state for every repeat: they are plain
NumPy objects) and time its window of `ticks` ticks. The engine is deterministic, so every repeat and every backend
does the same work (checked: identical statistics). Kernel time is `device.step(tick)` + `ti.sync()` (argument
marshalling included: it is part of what a tick costs); full-loop time is `Simulation.step()` (managers, controls,
launch, statistics, outcomes); the recording pass (all-open cases, which start at tick 0) adds `attach_recorder`
into a temporary folder and its `close()`. Medians over repeats, with spread.

The unit of every headline is the *active agent-step*: one live agent in an open tile (unlocked, not complete, not
prefix-gated) of a running world advanced one tick, as the kernel counts it (`sim.active_agent_steps`). All
agent-steps (every live agent with a task in a running world, idle or not) are reported next to it.
"""
from __future__ import annotations

import copy
import hashlib
import tempfile
import time
from pathlib import Path

import numpy as np

from engine.bench.cases import Case, plan
from engine.bench.simulations import StepClock, make_sim, scenario_for, sync_for
from engine.bench.episodes import whole_episodes
from engine.bench.hardware import hardware, load_average, source_state
from engine.bench.jit import fresh_process_jit, taichi_cache_entries
from engine.bench.launch import empty_launch
from engine.bench.roofline import add_roofline, copy_bandwidth, field_table, merge_bandwidth
from engine.bench.stats import paired, rate, ratio, spread
from engine.bench.summary import summarise
from kernels.records import FIXED_POINT, ZONE

# integer counters of the zone statistics (decisions), without the fixed-point float sums (NLL, Brier, p̂, c):
# plain NumPy rounds those floats differently, so only its decisions can match the engine's
COUNTS = [s for s in range(len(ZONE)) if ZONE.names[s] not in FIXED_POINT]
TAICHI_WARMUP = 3  # ticks after the first (JIT) step before timing: caches, allocator and thread pool are hot
NUMPY_WARMUP = 1   # the NumPy backends have nothing to compile; one tick loads their code paths


def digest(a: np.ndarray) -> str:
    """A short hash of an array's bytes."""
    return hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest()[:12]


def run_window(sim, ticks: int, clock: StepClock, sync, recorder=None) -> dict:
    """Step `ticks` ticks from where `sim` is; return full-loop and kernel seconds and the work done."""
    steps0, active0 = sim.agent_steps, sim.active_agent_steps
    world_ticks = 0
    sync()
    clock.seconds = 0.0
    t0 = time.perf_counter()
    for _ in range(ticks):
        world_ticks += int(sim.running.sum())
        sim.step()
    sync()
    if world_ticks == 0:
        raise RuntimeError(f"{sim.scenario.name}: every world ended before tick {sim.tick - ticks}: "
                           "the window is past the episode (choose an earlier --start)")
    t_close = time.perf_counter()
    if recorder is not None:
        recorder.close()  # the last chunk's flush and compression belong to the recording cost
    full = time.perf_counter() - t0
    return {"full_s": full, "kernel_s": clock.seconds, "close_s": time.perf_counter() - t_close,
            "agent_steps": int(sim.agent_steps - steps0), "active_agent_steps": int(sim.active_agent_steps - active0),
            "world_ticks": world_ticks, "digest": digest(sim.totals), "decisions": digest(sim.totals[:, COUNTS])}


class Backend:
    """One backend's Simulation on one case, built, compiled and warmed up, ready for timed windows."""

    def __init__(self, scenario, worlds: int, backend: str, arch: str = "cpu"):
        self.name, self.sync = backend, sync_for(backend)
        t0 = time.perf_counter()
        self.sim = make_sim(scenario, worlds, backend, arch)
        self.build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.sim.step()
        self.sync()
        self.first_step_s = time.perf_counter() - t0  # the JIT compile on Taichi
        for _ in range((TAICHI_WARMUP if backend == "taichi" else NUMPY_WARMUP) - 1):
            self.sim.step()
        self.checkpoint = None
        # Taichi steps the one Simulation every run; the NumPy backends run on copies, each with its own clock
        self.clock = StepClock(self.sim, self.sync) if backend == "taichi" else None
        self.runs, self.recorded = [], []

    def at_start(self, start: int):
        """A Simulation at tick `start` of a fresh episode: stepped there (Taichi) or copied from a checkpoint."""
        if self.name == "taichi":
            self.sim.reset()
            for _ in range(start):
                self.sim.step()
            return self.sim
        if self.checkpoint is None:
            self.sim.reset()
            for _ in range(start):
                self.sim.step()
            self.checkpoint = self.sim
        return copy.deepcopy(self.checkpoint)  # NumPy state: the same tick-`start` state for every repeat

    def run(self, start: int, ticks: int, record_dir: Path | None = None) -> None:
        """One timed window of `ticks` ticks after `start` untimed ones (recorded into `record_dir` when given)."""
        sim = self.at_start(start)
        recorder = None
        if record_dir is not None:
            from engine.sim.recording import attach_recorder
            recorder = attach_recorder(sim, record_dir)
        clock = self.clock or StepClock(sim, self.sync)
        r = run_window(sim, ticks, clock, self.sync, recorder)
        (self.recorded if record_dir else self.runs).append(r)

    def result(self) -> dict:
        """Timings (spreads over runs), the work done and whether every run did the same work."""
        runs, sim = self.runs, self.sim
        out = {"backend": sim.backend, "arch": sim.arch, "build_s": self.build_s, "first_step_s": self.first_step_s,
               "kernel_s": spread([r["kernel_s"] for r in runs]), "full_s": spread([r["full_s"] for r in runs]),
               "full_over_kernel": [r["full_s"] / r["kernel_s"] for r in runs],
               "agent_steps": runs[0]["agent_steps"], "active_agent_steps": runs[0]["active_agent_steps"],
               "world_ticks": runs[0]["world_ticks"],
               "deterministic": len({r["digest"] for r in runs + self.recorded}) == 1, "digest": runs[0]["digest"],
               "decisions": runs[0]["decisions"]}
        if self.recorded:
            out["record_s"] = spread([r["full_s"] for r in self.recorded])
            out["record_close_s"] = spread([r["close_s"] for r in self.recorded])  # of record_s: final flush, close
            # each recorded run right after its plain twin, so both saw the same load on the machine
            out["record_over_full"] = [r["full_s"] / p["full_s"] for r, p in zip(self.recorded, runs)]
        return out


def measure_case(case: Case, repeats: int, ref_repeats: int, arch: str = "cpu") -> dict:
    """Every backend of one case, runs interleaved (so slow drifts in machine load hit all alike)."""
    scenario = scenario_for(case.scenario, case.grid, case.overrides)
    g = scenario.grid
    res = {"kind": case.kind, "scenario": scenario.name, "manager": scenario.curriculum.manager,
           "worlds": case.worlds, "grid": g.size, "tile": g.tile, "disks": scenario.task.disks,
           "agents": case.worlds * g.size ** 2, "start": case.start, "ticks": case.ticks, "backends": {}}
    ready = {b: Backend(scenario, case.worlds, b, arch) for b in case.backends}
    record = case.start == 0  # the recorder starts with the episode
    with tempfile.TemporaryDirectory(prefix="gridhanoi-bench-") as tmp:
        for i in range(max(repeats, ref_repeats)):
            for b, bk in ready.items():
                if i < (repeats if b == "taichi" else ref_repeats):
                    bk.run(case.start, case.ticks)
                    if b == "taichi" and record:
                        bk.run(case.start, case.ticks, Path(tmp) / f"episode-{i}")
    res["backends"] = {b: bk.result() for b, bk in ready.items()}
    derive(res)
    return res


def derive(res: dict) -> None:
    """Add rates (active and all agent-steps/s, world-ticks/s) and ratios to one case's result."""
    bk = res["backends"]
    tai = bk.get("taichi")
    rates, ratios = {}, {}
    for name, b in bk.items():
        for what, key in (("kernel", "kernel_s"), ("full", "full_s"), ("record", "record_s")):
            if key in b:
                label = name if (name != "taichi" and what == "kernel") else f"{name}_{what}"
                rates[label] = {"active_agent_steps_per_s": rate(b["active_agent_steps"], b[key]),
                                "agent_steps_per_s": rate(b["agent_steps"], b[key]),
                                "world_ticks_per_s": rate(b["world_ticks"], b[key]),
                                "ms_per_tick": {k: v / res["ticks"] * 1e3 for k, v in b[key].items() if k != "n"}}
    if tai:
        ratios["full_over_kernel"] = paired(tai["full_over_kernel"])
        ratios["host_share"] = paired([1 - 1 / r for r in tai["full_over_kernel"]])
        if "record_over_full" in tai:
            ratios["record_overhead"] = paired(tai["record_over_full"])
        for name in ("reference", "plain"):
            if name in bk:
                # the NumPy backends' device step vs the Taichi kernel, over the same ticks
                ratios[f"speedup_vs_{name}"] = ratio(bk[name]["kernel_s"], tai["kernel_s"])
        # same work: the same discrete decisions; bit-identical: every statistic, float sums included
        res["same_work"] = {name: b["decisions"] == tai["decisions"] for name, b in bk.items() if name != "taichi"}
        res["bit_identical"] = {name: b["digest"] == tai["digest"] for name, b in bk.items() if name != "taichi"}
        res["active_share"] = tai["active_agent_steps"] / max(tai["agent_steps"], 1)
    res["rates"], res["ratios"] = rates, ratios


def run_benchmark(scenario: str = "paper", worlds=(1, 4, 16, 64, 256), grids=(64, 256, 1024), ticks: int = 30,
                  start: int = 60, mid_worlds=(1, 256), episode_worlds=(1, 256), million: bool = True,
                  repeats: int = 11, ref_repeats: int = 3, episode_repeats: int = 3, arch: str = "cpu",
                  quick: bool = False, measure_cold_jit: bool = True, measure_viewer: bool = True,
                  progress=None) -> dict:
    """Measure every case on every backend in this process and return one JSON-ready dict."""
    from engine.sim.arch import init_taichi

    say = progress or (lambda msg: None)
    t_start = time.perf_counter()
    cache_before = taichi_cache_entries()
    load_before = load_average()
    source = source_state()  # before measuring: others may commit while the bench runs
    used_arch = init_taichi(arch)
    say("memory bandwidth (NumPy copy) and an empty kernel launch")
    mib = 64 if quick else 256
    copies = [copy_bandwidth(mib)]
    launch = empty_launch()
    base_grid = scenario_for(scenario, None).grid.size
    cases = plan(scenario, list(worlds), [g for g in grids if not (1 in worlds and g == base_grid)], ticks, start,
                 list(mid_worlds), million)
    results = []
    for case in cases:
        say(f"{case.label}: {', '.join(case.backends)}"
            + (f" (ticks {case.start}–{case.start + case.ticks - 1})" if case.start else ""))
        results.append(measure_case(case, repeats, ref_repeats, arch))
    episodes = []
    runs = [(scenario, w) for w in episode_worlds] + ([("million", 1)] if million and not quick else [])
    for name, w in runs:
        say(f"whole episodes of {name}, W={w}")
        episodes.append(whole_episodes(scenario_for(name, None), w, arch, episode_repeats, record=name != "million"))
    copies.append(copy_bandwidth(mib))  # again at the end: other processes share the memory bus
    bandwidth = merge_bandwidth(copies)
    for res in results:
        add_roofline(res, bandwidth["peak_bytes_per_s"])
    first = results[0]["backends"]["taichi"]
    # Taichi writes its offline cache when the process exits, and the shared cache is LRU-trimmed at ~100 MB:
    # whether this process found its kernels there is unknown, hence the fresh-process cold/warm pair below
    jit = {"first_step_s": first["first_step_s"], "first_build_s": first["build_s"],
           "offline_cache_files_at_start": cache_before,
           "per_config_first_step_s": {label(r): r["backends"]["taichi"]["first_step_s"] for r in results}}
    if measure_cold_jit:
        say("JIT in fresh processes (empty, then warm offline cache)")
        jit.update(fresh_process_jit(scenario, arch))
    viewer = {"status": "not measured (--no-viewer)"}
    if measure_viewer:
        say("viewer frame and seek time")
        from engine.bench.viewer import viewer_timings
        viewer = viewer_timings(quick)
    out = {"hardware": hardware(used_arch), "source": source,
           "settings": {"scenario": scenario, "worlds": list(worlds), "grids": list(grids), "ticks": ticks,
                        "start": start, "mid_worlds": list(mid_worlds), "episode_worlds": list(episode_worlds),
                        "million": million, "repeats": repeats, "ref_repeats": ref_repeats,
                        "episode_repeats": episode_repeats, "quick": quick,
                        "taichi_warmup_ticks": TAICHI_WARMUP, "numpy_warmup_ticks": NUMPY_WARMUP,
                        "load_average_before": load_before, "load_average_after": load_average()},
           "bandwidth": bandwidth, "launch": launch, "bytes_per_agent_fields": field_table(),
           "configs": results, "episodes": episodes, "jit": jit, "viewer": viewer}
    out["summary"] = summarise(out)
    out["wall_s"] = time.perf_counter() - t_start
    return out


def label(r: dict) -> str:
    """Kind, W and G of a measured case."""
    return f"{r['kind']} W={r['worlds']} G={r['grid']}"
