"""`gridhanoi sweep`: spec checks, job grouping, same rows on the local pool and on Ray, resume after SIGKILL,
crash reporting. Sweeps run through the CLI in subprocesses with one or two workers and a few dozen ticks."""
import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from engine.batch.parquet import write_parquet
from engine.batch.runner import Failure
from engine.batch.sweep.jobs import expand, plan_jobs
from engine.batch.sweep.results import job_done, read_results, result_table
from engine.batch.sweep.spec import load_spec
from scenarios.errors import ScenarioError

SPECS = ROOT / "tests" / "sweep_specs"
# timing, machine and checkout (others may commit while a test runs): everything else is a function of the spec
VOLATILE = {"batch_wall_s", "hardware", "git_commit"}


def spec_file(tmp_path, text: str, name: str = "spec.toml") -> Path:
    """Write a sweep spec into tmp_path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def plan(path, version="test", arch="cpu"):
    """The jobs of a spec file."""
    spec = load_spec(path)
    return plan_jobs(spec, expand(spec), version, arch)


def comparable_rows(out) -> list[dict]:
    """The rows of a sweep, sorted, without volatile columns, NaN written as a string so rows compare equal."""
    rows = [{k: "nan" if isinstance(v, float) and math.isnan(v) else v for k, v in r.items() if k not in VOLATILE}
            for r in read_results(out).to_pylist()]
    return sorted(rows, key=lambda r: (r["scenario"], r["overrides"], r["seed"]))


def sweep(*args, **kwargs):
    """Run `gridhanoi sweep` on the CPU."""
    return run_cli("sweep", *args, "--arch", "cpu", **kwargs)


# ---------------------------------------------------------------- spec and plan (no Taichi)
def test_example_specs_plan_into_batched_jobs():
    jobs = plan(SPECS / "smoke-alpha.toml")
    assert [(len(j.configs), j.seeds) for j in jobs] == [(2, (0,)), (2, (1,))]  # 2 values share a Simulation
    assert len({j.id for j in jobs}) == 2 and jobs[0].stage_columns == 5
    assert [j.id for j in plan(SPECS / "smoke-alpha.toml")] == [j.id for j in jobs]  # ids are stable
    managers = plan(SPECS / "managers.toml")
    assert sum(j.runs for j in managers) == 2 * 3 * 3 * 8 and all(j.runs <= 24 for j in managers)


def test_per_world_parameters_share_a_job_and_layout_parameters_split_it(tmp_path):
    path = spec_file(tmp_path, 'name = "g"\nscenarios = ["smoke"]\nseeds = 5\nworlds_per_job = 4\n[params]\n'
                               '"curriculum.manager" = ["thompson", "stages"]\n"curriculum.nll_weight" = [0.0, 1.0]\n')
    jobs = plan(path)
    # two λ of thompson are two [curriculum] sections: the Simulation gives each world its own, so all four
    # configurations run in one job, in blocks of 4 // 4 = 1 seed
    assert [len(j.configs) for j in jobs] == [4] * 5 and [j.seeds for j in jobs] == [(s,) for s in range(5)]
    assert {tuple(c.labels) for c in jobs[0].configs} == {
        (("curriculum.manager", m), ("curriculum.nll_weight", lam)) for m in ("thompson", "stages") for lam in (0.0, 1.0)}
    # more seeds later: the jobs keep their ids, so a re-run only runs the new seeds
    more = plan(spec_file(tmp_path, path.read_text().replace("seeds = 5", "seeds = 8"), "more.toml"))
    assert {j.id for j in jobs} <= {j.id for j in more} and len(more) == 8
    # τ_green is a per-world kernel parameter: it never splits a job either
    tau = plan(spec_file(tmp_path, 'scenarios = ["smoke"]\nseeds = 1\n[params]\n"grid.tau_green" = [2, 3, 4]\n',
                         "tau.toml"))
    assert [len(j.configs) for j in tau] == [3]
    radii = plan(spec_file(tmp_path, 'scenarios = ["smoke"]\nseeds = 1\n[params]\n'
                                     '"curriculum.radii" = [[0.5, 1.42], [0.25, 0.5, 1.42]]\n', "radii.toml"))
    assert len(radii) == 2 and radii[0].stage_columns == 3  # radii shape the shared layout: separate jobs


def test_job_ids_change_with_arch_version_and_scenario_inputs(tmp_path):
    """Everything that changes a job's rows is in its id, so a re-run never skips a job that would differ."""
    base = [j.id for j in plan(SPECS / "smoke-alpha.toml")]
    assert [j.id for j in plan(SPECS / "smoke-alpha.toml")] == base  # stable
    for other in (plan(SPECS / "smoke-alpha.toml", arch="auto"), plan(SPECS / "smoke-alpha.toml", version="other")):
        assert not set(j.id for j in other) & set(base)
    # a PNG map the scenario reads: same scenario text, other bytes → other ids
    from PIL import Image

    Image.new("L", (4, 4), 255).save(tmp_path / "dead.png")
    (tmp_path / "s.toml").write_text((ROOT / "scenarios" / "smoke.toml").read_text() + '\n[faults]\ndead_png = "dead.png"\n')
    spec = spec_file(tmp_path, 'scenarios = ["s.toml"]\nseeds = 1\n')
    before = [j.id for j in plan(spec)]
    Image.new("L", (4, 4), 0).save(tmp_path / "dead.png")
    assert [j.id for j in plan(spec)] != before


