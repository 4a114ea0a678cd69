"""Every built-in scenario passes `scenario check` and runs (the "does not smoke" test), plus the outcomes the
fault scenarios and the 4-peg task must reach."""
import tempfile
from pathlib import Path

import pytest

from engine.sim.simulation import Simulation
from engine.sim.tasks.validate import frame_stewart_length
from kernels.records import ZONE
from scenarios.loader import builtin_names, load_scenario
from tests.conftest import run_cli

BOUNDED_TICKS = {"million": 3, "million-consensus": 3}


def test_every_builtin_passes_scenario_check():
    names = builtin_names()
    assert {"paper", "paper-n12", "smoke", "patchy", "four-pegs", "faulty", "hole", "million", "paper-consensus",
            "paper-n12-consensus", "million-consensus"} <= set(names)
    # `check` takes files: write each built-in's effective text and check them all in one call
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name in names:
            p = Path(tmp) / f"{name}.toml"
            p.write_text(load_scenario(name).text)
            paths.append(p)
        r = run_cli("scenario", "check", *paths)
        assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_runs(taichi_cpu, name):
    scenario = load_scenario(name)
    sim = Simulation(scenario, seed=0, worlds=1, arch="cpu")
    sim.run(max_ticks=BOUNDED_TICKS.get(name, 20))
    assert sim.tick > 0
    assert sim.agent_steps > 0
    if name != "hole":  # hole's first stage is all dead: nothing can start (checked below)
        assert sim.totals[0, ZONE.started] > 0


def test_four_pegs_completes_with_frame_stewart_length(taichi_cpu):
    scenario = load_scenario("four-pegs")
    sim = Simulation(scenario, seed=0, worlds=1, arch="cpu").run()
    r = sim.summary()["world_results"][0]
    assert r["outcome"] == "complete" and r["plan_valid"] is True
    assert r["moves_complete"] == frame_stewart_length(scenario.task.disks, 4) == 49


def test_hole_stalls_and_names_the_dead_moves(taichi_cpu):
    sim = Simulation(load_scenario("hole"), seed=0, worlds=1, arch="cpu").run()
    r = sim.summary()["world_results"][0]
    assert r["outcome"] == "stalled"
    assert r["stalled_moves"] == list(range(16))


def test_faulty_reaches_an_explained_outcome(taichi_cpu):
    sim = Simulation(load_scenario("faulty"), seed=0, worlds=2, arch="cpu").run()
    for r in sim.summary()["world_results"]:
        assert r["outcome"] in ("complete", "stalled")
        if r["outcome"] == "stalled":
            assert r["stalled_moves"], "a stalled world names the moves that can no longer complete"
        else:
            assert r["plan_valid"] is True
