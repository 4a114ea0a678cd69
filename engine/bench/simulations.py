"""The Simulations `gridhanoi bench` times: a case's scenario, one Simulation per backend, a clock on the tick."""
from __future__ import annotations

import time


def scenario_for(name: str, grid: int | None, overrides: dict | None = None):
    """Load scenario `name` with `overrides`, resized to `grid` with as many disks as its tiles can hold."""
    from scenarios.loader import load_scenario
    from scenarios.move_count import moves_for

    overrides = dict(overrides or {})
    base = load_scenario(name)
    if grid is not None and grid != base.grid.size:
        tiles = (grid // base.grid.tile) ** 2
        disks = 1
        while moves_for(disks + 1, base.task.pegs) <= tiles:
            disks += 1
        overrides.update({"grid.size": grid, "task.disks": disks})
    return load_scenario(name, overrides) if overrides else base


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