@pytest.mark.parametrize("text, key", [
    ('scenarios = ["smoke"]\nseeds = 0\n', "seeds"),
    ('scenarios = ["smoke"]\nseed = 3\n', "seed"),
    ('scenarios = ["nope"]\nseeds = 2\n', "scenarios"),
    ('scenarios = ["smoke"]\nseeds = [1, 1]\n', "seeds"),
    ('scenarios = ["smoke"]\nseeds = 2\n[params]\n"agents.alpha" = [0.0, -1.0]\n', "params.agents.alpha"),
    ('scenarios = ["smoke"]\nseeds = 2\n[params]\n"agents.alphq" = [0.0]\n', "params.agents.alphq"),
    ('scenarios = ["smoke"]\nseeds = 2\n[params]\n"curriculum.manager" = ["no.such:Thing"]\n',
     "params.curriculum.manager"),
    ('scenarios = ["smoke"]\nseeds = 2\nticks = 0\n', "ticks"),
    ('scenarios = ["smoke"]\nseeds = 2\n[set]\n"agents.alpha" = 0.0\n[params]\n"agents.alpha" = [0.0]\n',
     "params.agents.alpha"),
])
def test_bad_spec_is_one_line_naming_file_and_key(tmp_path, text, key):
    path = spec_file(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_spec_and_expand(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path) + ":") and key in message


def load_spec_and_expand(path):
    """Everything `sweep` checks before it runs a job."""
    spec = load_spec(path)
    return expand(spec)


def test_bad_spec_exits_2_with_one_line(tmp_path):
    path = spec_file(tmp_path, 'scenarios = ["smoke"]\nseeds = 2\n[params]\n"agents.alpha" = [0.0, -1.0]\n')
    done = run_cli("sweep", path, "--out", tmp_path / "out")
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert f"{path}:4: params.agents.alpha" in done.stderr


def test_result_files_are_atomic_and_failures_mean_not_done(tmp_path):
    job = plan(SPECS / "smoke-alpha.toml")[0]
    row = {"sweep": "s", "job": job.id, "scenario": "smoke", "seed": 0, "agents.alpha": 0, "plan_error": None}
    path = tmp_path / "job-x.parquet"
    write_parquet(path, result_table(job, [row], []))
    assert os.listdir(tmp_path) == ["job-x.parquet"] and job_done(path)
    assert read_results_file(path)["agents.alpha"] == [0.0]  # the column type comes from the spec, not the row
    write_parquet(path, result_table(job, [row], [Failure("smoke", {}, [0], "E: x", job.id)]))
    assert not job_done(path)  # a job with a crashed configuration runs again next time


def read_results_file(path):
    """One Parquet file as a dict of columns."""
    import pyarrow.parquet as pq
    return pq.read_table(path).to_pydict()


def test_backend_choices_are_checked():
    from engine.errors import UsageError
    from engine.batch.sweep.backends import check_backend

    for kwargs in ({"address": "auto"}, {"workers": 0}, {"cpus_per_job": 4}, {"name": "dask"}):
        with pytest.raises(UsageError):
            check_backend(**{"name": "local", **kwargs})


# ---------------------------------------------------------------- a job's worlds are the episodes of their seeds
def test_job_world_equals_a_solo_run_with_its_seed(taichi_cpu):
    from engine.batch.runner import run_batch
    from engine.sim.simulation import Simulation

    job = plan(SPECS / "smoke-alpha.toml")[0]
    rows = run_batch(dataclasses.replace(job.batch, seeds=((5, 3), (5, 3))), "cpu").rows
    assert [(r["agents.alpha"], r["seed"]) for r in rows] == [(0.0, 5), (0.0, 3), (0.01, 5), (0.01, 3)]
    alone = Simulation(job.configs[1].variant, seed=3, arch="cpu").run().summary()["world_results"][0]
    shared = [k for k in alone if k in rows[3]]
    assert len(shared) >= 20  # the row carries every scalar figure of the run summary
    nan_as_none = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in rows[3].items()}
    assert {k: nan_as_none[k] for k in shared} == {k: alone[k] for k in shared}


