"""Whole episodes for `gridhanoi bench`: the figure a user feels — ticks/s and episodes/s of a scenario run to its end.

A batch of W worlds runs until every world has an outcome (the batch lasts as long as its slowest world). Timed on
the Taichi backend only (the NumPy reference would take minutes per batch), from reset, once without and once with
recording when asked, `repeats` times each; the first episode after building (JIT and warm-up) is not timed.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from engine.bench.simulations import StepClock, make_sim
from engine.bench.stats import rate, spread


def whole_episodes(scenario, worlds: int, arch: str, repeats: int, record: bool = True) -> dict:
    """Time `repeats` whole batches of `worlds` episodes (and as many recorded ones when `record`)."""
    import taichi as ti

    from engine.sim.recording import attach_recorder

    sim = make_sim(scenario, worlds, "taichi", arch)
    sim.run()  # JIT and warm-up
    clock = StepClock(sim, ti.sync)
    runs = {"plain": [], "recorded": []}
    with tempfile.TemporaryDirectory(prefix="gridhanoi-bench-episodes-") as tmp:
        for i in range(repeats):
            for kind in ("plain", "recorded") if record else ("plain",):
                sim.reset()
                recorder = attach_recorder(sim, Path(tmp) / f"{kind}-{i}") if kind == "recorded" else None
                clock.seconds = 0.0
                t0 = time.perf_counter()
                sim.run()
                if recorder is not None:
                    recorder.close()
                ti.sync()
                wall = time.perf_counter() - t0
                runs[kind].append({"wall_s": wall, "kernel_s": clock.seconds, "ticks": sim.tick,
                                   "world_ticks": int(sim.end_tick.sum()), "agent_steps": int(sim.agent_steps),
                                   "active_agent_steps": int(sim.active_agent_steps),
                                   "outcomes": sorted(set(map(str, sim.outcome)))})
    first = runs["plain"][0]
    out = {"scenario": scenario.name, "manager": scenario.curriculum.manager, "worlds": worlds,
           "grid": scenario.grid.size, "ticks": first["ticks"], "world_ticks": first["world_ticks"],
           "agent_steps": first["agent_steps"], "active_agent_steps": first["active_agent_steps"],
           "outcomes": first["outcomes"],
           "deterministic": len({(r["ticks"], r["world_ticks"], r["active_agent_steps"])
                                 for rs in runs.values() for r in rs}) == 1}
    for kind, rs in runs.items():
        if not rs:
            continue
        wall = spread([r["wall_s"] for r in rs])
        out[kind] = {"wall_s": wall, "kernel_s": spread([r["kernel_s"] for r in rs]),
                     "ticks_per_s": rate(first["ticks"], wall), "world_ticks_per_s": rate(first["world_ticks"], wall),
                     "episodes_per_s": rate(worlds, wall),
                     "active_agent_steps_per_s": rate(first["active_agent_steps"], wall),
                     "full_over_kernel": spread([r["wall_s"] / r["kernel_s"] for r in rs])}
    return out
