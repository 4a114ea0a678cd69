"""`gridhanoi experiment`: batching and seeds, the results Parquet, the report, bad input, the sensitivity table."""
import math

import numpy as np
import pyarrow.parquet as pq
import pytest

from engine.batch import experiment as E
from engine.cli.main import main


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, taichi_cpu):
    """A tiny experiment: smoke, 2 managers, 2 seeds, one ablation, at most 60 ticks."""
    out = tmp_path_factory.mktemp("experiment")
    code = main(["experiment", "--scenario", "smoke", "--managers", "thompson,stages", "--seeds", "2",
                 "--ablations", "lambda0", "--ticks", "60", "--arch", "cpu", "--out", str(out)])
    return code, out


def test_tiny_experiment_writes_one_row_per_run(tiny):
    code, out = tiny
    assert code == 0
    table = pq.read_table(out / "results.parquet")
    rows = table.to_pylist()
    assert len(rows) == 2 * 2 * 2  # managers × (baseline + lambda0) × seeds
    needed = {"scenario", "manager", "ablation", "seed", "outcome", "ticks", "ticks_to_complete", "attempts",
              "wrong_attempts", "oracle_calls", "cost", "mean_nll", "brier", "ece", "escalation_precision",
              "stage_1_tick", "longest_plateau", "scenario_hash", "gridhanoi_version", "git_commit", "hardware"}
    assert needed <= set(table.column_names)
    combos = {(r["manager"], r["ablation"]) for r in rows}
    assert combos == {(m, a) for m in ("thompson", "stages") for a in ("baseline", "lambda0")}
    assert len({r["seed"] for r in rows}) == 8, "every run has its own episode seed (batched, unpaired)"
    for r in rows:
        assert r["outcome"] in ("complete", "max_ticks", "stalled") and r["ticks"] <= 60
        assert r["cost"] == r["attempts"] + 20 * r["oracle_calls"]
        assert (r["outcome"] == "complete") == math.isfinite(r["ticks_to_complete"])
    lam = {r["overrides"] for r in rows if r["ablation"] == "lambda0"}
    assert all("curriculum.nll_weight=0.0" in o for o in lam)
    series = pq.read_table(out / "timeseries.parquet")
    assert set(series.column_names) == {"run", "tick", "moves", "oracle_calls", "attempts", "stage"}
    assert series.num_rows == sum(r["ticks"] for r in rows)


def test_tiny_experiment_writes_the_report_and_plots(tiny):
    _, out = tiny
    report = (out / "report" / "report.md").read_text()
    assert "## smoke" in report and "| baseline | thompson | 2 |" in report and "Ablations against" in report
    for name in ("moves_complete", "oracle_calls", "cost", "stages", "ablations", "reliability"):
        png = out / "report" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f"({name}.png)" in report