# ---------------------------------------------------------------- whole sweeps through the CLI
@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    """The smoke-alpha sweep on the local process pool."""
    out = tmp_path_factory.mktemp("local")
    done = sweep(SPECS / "smoke-alpha.toml", "--out", out)
    assert done.returncode == 0, done.stderr
    return out, done


def test_local_sweep_writes_one_dataset(local_sweep):
    import pyarrow.dataset as ds

    out, done = local_sweep
    files = sorted(p.name for p in (out / "results").iterdir())
    assert len(files) == 2 and all(f.startswith("job-") and f.endswith(".parquet") for f in files)
    table = ds.dataset(str(out / "results"), format="parquet").to_table()  # read directly, no helper
    assert table.num_rows == 4 and {"seed", "agents.alpha", "outcome", "ticks", "stage_1_tick", "scenario_hash",
                                    "gridhanoi_version", "git_commit", "hardware"} <= set(table.column_names)
    assert sorted(zip(table["agents.alpha"].to_pylist(), table["seed"].to_pylist())) == \
        [(0.0, 0), (0.0, 1), (0.01, 0), (0.01, 1)]
    assert json.loads((out / "failures.json").read_text()) == []
    assert "4 runs written; 2 jobs run, 0 skipped" in done.stdout


def test_ray_sweep_writes_the_same_rows(local_sweep, tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'gridhanoi[ray]')")
    done = sweep(SPECS / "smoke-alpha.toml", "--out", tmp_path, "--backend", "ray", "--workers", "2",
                 env={"RAY_USAGE_STATS_ENABLED": "0"})
    if done.returncode == 2 and "cannot start or join Ray" in done.stderr:
        pytest.skip(f"Ray cannot start here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    assert comparable_rows(tmp_path) == comparable_rows(local_sweep[0])


def test_killed_sweep_resumes_without_redoing_finished_jobs(tmp_path):
    spec = spec_file(tmp_path, (SPECS / "smoke-alpha.toml").read_text().replace("seeds = 2", "seeds = 4"),
                     "smoke-alpha.toml")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "engine.cli", "sweep", str(spec), "--out", str(out), "--arch", "cpu"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list((out / "results").glob("job-*.parquet")) and time.monotonic() < deadline:
        assert proc.poll() is None, "the sweep ended before its first result file"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {p: p.stat().st_mtime_ns for p in (out / "results").glob("job-*.parquet")}
    assert 1 <= len(finished) < 4
    done = sweep(spec, "--out", out)
    assert done.returncode == 0, done.stderr
    for path, mtime in finished.items():
        assert path.stat().st_mtime_ns == mtime
        assert f"skip job {path.stem[len('job-'):]}" in done.stderr
    assert f"{len(finished)} skipped" in done.stdout and f"{4 - len(finished)} jobs run" in done.stdout
    assert sorted(p.name[0] for p in (out / "results").iterdir()) == ["j"] * 4  # no temporary file left
    assert len(comparable_rows(out)) == 8


def test_crashing_parameter_is_reported_and_the_rest_finishes(tmp_path):
    done = sweep(SPECS / "boom.toml", "--out", tmp_path)
    assert done.returncode == 1, done.stderr
    assert "curriculum.manager=tests.sweep_specs.boom:Boom seeds 0-1: RuntimeError: boom" in done.stderr
    assert "Traceback" not in done.stderr
    failures = json.loads((tmp_path / "failures.json").read_text())
    assert [(f["params"], f["seeds"]) for f in failures] == [({"curriculum.manager": "tests.sweep_specs.boom:Boom"},
                                                                [0, 1])]
    rows = comparable_rows(tmp_path)
    assert [(r["manager"], r["seed"]) for r in rows] == [("stages", 0), ("stages", 1)]
    assert all(r["outcome"] in ("complete", "max_ticks", "stalled") for r in rows)


def test_dead_worker_is_retried_once_then_reported(tmp_path):
    done = sweep(SPECS / "vanish.toml", "--out", tmp_path)
    assert done.returncode == 1, done.stderr
    assert "no result" in done.stderr and "retrying once" in done.stderr  # a fresh process got a second try
    failures = json.loads((tmp_path / "failures.json").read_text())
    assert [f["params"] for f in failures] == [{"curriculum.manager": "tests.sweep_specs.boom:Vanish"}]
    assert [r["manager"] for r in comparable_rows(tmp_path)] == ["stages"]  # the job beside it finished
