"""Running one sweep job in a worker process: the shared batch runner and retry, the sweep's columns and version."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from engine.batch.runner import Failure, run_with_retry
from engine.batch.sweep.jobs import Job
from engine.sim.recording import git_commit, gridhanoi_version


@dataclass
class JobResult:
    """What a worker returns: one row per run that finished, and what crashed."""

    rows: list[dict]
    failures: list[Failure] = field(default_factory=list)
    version: str | None = None
    wall_s: float = 0.0


def code_version() -> str:
    """The gridhanoi version and, in a checkout, its commit: what a job's rows depend on besides its inputs."""
    commit = git_commit()
    return f"{gridhanoi_version()}+{commit[:12]}" if commit else gridhanoi_version()


def job_failures(job: Job, error: str) -> list[Failure]:
    """One failure per configuration of a job that crashed with `error`."""
    return [Failure(c.scenario, dict(c.labels), list(job.seeds), error, job.id) for c in job.configs]


def execute_job(job: Job) -> JobResult:
    """Run a job in this process (retrying one configuration at a time if it raises); rows carry sweep and job."""
    from engine.sim.arch import init_taichi

    started = time.perf_counter()
    init_taichi(job.arch)  # once per process; later calls return at once
    rows, failures = [], []
    for result in run_with_retry(job.batch, job.arch, n_stages=job.stage_columns):
        rows += [{"sweep": job.sweep, "job": job.id, **row} for row in result.rows]
        for f in result.failures:
            f.job = job.id
        failures += result.failures
    return JobResult(rows, failures, code_version(), time.perf_counter() - started)
