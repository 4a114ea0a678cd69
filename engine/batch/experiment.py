"""The experiment grid runner: (scenario × configuration × seed) as a few batched Simulations.

A *configuration* is one effective scenario (a manager, an ablation or a knob step applied to a built-in) with
labels; it runs `seeds` times. Configurations that may share a Simulation run as its worlds (`variants`), so one
kernel launch steps them all: the planner, rows, retry and Parquet writing are the sweep's too (engine/batch/plan.py,
rows.py, runner.py, parquet.py).

Seeds. World w of a Simulation is the episode with seed `seed + w`, and its trajectory depends only on that seed and
its own scenario (DESIGN §2.2). Configuration j of a scenario (numbered in batch order) runs the consecutive seeds
`j·N … j·N + N − 1`, so every run has its own seed: configurations are independent samples, not paired ones.
With `paired` (the sensitivity default) every configuration instead runs the seeds 0 … N − 1 (still batched:
the Simulation takes explicit per-world seeds), so differences between configurations are paired. Any row
reproduces alone: `gridhanoi run SCENARIO --seed SEED --manager MANAGER` plus the overrides in its `overrides` column.
"""
from __future__ import annotations

import numpy as np

from engine.batch.plan import Batch, Config, group, make_config
from engine.batch.runner import BatchResult
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
    """Group configurations that may share a Simulation (`engine.batch.plan.group`) and assign seeds.

    paired=True: every configuration runs seeds 0 … N − 1 (common random numbers: a knob without effect gives
    bit-identical runs); otherwise configuration j of a scenario runs its own consecutive block of seeds.
    """
    batches = []
    next_seed: dict[str, int] = {}
    for members in group(configs, max(1, max_worlds // seeds)):
        if paired:
            blocks = (tuple(range(seeds)),) * len(members)
        else:
            first = next_seed.get(members[0].scenario, 0)
            blocks = tuple(tuple(range(first + j * seeds, first + (j + 1) * seeds)) for j in range(len(members)))
            next_seed[members[0].scenario] = first + len(members) * seeds
        batches.append(Batch(tuple(members), blocks))
    return batches


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
