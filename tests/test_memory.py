"""Memory guard (issue 13): the projection of a run's peak memory against peaks measured in fresh processes, and
the refusal of a run that would not fit, with the projection and the largest W that does."""
import re

import pytest

from engine.errors import UsageError
from engine.sim import memory
from scenarios.loader import load_scenario

GIB = 1 << 30


# 64 ticks: past the recorder's first flush at W = 8192 (32 ticks of rows), where a recorded run peaks
@pytest.mark.parametrize("scenario, worlds, record, ticks", [("smoke", 1024, False, 20), ("smoke", 8192, True, 64)])
def test_projection_is_within_a_quarter_of_the_measured_peak(scenario, worlds, record, ticks, tmp_path, monkeypatch):
    # the projection is for kernels already compiled (Taichi's offline cache): a cold LLVM compile adds a transient
    # of several hundred MB (measured ~0.7 GB), so a first run fills a private cache (HOME → tmp: no other test
    # process writes it meanwhile) and the second run, which loads from it, is measured
    monkeypatch.setenv("HOME", str(tmp_path))
    memory.measure_peak(scenario, worlds, ticks=2, record=record)
    peak, zones = memory.measure_peak(scenario, worlds, ticks=ticks, record=record)  # ru_maxrss of a real run
    projected = memory.projected_peak(load_scenario(scenario), worlds, zones, record)
    assert 0.75 <= projected / peak <= 1.25, (projected / 2**20, peak / 2**20)


def test_a_run_that_does_not_fit_is_refused_with_the_largest_w_that_does(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 2 * GIB)
    monkeypatch.setattr(memory, "resident_memory", lambda: 0)
    paper = load_scenario("paper")
    with pytest.raises(UsageError) as err:
        memory.check_memory(paper, 100_000, n_zones=40)
    text = str(err.value)
    fit = int(re.search(r"use at most (\d+) worlds", text).group(1))
    # by hand: 70 % of 2 GiB, less the fixed 195 MiB, over (4096 agents × 30 B + 40 zones × 1,170 B) a world
    assert fit == int((0.7 * 2 * GIB - 195 * 2**20) // (4096 * 30 + 40 * 1170))
    assert re.search(r"needs about 15\.\d\d GiB", text) and "\n" not in text
    memory.check_memory(paper, fit, n_zones=40)  # the largest W it names does run
    with pytest.raises(UsageError):
        memory.check_memory(paper, fit + 1, n_zones=40)


def test_run_experiment_and_sweep_are_refused_before_any_work(monkeypatch, capsys, tmp_path):
    from engine.cli.main import main

    monkeypatch.setattr(memory, "available_memory", lambda: 1 * GIB)
    monkeypatch.setattr(memory, "resident_memory", lambda: 0)
    assert main(["run", "paper", "--worlds", "20000", "--no-record", "--arch", "cpu"]) == 2
    assert main(["experiment", "--scenario", "paper", "--managers", "stages", "--seeds", "20000",
                 "--out", str(tmp_path / "exp")]) == 2
    spec = tmp_path / "big.toml"
    spec.write_text('name = "big"\nscenarios = ["paper"]\nseeds = 20000\nworlds_per_job = 20000\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "sw")]) == 2
    err = capsys.readouterr().err
    assert err.count("gridhanoi: error:") == 3 and err.count("use at most") == 3 and "Traceback" not in err
    assert not (tmp_path / "exp").exists() and not (tmp_path / "sw").exists()
