"""The batch planner of `experiment` and `sweep`: configurations that may share one Simulation, and their seeds.

A *configuration* is one effective scenario (a built-in or file with overrides) and the labels that name it in the
results. Configurations of one scenario entry whose `engine.sim.simulation.batch_key` is equal — the grid, task,
layout, faults, stage radii and c₀ map the Simulation builds once — run as consecutive blocks of worlds of one
Simulation (`variants`); everything per world (agent knobs, τ_green, the whole [curriculum] section, the manager)
may differ inside a batch, so it never splits one. A `Batch` names the episode seeds of each configuration's worlds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Config:
    """One effective scenario and the labels that name it in the results (manager, ablation, swept values …)."""

    scenario: str                               # the scenario entry as the user wrote it
    labels: tuple[tuple[str, object], ...]      # result columns naming this configuration
    variant: object                             # the loaded scenarios.spec.Scenario
    overrides: tuple[tuple[str, object], ...] = ()  # every override applied to the scenario entry

    @property
    def manager(self) -> str:
        """The manager this configuration runs."""
        return self.variant.curriculum.manager


def make_config(scenario_name: str, labels: dict, overrides: dict, path: str | None = None) -> Config:
    """Load the scenario (from `path` when given, else by name) with overrides (ScenarioError on bad input)."""
    from scenarios.loader import load_scenario

    variant = load_scenario(path or scenario_name, overrides)
    return Config(scenario_name, tuple(labels.items()), variant, tuple(overrides.items()))


@dataclass(frozen=True)
class Batch:
    """Configurations run as consecutive blocks of worlds of one Simulation; configuration j runs `seeds[j]`."""

    configs: tuple[Config, ...]
    seeds: tuple[tuple[int, ...], ...]

    @property
    def scenario(self) -> str:
        """The scenario entry every configuration of the batch comes from."""
        return self.configs[0].scenario

    @property
    def worlds(self) -> int:
        """Worlds in this batch."""
        return sum(len(s) for s in self.seeds)

    def variants(self) -> list:
        """The scenario of each world."""
        return [c.variant for c, seeds in zip(self.configs, self.seeds) for _ in seeds]

    def episode_seeds(self) -> np.ndarray:
        """The episode seed of each world."""
        return np.array([s for seeds in self.seeds for s in seeds], dtype=np.uint64)

    def only(self, j: int) -> Batch:
        """Configuration j alone, with its seeds (the retry of a batch that crashed)."""
        return Batch((self.configs[j],), (self.seeds[j],))

    def label(self) -> str:
        """Short name for progress lines."""
        return f"{self.scenario}/{self.configs[0].variant.layout.mapping} ×{self.worlds}"


def group(configs: list[Config], capacity: int) -> list[list[Config]]:
    """First fit: each configuration joins the first group of its scenario entry and batch key that holds fewer
    than `capacity` configurations, else starts a new group (groups keep the order of their first member)."""
    from engine.sim.simulation import batch_key

    groups: list[tuple[tuple, list[Config]]] = []
    for c in configs:
        key = (c.scenario, batch_key(c.variant))
        for gkey, members in groups:
            if gkey == key and len(members) < capacity:
                members.append(c)
                break
        else:
            groups.append((key, [c]))
    return [members for _, members in groups]
