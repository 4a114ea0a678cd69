"""Running one sweep job in a worker process: its rows, its failures, the retry (engine/batch/sweep/driver.py)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.sim.recording import gridhanoi_version, provenance
from engine.batch.sweep.jobs import Job, seed_range
from scenarios.errors import one_line


@dataclass
class Failure:
    """Runs that crashed: their job, scenario, swept values, seeds and the one-line error."""

    job: str
    scenario: str
    params: dict
    seeds: list[int]
    error: str

    def line(self) -> str:
        """One line for stderr."""
        shown = " ".join(f"{k}={v}" for k, v in self.params.items())
        return (f"job {self.job} failed: {self.scenario}{' ' + shown if shown else ''} "
                f"seeds {seed_range(self.seeds)}: {self.error}")


def job_failures(job: Job, configs, error: str) -> list[Failure]:
    """One failure per configuration of a job that crashed with `error`."""
    return [Failure(job.id, c.scenario, dict(c.params), list(job.seeds), error) for c in configs]


@dataclass
class JobResult:
    """What a worker returns: one row per run that finished, and what crashed."""

    rows: list[dict]
    failures: list[Failure] = field(default_factory=list)
    version: str | None = None
    wall_s: float = 0.0


def error_line(err: BaseException, limit: int = 300) -> str:
    """An exception as one short line: `Type: message`."""
    text = one_line(f"{type(err).__name__}: {err}")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def seeded_simulation(variants, seeds, arch: str):
    """A Simulation whose world w runs `variants[w]` with episode seed `seeds[w]`: the same seeds for every
    configuration of a job (a world's trajectory depends only on its own seed and scenario, DESIGN §2.2)."""
    from engine.sim.simulation import Simulation

    return Simulation(variants[0], worlds=len(variants), arch=arch, variants=variants, seeds=seeds)


def run_configs(job: Job, configs, arch: str) -> list[dict]:
    """Run configurations × the job's seeds as one Simulation; return one row per run."""
    from scenarios.loader import load_scenario_text

    variants = [load_scenario_text(c.text, c.source, None, Path(c.base_dir)) for c in configs for _ in job.seeds]
    started = time.perf_counter()
    sim = seeded_simulation(variants, [s for _ in configs for s in job.seeds], arch).run()
    wall = time.perf_counter() - started
    extra = {"arch": sim.arch, "job_runs": sim.W, "job_wall_s": wall, **provenance()}
    return run_rows(job, configs, sim, extra)


def run_rows(job: Job, configs, sim, extra: dict) -> list[dict]:
    """Rows of a finished Simulation: labels, params, every non-list figure of summary() and metrics, stage ticks."""
    from engine.sim import metrics
    from scenarios.loader import scenario_hash

    results = sim.summary()["world_results"]
    rows = []
    for w, figures in enumerate(results):
        c = configs[w // len(job.seeds)]
        variant = sim.variants[w]
        more = metrics.world_metrics(sim, w)
        row = {"sweep": job.sweep, "job": job.id, "scenario": c.scenario, "manager": figures["manager"],
               "seed": figures["seed"], **dict(c.params)}
        row.update({k: v for k, v in figures.items() if not isinstance(v, list) and k not in row})
        row.update({k: v for k, v in more.items() if not isinstance(v, list) and k not in row})
        row.update(metrics.stage_tick_columns(figures["stage_ticks"], job.stage_columns))
        row.update({"scenario_hash": scenario_hash(variant),
                    "overrides": ";".join(f"{k}={v}" for k, v in c.overrides), **extra})
        rows.append(row)
    return rows


def execute_job(job: Job, arch: str = "auto") -> JobResult:
    """Run a job in this process; if it raises, run its configurations one at a time and report those that fail."""
    from engine.sim.arch import init_taichi

    started = time.perf_counter()
    init_taichi(arch)  # once per process; later calls return at once
    try:
        rows, failures = run_configs(job, job.configs, arch), []
    except Exception:  # the retry: one configuration at a time, so one bad value does not sink the others
        rows, failures = [], []
        for c in job.configs:
            try:
                rows += run_configs(job, (c,), arch)
            except Exception as err:
                failures += job_failures(job, (c,), error_line(err))
    return JobResult(rows, failures, gridhanoi_version(), time.perf_counter() - started)
