"""Running a batch of `experiment` or `sweep`: one Simulation, its rows and per-tick series, and the crash retry.

A batch that raises is run again one configuration at a time, so one bad configuration (a crashing plugin, a
scenario that does not fit in memory) does not sink the others; the configurations that still raise become
`Failure`s with a one-line error. Each command decides what a failure becomes: crashed rows in the experiment's
results, `failures.json` and a re-run next time in a sweep.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from engine.batch.plan import Batch
from engine.batch.rows import batch_rows
from scenarios.errors import one_line


@dataclass
class Failure:
    """Runs that crashed: their scenario, the labels of their configuration, seeds and the one-line error."""

    scenario: str
    labels: dict
    seeds: list[int]
    error: str
    job: str | None = None  # the sweep job they belong to

    def line(self) -> str:
        """One line for stderr."""
        shown = " ".join(f"{k}={v}" for k, v in self.labels.items())
        where = f"job {self.job}" if self.job else "batch"
        return f"{where} failed: {self.scenario}{' ' + shown if shown else ''} seeds {seed_range(self.seeds)}: " \
               f"{self.error}"


@dataclass
class BatchResult:
    """What one Simulation of a batch gave: rows (one per run) and the per-tick series (field → (ticks, worlds)),
    or, when it raised, no rows and the failures of its configurations."""

    batch: Batch
    rows: list[dict]
    series: dict[str, np.ndarray]
    wall_s: float
    failures: list[Failure] = field(default_factory=list)


def seed_range(seeds) -> str:
    """Seeds as "0-3" when consecutive, else comma-separated."""
    seeds = [int(s) for s in seeds]
    if len(seeds) > 1 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


def error_line(err: BaseException, limit: int = 300) -> str:
    """An exception as one short line: `Type: message`."""
    text = one_line(f"{type(err).__name__}: {err}")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def run_batch(batch: Batch, arch: str = "auto", on_tick=None, n_stages: int | None = None) -> BatchResult:
    """Run one batch as one Simulation to the end; its rows and time series (exceptions propagate)."""
    from engine.sim import metrics
    from engine.sim.simulation import Simulation

    variants = batch.variants()
    started = time.perf_counter()
    sim = Simulation(variants[0], worlds=batch.worlds, arch=arch, variants=variants, seeds=batch.episode_seeds())
    series = metrics.TimeSeries()
    sim.listeners.append(series)
    if on_tick is not None:
        sim.listeners.append(on_tick)
    sim.run()
    wall = time.perf_counter() - started
    arrays = series.arrays()
    return BatchResult(batch, batch_rows(batch, sim, arrays, wall, n_stages), arrays, wall)


def run_with_retry(batch: Batch, arch: str = "auto", on_tick=None, n_stages: int | None = None) -> list[BatchResult]:
    """Run a batch; if it raises, run each configuration alone. One result per Simulation that ran, in
    configuration order; the configurations that still raise are in the results' `failures` (rows empty)."""
    try:
        return [run_batch(batch, arch, on_tick, n_stages)]
    except Exception as err:  # noqa: BLE001 — any crash of a run is data for the report, not the end of the batch
        if len(batch.configs) == 1:
            return [_failed(batch, err)]
    results = []
    for j in range(len(batch.configs)):
        one = batch.only(j)
        try:
            results.append(run_batch(one, arch, on_tick, n_stages))
        except Exception as err:  # noqa: BLE001
            results.append(_failed(one, err))
    return results


def _failed(batch: Batch, err: BaseException) -> BatchResult:
    """The result of a one-configuration batch that raised."""
    c = batch.configs[0]
    return BatchResult(batch, [], {}, 0.0, [Failure(c.scenario, dict(c.labels), [int(s) for s in batch.seeds[0]],
                                             error_line(err))])