@pytest.mark.parametrize("argv, message", [
    (["--ablations", "nope"], "unknown ablation 'nope'"),
    (["--seeds", "0"], "--seeds must be ≥ 1"),
    (["--managers", "thomson"], "unknown manager 'thomson'"),
    (["--scenario", "nosuch"], "unknown built-in scenario"),
    (["--sensitivity", "--ablations", "lambda0"], "--sensitivity takes one --scenario"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path):
    code = main(["experiment", "--scenario", "smoke", "--out", str(tmp_path), *argv] if "--scenario" not in argv
                else ["experiment", "--out", str(tmp_path), *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "\n" not in err


def test_knobs_share_a_batch_and_a_layout_change_splits_it():
    configs = E.grid_configs("smoke", ["thompson", "stages"], ["alpha0", "lambda0", "random_mapping"], None)
    batches = E.plan_batches(configs, seeds=3)
    labels = [[dict(c.labels)["ablation"] for c in b.configs] for b in batches]
    # knobs share a batch (each world keeps its own [curriculum]); random_mapping changes the layout
    assert labels == [["baseline", "baseline", "alpha0", "alpha0", "lambda0", "lambda0"],
                      ["random_mapping", "random_mapping"]]
    assert [b.seeds[0][0] for b in batches] == [0, 18] and [b.worlds for b in batches] == [18, 6]
    assert list(batches[1].episode_seeds()) == list(range(18, 24))
    paired = E.plan_batches(configs, seeds=3, paired=True)
    assert [b.worlds for b in paired] == [18, 6]
    assert list(paired[0].episode_seeds()) == [0, 1, 2] * 6


def test_paired_seeds_make_a_knob_without_effect_exactly_zero(taichi_cpu):
    """λ only enters the thompson reward: under `stages` a λ step gives bit-identical runs."""
    from engine.batch.runner import run_batch
    from engine.batch.sensitivity import paired_effect

    a = E.make_config("smoke", {"manager": "stages"}, {"curriculum.manager": "stages", "task.max_ticks": 40})
    b = E.make_config("smoke", {"manager": "stages"}, {"curriculum.manager": "stages", "task.max_ticks": 40,
                                                       "curriculum.nll_weight": 2.0})
    (batch,) = E.plan_batches([a, b], seeds=2, paired=True)  # one Simulation, seeds 0, 1 for each config
    rows = run_batch(batch, "cpu").rows
    ra, rb = rows[:2], rows[2:]
    assert [r["seed"] for r in ra] == [r["seed"] for r in rb] == [0, 1]
    for key in ("ticks", "attempts", "oracle_calls", "ece"):
        assert [r[key] for r in ra] == [r[key] for r in rb]
    assert paired_effect([r["cost"] for r in rb], [r["cost"] for r in ra]) == (0.0, 0.0)


def test_sensitivity_steps_are_clipped_to_each_knobs_range():
    from engine.batch.sensitivity import steps
    from scenarios.loader import load_scenario

    s = load_scenario("paper")
    assert steps(s, "curriculum.discount") == [("down", 0.475), ("up", 1.0)]  # γ ≤ 1
    assert steps(s, "curriculum.zones_per_tick") == [("down", 1), ("up", 4)]
    assert steps(s, "agents.s0") == [("up", 0.05)]  # 0 cannot be halved: stepped up from zero
    assert steps(s, "agents.eta_nbr") == [("down", 0.25), ("up", 1.0)]


def test_sensitivity_markdown_shows_paired_effects_with_standard_errors():
    from engine.batch.sensitivity import sensitivity_markdown

    n = 4
    base = np.array([100.0, 110.0, 90.0, 100.0])
    cols = {"scenario": np.array(["paper"] * 3 * n, object), "manager": np.array(["thompson"] * 3 * n, object),
            "direction": np.array(["default"] * n + ["down"] * n + ["up"] * n, object),
            "key": np.array([""] * n + ["agents.eta"] * 2 * n, object),
            "value": np.array([np.nan] * n + [0.1] * n + [0.4] * n), "seed": np.tile(np.arange(n), 3)}
    for c in ("ticks", "attempts", "oracle_calls", "cost", "escalation_precision"):
        cols[c] = np.concatenate([base, base + np.array([10.0, 12.0, 8.0, 10.0]), base])
    text = sensitivity_markdown(cols)
    assert "| η | `agents.eta` | down | 0.1 | **+10.0 ± 0.8** |" in text
    assert "| η | `agents.eta` | up | 0.4 | 0 |" in text


def test_a_crashing_configuration_is_retried_alone_and_the_others_keep_their_rows(tmp_path, capsys, taichi_cpu):
    """The batch holding a crashing plugin runs again one configuration at a time (the sweep's retry): the other
    configuration of that batch still gets its rows, the crashed one gets rows with outcome "crashed", exit 1."""
    code = main(["experiment", "--scenario", "smoke", "--managers", "stages,tests.sweep_specs.boom:Boom",
                 "--seeds", "2", "--ticks", "30", "--arch", "cpu", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "curriculum.manager" not in err and "manager=tests.sweep_specs.boom:Boom" in err and "RuntimeError: boom" in err
    rows = pq.read_table(tmp_path / "results.parquet").to_pylist()
    by_manager = {m: [r for r in rows if r["manager"] == m] for m in ("stages", "tests.sweep_specs.boom:Boom")}
    assert [r["outcome"] for r in by_manager["tests.sweep_specs.boom:Boom"]] == ["crashed", "crashed"]
    assert all(r["outcome"] in ("complete", "max_ticks", "stalled") for r in by_manager["stages"])
    assert sorted(r["seed"] for r in rows) == [0, 1, 2, 3]  # the crashed runs keep the seeds they were given


def test_report_pairs_runs_that_share_seeds():
    """Managers run on the same seeds are compared by per-seed differences, and the table says so."""
    from engine.batch import report as R

    seeds = np.array([3, 1, 2, 1, 2, 3])  # rows 0-2: manager a; rows 3-5: manager b, same seeds in another order
    ticks = np.array([13.0, 11.0, 12.0, 1.0, 2.0, 3.0])  # a − b = 10 on every seed: paired SE 0, Welch SE > 0
    cols = {"seed": seeds, "ticks": ticks}
    a, b = np.array([0, 1, 2]), np.array([3, 4, 5])
    assert R.same_seeds(cols, a, b) is not None
    ia, ib = R.same_seeds(cols, a, b)
    assert R.paired_effect(ticks[ia], ticks[ib]) == (10.0, 0.0)
    assert R.welch_effect(ticks[a], ticks[b])[1] > 0
    assert R.pairing(cols, [("a − b", a, b)]) == "paired seeds"
    cols_unpaired = {"seed": np.array([0, 1, 2, 3, 4, 5]), "ticks": ticks}
    assert R.same_seeds(cols_unpaired, a, b) is None
    assert R.pairing(cols_unpaired, [("a − b", a, b)]) == "unpaired seeds"
