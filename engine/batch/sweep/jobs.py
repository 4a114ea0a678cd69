"""Sweep jobs: a spec's configurations, grouped into batched-world jobs with stable ids (engine/batch/sweep/driver.py)."""
from __future__ import annotations

import hashlib
import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path

from engine.batch.sweep.spec import Spec, param_type
from scenarios.errors import ScenarioError


@dataclass(frozen=True)
class Config:
    """One effective scenario of the sweep: its spec entry, the swept values and the scenario text."""

    scenario: str                            # the spec's entry, as written
    params: tuple[tuple[str, object], ...]   # swept key, value
    overrides: tuple[tuple[str, object], ...]  # every override applied: [set], params, ticks
    text: str                                # effective scenario TOML (overrides applied)
    source: str
    base_dir: str                            # where the scenario's relative PNG paths are read from


@dataclass(frozen=True)
class Job:
    """Configurations × seeds run as the worlds of one Simulation; `id` names its result file."""

    id: str
    sweep: str
    scenario: str
    configs: tuple[Config, ...]
    seeds: tuple[int, ...]
    version: str
    stage_columns: int  # stage_1_tick … columns every file of the sweep carries
    param_kinds: tuple[tuple[str, str], ...] = ()  # swept key → column type, from all of the spec's values

    @property
    def runs(self) -> int:
        """Runs (worlds) in this job."""
        return len(self.configs) * len(self.seeds)

    def describe(self) -> str:
        """One line: scenario, the swept values and the seeds."""
        values: dict[str, list] = {}
        for c in self.configs:
            for k, v in c.params:
                values.setdefault(k, []).append(v)
        shown = " ".join(f"{k}={'|'.join(map(str, dict.fromkeys(v)))}" for k, v in values.items())
        return f"{self.scenario}{' ' + shown if shown else ''} seeds {seed_range(self.seeds)}"


def seed_range(seeds) -> str:
    """Seeds as "0-3" when consecutive, else comma-separated."""
    seeds = list(seeds)
    if len(seeds) > 1 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


def _scenario_arg(spec: Spec, entry: str) -> str:
    """A spec entry as load_scenario takes it: built-in names as they are, paths relative to the spec file."""
    from scenarios.loader import is_builtin_name

    if is_builtin_name(entry) or os.path.isabs(entry):
        return entry
    return str(Path(spec.path).parent / entry)


def expand(spec: Spec) -> list[tuple[Config, object]]:
    """Every (configuration, loaded Scenario) of the spec; ScenarioError naming the spec key on bad values."""
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
            out.append((Config(entry, params, tuple(overrides.items()), s.text, s.source, str(s.base_dir)), s))
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


def compatibility_key(s) -> tuple:
    """What must be equal for two scenarios to run as worlds of one Simulation (it builds one layout)."""
    c0 = s.agents.c0 if s.agents.c0_patches is not None else None  # patches bake c₀ into the shared layout
    return (s.grid, s.task.kind, s.task.disks, s.task.pegs, s.layout, s.faults, s.agents.c0_patches, c0,
            tuple(s.curriculum.radii))


def _groups(configs: list[tuple[Config, object]]) -> list[list[Config]]:
    """First-fit: same scenario and compatibility key, and one [curriculum] per manager name in a group.

    Simulation builds one manager per manager name from the first such world's [curriculum]: two λ values of
    `thompson` in one batch would silently run with the first, so they go to separate groups.
    """
    groups: list[tuple[tuple, list[tuple[Config, object]]]] = []
    for c, s in configs:
        key = (c.scenario, compatibility_key(s))
        for gkey, members in groups:
            clash = any(o.curriculum.manager == s.curriculum.manager and o.curriculum != s.curriculum
                        for _, o in members)
            if gkey == key and not clash:
                members.append((c, s))
                break
        else:
            groups.append((key, [(c, s)]))
    return [[c for c, _ in members] for _, members in groups]


def job_id(sweep: str, configs, seeds, version: str) -> str:
    """16 hex characters of the sha256 of what decides a job's rows."""
    blob = json.dumps({"sweep": sweep, "version": version, "seeds": list(seeds),
                       "configs": [[c.scenario, [list(p) for p in c.params], c.text] for c in configs]},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def plan_jobs(spec: Spec, configs: list[tuple[Config, object]], version: str) -> list[Job]:
    """Split the configurations into batched-world jobs (see the module docstring)."""
    stages = max(len(s.curriculum.radii) for _, s in configs)
    kinds = tuple((key, param_type(values)) for key, values in spec.params)
    per_job = spec.worlds_per_job
    jobs = []
    for group in _groups(configs):
        slices = [group[i:i + per_job] for i in range(0, len(group), per_job)]
        for part in slices:
            block = max(1, per_job // len(part))  # depends on the group only: more seeds later keep these ids
            for i in range(0, len(spec.seeds), block):
                seeds = spec.seeds[i:i + block]
                jobs.append(Job(job_id(spec.name, part, seeds, version), spec.name, part[0].scenario, tuple(part),
                                tuple(seeds), version, stages, kinds))
    return jobs
