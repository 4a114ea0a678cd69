"""Sweeps: a TOML spec → batched-world jobs → one Parquet dataset, resumable (`gridhanoi sweep`, docs/sweeps.md).

Spec
----
    name = "alpha"                      # optional; default the file's stem
    scenarios = ["smoke", "my.toml"]    # built-in names or .toml paths (relative to the spec file)
    seeds = 16                          # seeds 0 … 15, or an explicit list [0, 1, 2]
    ticks = 300                         # optional: task.max_ticks of every run
    worlds_per_job = 64                 # optional: at most this many runs in one job (default 64)
    [set]                               # optional: overrides applied to every run
    "oracle.cost" = 10
    [params]                            # the grid: every combination of these values
    "curriculum.manager" = ["thompson", "stages"]
    agents.alpha = [0.0, 0.003]

Jobs
----
Every (scenario, parameter combination) is a *configuration*; each runs every seed, so configurations are paired
(common random numbers). Configurations of one scenario that can share a Simulation (`experiment`'s planner,
engine/batch/plan.py: per-world parameters never split a group) form groups of at most `worlds_per_job`; a job is a
group × a block of `worlds_per_job // configurations` seeds, run as the worlds of one Simulation (`variants`), so
one Taichi launch steps all its runs. A job's id hashes its labels, effective scenarios (text and PNG maps), seeds,
the gridhanoi version and commit, and --arch; its rows (engine/batch/rows.py, the experiment's rows) go to
`OUT/results/job-<id>.parquet`, written by the driver atomically (temporary file + rename). A re-run skips every job
whose file exists and records no failure.

Failures
--------
A job that raises is run again one configuration at a time (engine/batch/runner.py, the experiment's retry);
a job whose worker process died is submitted once more. What still fails is reported with its parameters and a
one-line error on stderr and in `OUT/failures.json`, and the rest of the sweep completes.

Modules
-------
engine/batch/sweep/spec.py (the spec), engine/batch/sweep/jobs.py (configurations and jobs), engine/batch/sweep/worker.py (running
one job), engine/batch/sweep/results.py (the Parquet files), engine/batch/sweep/backends.py (where jobs run); this module is
the driver (resume, retry, failures, writing results).
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.batch.parquet import write_parquet
from engine.batch.runner import Failure, error_line
from engine.batch.sweep.jobs import Job, expand, plan_jobs
from engine.batch.sweep.results import failure_record, job_done, result_table
from engine.batch.sweep.spec import load_spec
from engine.batch.sweep.worker import JobResult, code_version, job_failures
from replay.writer import write_json_atomic


# ---------------------------------------------------------------- the driver
@dataclass
class SweepReport:
    """What a sweep did: jobs run, skipped, failed, runs written, wall time."""

    jobs: int = 0
    ran: int = 0
    skipped: int = 0
    runs: int = 0
    failures: list[Failure] = field(default_factory=list)
    wall_s: float = 0.0


class OutputFolder:
    """OUT/results/ and OUT/failures.json, held by one sweep at a time (an advisory lock)."""

    def __init__(self, out: str | os.PathLike):
        from engine.errors import UsageError

        self.root = Path(out)
        self.results = self.root / "results"
        try:
            self.results.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.root / ".sweep.lock", "w")
        except OSError as err:
            raise UsageError(f"--out {self.root}: cannot write there ({err.strerror or err}); choose another "
                             "folder") from None
        try:
            import fcntl
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # no fcntl (Windows): no lock
            pass
        except OSError:
            raise UsageError(f"--out {self.root}: another sweep is writing there; wait for it or choose another "
                             "folder") from None
        for stale in self.results.glob(".job-*.tmp-*"):  # left by a killed sweep; we hold the lock
            stale.unlink(missing_ok=True)

    def path(self, job: Job) -> Path:
        """The result file of a job."""
        return self.results / f"job-{job.id}.parquet"

    def strays(self, jobs: list[Job]) -> list[Path]:
        """Result files that belong to no job of this plan (an edited spec, an older gridhanoi)."""
        mine = {self.path(j).name for j in jobs}
        return sorted(p for p in self.results.glob("job-*.parquet") if p.name not in mine)

    def write_failures(self, failures: list[Failure]) -> None:
        """OUT/failures.json: the runs that crashed in this invocation (an empty list when none)."""
        write_json_atomic(self.root / "failures.json", [failure_record(f) for f in failures])

    def close(self) -> None:
        """Release the lock."""
        self._lock.close()


def run_sweep(spec_path, out, backend: str = "local", workers: int | None = None, address: str | None = None,
              arch: str = "auto", cpus_per_job: int | None = None, log=None) -> SweepReport:
    """Plan the spec, skip finished jobs, run the rest on a backend and write each job's rows as they arrive."""
    from engine.batch.sweep.backends import check_backend, make_backend

    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    started = time.perf_counter()
    check_backend(backend, workers, address, cpus_per_job)
    spec = load_spec(spec_path)
    jobs = plan_jobs(spec, expand(spec), code_version(), arch)
    folder = OutputFolder(out)
    report = SweepReport(jobs=len(jobs))
    try:
        strays = folder.strays(jobs)
        if strays:
            log(f"sweep: warning: {len(strays)} file(s) in {folder.results} belong to no job of this spec "
                f"(edited spec, other gridhanoi version or --arch); remove them or use another --out")
        todo = []
        for job in jobs:
            if job_done(folder.path(job)):
                report.skipped += 1
                log(f"skip job {job.id}: {folder.path(job).name} exists ({job.describe()})")
            else:
                todo.append(job)
        log(f"sweep {spec.name}: {sum(j.runs for j in jobs)} runs in {len(jobs)} jobs, {len(todo)} to run "
            f"({backend} backend)")
        if todo:
            pool = make_backend(backend, workers=workers, address=address, arch=arch, jobs=len(todo),
                                cpus_per_job=cpus_per_job)
            _run_jobs(todo, pool, folder, report, log)
        folder.write_failures(report.failures)
    finally:
        folder.close()
    report.wall_s = time.perf_counter() - started
    return report


def _run_jobs(todo: list[Job], pool, folder: OutputFolder, report: SweepReport, log) -> None:
    """Submit every job, retry a job whose worker died once, write results as they arrive."""
    tries = {job.id: 1 for job in todo}
    try:
        for job in todo:
            pool.submit(job)
        for job, outcome in pool.completed():
            if isinstance(outcome, BaseException):  # no result: the worker died, or the job could not start
                if tries[job.id] < 2:
                    tries[job.id] += 1
                    log(f"job {job.id}: no result ({error_line(outcome)}); retrying once")
                    pool.submit(job)
                    continue
                outcome = JobResult([], job_failures(job, error_line(outcome)))
            elif outcome.version != job.version:
                outcome = JobResult([], job_failures(job, f"worker runs gridhanoi {outcome.version}, this driver "
                                                          f"{job.version}; install one version everywhere"))
            if outcome.rows:
                write_parquet(folder.path(job), result_table(job, outcome.rows, outcome.failures))
            report.ran += 1
            report.runs += len(outcome.rows)
            report.failures += outcome.failures
            for f in outcome.failures:
                log(f.line())
            log(f"job {job.id} {'done' if not outcome.failures else 'FAILED'} [{report.ran}/{len(todo)}]: "
                f"{len(outcome.rows)} of {job.runs} runs written, {outcome.wall_s:.1f} s ({job.describe()})")
    finally:
        pool.close()
