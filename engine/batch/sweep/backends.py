"""Where sweep jobs run: `local` (a process pool on this machine) or `ray` (one Ray task per job, any cluster).

A backend has three methods: `submit(job)`, `completed()` (yields `(job, JobResult)` as jobs finish, or
`(job, exception)` when the worker running it was lost; jobs submitted meanwhile are waited for too) and
`close()`; `Capped` holds the queue and the in-flight limit both share. Results travel back to the driver, which alone writes files: a cluster needs no shared filesystem.
"""
from __future__ import annotations

import collections
import os
import sys
import threading
import time

from engine.batch.sweep.worker import execute_job


def check_backend(name: str, workers: int | None = None, address: str | None = None,
                  cpus_per_job: int | None = None) -> None:
    """Refuse a bad backend choice before anything runs: UsageError (exit 2), one line."""
    from engine.errors import UsageError

    for flag, value in (("--workers", workers), ("--cpus-per-job", cpus_per_job)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be ≥ 1, got {value}")
    if name == "local" and (address or cpus_per_job):
        raise UsageError(f"{'--address' if address else '--cpus-per-job'} needs --backend ray")
    if name == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise UsageError("--backend ray needs Ray: pip install 'gridhanoi[ray]'") from None
    elif name != "local":
        raise UsageError(f"unknown backend {name!r}; choose local or ray")


def make_backend(name: str, workers: int | None, address: str | None, arch: str, jobs: int,
                 cpus_per_job: int | None = None):
    """The backend called `name`, ready to take `jobs` jobs."""
    check_backend(name, workers, address, cpus_per_job)
    if name == "local":
        return LocalPool(min(workers or 1, jobs), arch)
    return RayPool(workers, address, arch, cpus_per_job)


# Taichi takes a redirected sys.stdout (engine.sim.arch hides its banner) for a notebook and then wraps every kernel
# call to forward kernel prints, logging one line per process about it; workers never print from kernels.
WORKER_ENV = {"TI_ENABLE_PYBUF": "0"}


class Capped:
    """Jobs wait here until fewer than `cap` are in flight; subclasses start one (`_start`) and wait for any."""

    def __init__(self, cap: int | None):
        self.cap = cap
        self.waiting: collections.deque = collections.deque()
        self.pending: dict = {}  # handle → job

    def _fill(self) -> None:
        while self.waiting and (self.cap is None or len(self.pending) < self.cap):
            job = self.waiting.popleft()
            self.pending[self._start(job)] = job

    def submit(self, job) -> None:
        """Queue a job."""
        self.waiting.append(job)
        self._fill()

    def completed(self):
        """Yield (job, result or exception) as jobs finish, until none is waiting or in flight."""
        while self.pending or self.waiting:
            self._fill()
            for handle in self._wait_any():
                job = self.pending.pop(handle)
                try:
                    yield job, self._result(handle)
                except Exception as err:  # the worker process (or its node) was lost
                    yield job, err


# ---------------------------------------------------------------- local: a process pool
def _watch_parent(parent: int) -> None:
    """Exit when the driver is gone: a SIGKILLed driver would otherwise leave workers blocked for ever."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _start_worker(arch: str, parent: int, threads: int) -> None:
    """Pool initializer: Taichi once per worker process (its share of the cores), and the parent watchdog."""
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    os.environ.update(WORKER_ENV)
    from engine.sim.arch import init_taichi
    init_taichi(arch, threads=threads)


class LocalPool(Capped):
    """`workers` spawned processes (spawn: Taichi's runtime does not survive a fork).

    One worker by default: engine.sim.arch gives every process's Taichi a thread per core, so one job already spreads
    its worlds over the whole machine, and several workers oversubscribe it (measured in docs/sweeps.md).
    Only `workers` jobs are handed to the executor at a time: when a worker dies, every job the executor holds
    fails with it, and this way those are the jobs that were running, not the whole queue.
    """

    def __init__(self, workers: int, arch: str):
        super().__init__(workers)
        self.arch = arch
        self.pool = None

    def _start(self, job):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        for _ in range(2):
            if self.pool is None:
                self.pool = ProcessPoolExecutor(self.cap, mp_context=multiprocessing.get_context("spawn"),
                                                initializer=_start_worker,
                                                initargs=(self.arch, os.getpid(),
                                                          max(1, (os.cpu_count() or 1) // self.cap)))
            try:
                return self.pool.submit(execute_job, job)
            except BrokenProcessPool:  # a worker died earlier: a fresh pool for what comes next
                self.pool.shutdown(wait=False, cancel_futures=True)
                self.pool = None
        raise BrokenProcessPool("cannot start worker processes")

    def _wait_any(self):
        from concurrent.futures import FIRST_COMPLETED, wait

        return wait(list(self.pending), return_when=FIRST_COMPLETED)[0]

    def _result(self, future):
        return future.result()

    def close(self) -> None:
        """Stop the workers; queued jobs are dropped."""
        self.waiting.clear()
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


# ---------------------------------------------------------------- ray: one task per job
class RayPool(Capped):
    """One Ray task per job; joins the cluster at `address` (e.g. "auto"), else starts Ray on this machine."""

    def __init__(self, workers: int | None, address: str | None, arch: str, cpus_per_job: int | None = None):
        import ray

        from engine.errors import UsageError
        from engine.batch.runner import error_line

        super().__init__(workers)
        self.ray, self.arch = ray, arch
        self.started_here = not ray.is_initialized()
        if self.started_here:
            kwargs = {"address": address} if address else {"num_cpus": workers, "include_dashboard": False}
            try:
                ray.init(**kwargs, runtime_env={"env_vars": WORKER_ENV}, logging_level="ERROR")
            except Exception as err:  # no cluster at --address, no room for Ray's processes, …
                raise UsageError(f"--backend ray: cannot start or join Ray ({error_line(err)}); check --address "
                                 "and `ray status`") from None
        gpus = ray.cluster_resources().get("GPU", 0) if arch in ("auto", "cuda", "vulkan") else 0
        if cpus_per_job is None:
            # on the CPU a job's Taichi runs a thread per core of its node: reserve a whole (smallest) node
            nodes = [n["Resources"].get("CPU", 0) for n in ray.nodes() if n.get("Alive")]
            cpus_per_job = 1 if gpus > 0 else max(1, int(min((c for c in nodes if c > 0), default=1)))
        # one job per GPU: a job is one batched launch that fills it; no GPU asked for when running on CPU
        resources = {"num_cpus": cpus_per_job, "num_gpus": 1 if gpus > 0 else 0}
        # retries are ours (once, with a report), not Ray's silent ones
        self.remote = ray.remote(execute_job).options(max_retries=0, **resources)
        where = address or "a local Ray instance"
        print(f"ray: {where}, {ray.cluster_resources().get('CPU', 0):g} CPUs, {gpus:g} GPUs; each job reserves "
              f"{cpus_per_job} CPU(s){' and 1 GPU' if gpus > 0 else ''}", file=sys.stderr, flush=True)

    def _start(self, job):
        return self.remote.remote(job)

    def _wait_any(self):
        return self.ray.wait(list(self.pending), num_returns=1)[0]

    def _result(self, ref):
        return self.ray.get(ref)

    def close(self) -> None:
        """Cancel what is still in flight; shut Ray down if this sweep started it."""
        self.waiting.clear()
        for ref in self.pending:
            self.ray.cancel(ref, force=True)
        self.pending.clear()
        if self.started_here:
            self.ray.shutdown()
