"""The result rows of `experiment` and `sweep`: one row per run, built by one function from one list of figures.

A row is the configuration's labels, the episode seed, every scalar figure of `engine.sim.metrics.world_metrics`
(the formula `run`'s summary uses too: a figure added there becomes a column here), the progress stability, the
stage timeline as `stage_1_tick` … columns, the reliability counts, what reproduces the run (scenario hash,
overrides) and where and how it ran (batch size and wall time, arch, version, commit, hardware).
"""
from __future__ import annotations

from engine.sim import metrics

NOT_COLUMNS = ("world", "stage_ticks", "stalled_moves")  # batch position; lists shown as stage columns / by `run`


def batch_rows(batch, sim, series: dict, wall_s: float, n_stages: int | None = None) -> list[dict]:
    """One row per world of a finished batch Simulation; `series` holds the TimeSeries arrays of that run.

    n_stages: how many stage columns to write (a sweep gives every file the same ones), default the layout's."""
    from engine.sim.recording import provenance
    from scenarios.loader import scenario_hash

    n_stages = sim.layout.n_rings if n_stages is None else n_stages
    machine = provenance()
    rows = []
    w = 0
    for c, seeds in zip(batch.configs, batch.seeds):
        hashed = scenario_hash(c.variant)
        overrides = ";".join(f"{k}={v}" for k, v in c.overrides)
        for replicate in range(len(seeds)):
            figures = metrics.world_metrics(sim, w)
            row = {"scenario": c.scenario, **dict(c.labels), "replicate": replicate}
            row.update({k: v for k, v in figures.items() if k not in NOT_COLUMNS and k not in row})
            row["longest_plateau"] = metrics.longest_plateau(series["moves"][:figures["ticks"], w])
            row.update(metrics.stage_tick_columns(figures["stage_ticks"], n_stages))
            row.update(metrics.reliability_columns(sim, w))
            row.update({"overrides": overrides, "scenario_hash": hashed, "batch_worlds": sim.W,
                        "batch_wall_s": wall_s, "arch": sim.arch, **machine})
            rows.append(row)
            w += 1
    return rows


def crashed_rows(config, seeds, error: str) -> list[dict]:
    """Rows for runs that crashed: labels, seed, outcome "crashed" and the one-line error."""
    return [{"scenario": config.scenario, **dict(config.labels), "replicate": i, "seed": int(seed),
             "manager": config.manager, "outcome": "crashed", "error": error} for i, seed in enumerate(seeds)]
