"""The experiment grid runner: (scenario × configuration × seed) as a few batched Simulations.

A *configuration* is one effective scenario (a manager, an ablation or a knob step applied to a built-in) with
labels; it runs `seeds` times. Configurations that share a layout (grid, task, layout, faults, c₀ patches) run as
worlds of one Simulation (`variants`), so one kernel launch steps them all.

Seeds. World w of a Simulation is the episode with seed `seed + w`, and its trajectory depends only on that seed and
its own scenario (DESIGN §2.2). Configuration j of a scenario (numbered in batch order) runs the consecutive seeds
`j·N … j·N + N − 1`, so every run has its own seed: configurations are independent samples, not paired ones.
With `paired` (the sensitivity default) every configuration instead runs the seeds 0 … N − 1 (still batched:
the Simulation takes explicit per-world seeds), so differences between configurations are paired. Any row
reproduces alone: `gridhanoi run SCENARIO --seed SEED --manager MANAGER` plus the overrides in its `overrides` column.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from engine.sim import metrics

# Ablations of the paper's mechanisms, as dotted scenario overrides. "baseline" is always run.
ABLATIONS: dict[str, dict[str, object]] = {
    "baseline": {},
    "lambda0": {"curriculum.nll_weight": 0.0},          # reward = success only (no calibration term)
    "alpha0": {"agents.alpha": 0.0},                    # no pity bonus
    "oracle_off": {"oracle.enabled": False},            # no escalation at all
    "random_mapping": {"layout.mapping": "random"},     # moves on random tiles: no spatial structure
    "quantile": {"curriculum.reward_scaling": "quantile"},
}
MAX_BATCH_WORLDS = 512  # keeps one batch's agent state small (512 × 4,096 agents ≈ 80 MB)


@dataclass(frozen=True)
class Config:
    """One effective scenario and the labels that name it in the results (manager, ablation, knob …)."""

    scenario: str
    labels: tuple[tuple[str, object], ...]
    variant: object  # scenarios.spec.Scenario
    overrides: tuple[tuple[str, object], ...] = ()

    @property
    def manager(self) -> str:
        """The manager this configuration runs."""
        return self.variant.curriculum.manager


@dataclass
class Batch:
    """Configurations run as consecutive blocks of `seeds` worlds of one Simulation starting at `seed`."""

    scenario: str
    configs: list[Config]
    seeds: int
    seed: int = 0
    paired: bool = False

    @property
    def worlds(self) -> int:
        """Worlds in this batch."""
        return len(self.configs) * self.seeds

    def episode_seeds(self) -> np.ndarray:
        """Episode seed of each world: 0 … N − 1 per configuration when paired, else consecutive from `seed`."""
        if self.paired:
            return np.tile(np.arange(self.seeds, dtype=np.uint64), len(self.configs))
        return self.seed + np.arange(self.worlds, dtype=np.uint64)

    def label(self) -> str:
        """Short name for progress lines."""
        mapping = self.configs[0].variant.layout.mapping
        return f"{self.scenario}/{mapping} ×{self.worlds}"


@dataclass
class BatchResult:
    """Rows (one per run) and the per-tick series of one batch."""

    rows: list[dict]
    series: dict[str, np.ndarray]  # field → (ticks, worlds)
    wall_s: float
    error: str | None = None
    extra: dict = field(default_factory=dict)


def make_config(scenario_name: str, labels: dict, overrides: dict) -> Config:
    """Load the scenario with overrides into a labelled configuration (ScenarioError on bad input)."""
    from scenarios.loader import load_scenario

    variant = load_scenario(scenario_name, overrides)
    return Config(scenario_name, tuple(labels.items()), variant, tuple(overrides.items()))


def grid_configs(scenario: str, managers: list[str], ablations: list[str], ticks: int | None) -> list[Config]:
    """The manager × ablation configurations of one scenario ("baseline" first)."""
    names = ["baseline"] + [a for a in ablations if a != "baseline"]
    configs = []
    for ablation in names:
        for manager in managers:
            overrides = {"curriculum.manager": manager, **ABLATIONS[ablation]}
            if ticks is not None:
                overrides["task.max_ticks"] = ticks
            configs.append(make_config(scenario, {"manager": manager, "ablation": ablation}, overrides))
    return configs


def plan_batches(configs: list[Config], seeds: int, paired: bool = False,
                 max_worlds: int = MAX_BATCH_WORLDS) -> list[Batch]:
    """Group configurations that may share a Simulation (`engine.sim.simulation.batch_key`) and assign seeds.

    paired=True: every configuration runs seeds 0 … N − 1 (common random numbers: a knob without effect gives
    bit-identical runs); otherwise configuration j of a scenario runs its own consecutive block of seeds.
    """
    from engine.sim.simulation import batch_key

    batches: list[Batch] = []
    for c in configs:
        key = (c.scenario, batch_key(c.variant))
        for b in batches:
            if (b.scenario, batch_key(b.configs[0].variant)) == key and (len(b.configs) + 1) * seeds <= max_worlds:
                b.configs.append(c)
                break
        else:
            batches.append(Batch(c.scenario, [c], seeds, paired=paired))
    next_seed: dict[str, int] = {}
    for b in batches:
        if not paired:
            b.seed = next_seed.get(b.scenario, 0)
            next_seed[b.scenario] = b.seed + b.worlds
    return batches


def run_batch(batch: Batch, arch: str = "auto", on_tick=None) -> BatchResult:
    """Run one batch to the end; return a row per world (labels, seed, every metric) and the time series."""
    from engine.sim.simulation import Simulation
    from scenarios.loader import scenario_hash

    variants = [c.variant for c in batch.configs for _ in range(batch.seeds)]
    started = time.perf_counter()
    sim = Simulation(variants[0], worlds=batch.worlds, arch=arch, variants=variants, seeds=batch.episode_seeds())
    series = metrics.TimeSeries()
    sim.listeners.append(series)
    if on_tick is not None:
        sim.listeners.append(on_tick)
    sim.run()
    wall = time.perf_counter() - started
    n_stages = sim.layout.n_rings
    arrays = series.arrays()
    rows = []
    for j, c in enumerate(batch.configs):
        hashed = scenario_hash(c.variant)
        for i in range(batch.seeds):
            w = j * batch.seeds + i
            m = metrics.world_metrics(sim, w)
            m["longest_plateau"] = metrics.longest_plateau(arrays["moves"][:m["ticks"], w])
            row = {"scenario": c.scenario, **dict(c.labels), "seed": int(sim.seeds[w]), "replicate": i,
                   **m, **metrics.stage_tick_columns(m["stage_ticks"], n_stages),
                   "overrides": ";".join(f"{k}={v}" for k, v in c.overrides),
                   "scenario_hash": hashed, "batch_worlds": batch.worlds, "batch_wall_s": wall, "arch": sim.arch}
            rows.append(row)
    return BatchResult(rows, arrays, wall)


def series_table(results: list[BatchResult]) -> dict[str, np.ndarray]:
    """Long-format per-tick columns (run, tick, fields …) over every batch; runs index the results rows."""
    cols: dict[str, list[np.ndarray]] = {"run": [], "tick": []}
    base = 0
    for r in results:
        arrays = r.series
        if not arrays:  # a crashed batch has rows but no series
            base += len(r.rows)
            continue
        n_ticks = arrays["moves"].shape[0]
        for w, row in enumerate(r.rows):
            # keep a run's ticks up to its end: after it the values are frozen (plots carry the last one forward)
            end = min(int(row["ticks"]), n_ticks)
            cols["run"].append(np.full(end, base + w, np.int32))
            cols["tick"].append(np.arange(end, dtype=np.int32))
            for f in metrics.TimeSeries.FIELDS:
                cols.setdefault(f, []).append(arrays[f][:end, w])
        base += len(r.rows)
    return {k: np.concatenate(v) if v else np.zeros(0, np.int32) for k, v in cols.items()}


def write_parquet(path, rows: list[dict] | dict[str, np.ndarray], metadata: dict | None = None) -> None:
    """Write rows (list of dicts) or columns (dict of arrays) as one Parquet file."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows) if isinstance(rows, list) else pa.table(rows)
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               b"gridhanoi.experiment": json.dumps(metadata).encode()})
    pq.write_table(table, path, compression="zstd")
