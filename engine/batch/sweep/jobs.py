"""Sweep jobs: a spec's configurations, planned into batched-world jobs with stable ids (engine/batch/sweep/driver.py).

Configurations are grouped by the batch planner `experiment` uses (engine/batch/plan.py): per-world parameters never
split a job. A job's id hashes everything that changes its rows: the sweep's name, each configuration's labels and
effective scenario (its text and the bytes of the PNG maps it reads), the seeds, the gridhanoi version and commit,
and the --arch asked for, so a re-run with another arch or code runs every job again instead of skipping it.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path

from engine.batch.plan import Batch, Config, group
from engine.batch.runner import seed_range
from engine.batch.sweep.spec import Spec, param_type
from scenarios.errors import ScenarioError


@dataclass(frozen=True)
class Job:
    """A batch (configurations × seeds run as the worlds of one Simulation); `id` names its result file."""

    id: str
    sweep: str
    batch: Batch
    version: str
    arch: str
    stage_columns: int  # stage_1_tick … columns every file of the sweep carries
    param_kinds: tuple[tuple[str, str], ...] = ()  # swept key → column type, from all of the spec's values

    @property
    def scenario(self) -> str:
        """The spec's scenario entry."""
        return self.batch.scenario

    @property
    def configs(self) -> tuple[Config, ...]:
        """The configurations of this job."""
        return self.batch.configs

    @property
    def seeds(self) -> tuple[int, ...]:
        """The seeds every configuration of this job runs."""
        return self.batch.seeds[0]

    @property
    def runs(self) -> int:
        """Runs (worlds) in this job."""
        return self.batch.worlds

    def describe(self) -> str:
        """One line: scenario, the swept values and the seeds."""
        values: dict[str, list] = {}
        for c in self.configs:
            for k, v in c.labels:
                values.setdefault(k, []).append(v)
        shown = " ".join(f"{k}={'|'.join(map(str, dict.fromkeys(v)))}" for k, v in values.items())
        return f"{self.scenario}{' ' + shown if shown else ''} seeds {seed_range(self.seeds)}"


def _scenario_arg(spec: Spec, entry: str) -> str:
    """A spec entry as load_scenario takes it: built-in names as they are, paths relative to the spec file."""
    from scenarios.loader import is_builtin_name

    if is_builtin_name(entry) or os.path.isabs(entry):
        return entry
    return str(Path(spec.path).parent / entry)


def expand(spec: Spec) -> list[Config]:
    """Every configuration of the spec (labels: the swept values); ScenarioError naming the spec key on bad values."""
    from engine.managers import ManagerError, manager_class
    from scenarios.loader import load_scenario

    keys = [k for k, _ in spec.params]
    out = []
    for entry in spec.scenarios:
        for combo in itertools.product(*(values for _, values in spec.params)):
            params = tuple(zip(keys, combo))
            overrides = {**dict(spec.fixed), **dict(params)}
            if spec.ticks is not None:
                overrides["task.max_ticks"] = spec.ticks
            try:
                s = load_scenario(_scenario_arg(spec, entry), overrides)
            except ScenarioError as err:
                raise _blame(spec, err, entry, params) from None
            try:
                manager_class(s.curriculum.manager)
            except ManagerError as err:
                raise _blame(spec, ScenarioError(str(err), key="curriculum.manager"), entry, params) from None
            out.append(Config(entry, params, s, tuple(overrides.items())))
    return out


def _blame(spec: Spec, err: ScenarioError, entry: str, params) -> ScenarioError:
    """Re-word a scenario error so it names the spec key that caused it."""
    swept = dict(params)
    if err.key in swept:
        return spec.error(f"{swept[err.key]!r} for scenario {entry}: {err}", err.key, "params")
    if err.key in dict(spec.fixed):
        return spec.error(f"{err}", err.key, "set")
    if err.key == "task.max_ticks" and spec.ticks is not None:
        return spec.error(f"{err}", "ticks")
    return spec.error(f"{entry!r}: {err}", "scenarios")


def scenario_digest(s) -> str:
    """sha256 of the effective scenario: its text and the bytes of the PNG maps it reads (an edited PNG changes
    the runs without changing the text)."""
    h = hashlib.sha256(s.text.encode("utf-8"))
    for relative in (s.layout.difficulty if s.layout.difficulty != "radial" and not s.layout.difficulty_ascii else "",
                     s.faults.dead_png):
        if relative:
            try:
                h.update(s.path(relative).read_bytes())
            except OSError as err:  # the run will say what is wrong with the file; the id just differs
                h.update(f"unreadable {relative}: {err.strerror}".encode())
    return h.hexdigest()


def job_id(sweep: str, configs, seeds, version: str, arch: str) -> str:
    """16 hex characters of the sha256 of what decides a job's rows."""
    blob = json.dumps({"sweep": sweep, "version": version, "arch": arch, "seeds": list(seeds),
                       "configs": [[c.scenario, [list(p) for p in c.labels], scenario_digest(c.variant)]
                                   for c in configs]},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def plan_jobs(spec: Spec, configs: list[Config], version: str, arch: str) -> list[Job]:
    """Split the configurations into batched-world jobs: groups of at most `worlds_per_job` configurations that
    may share a Simulation, each × blocks of `worlds_per_job // configurations` seeds (every configuration runs
    every seed, so configurations are paired)."""
    stages = max(len(c.variant.curriculum.radii) for c in configs)
    kinds = tuple((key, param_type(values)) for key, values in spec.params)
    per_job = spec.worlds_per_job
    jobs = []
    for part in group(configs, per_job):
        block = max(1, per_job // len(part))  # depends on the group only: more seeds later keep these ids
        for i in range(0, len(spec.seeds), block):
            seeds = tuple(spec.seeds[i:i + block])
            jobs.append(Job(job_id(spec.name, part, seeds, version, arch), spec.name,
                            Batch(tuple(part), (seeds,) * len(part)), version, arch, stages, kinds))
    return jobs
