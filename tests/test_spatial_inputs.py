"""Scenario spatial inputs reach the engine: dead masks and difficulty maps from ASCII art and PNG files."""
import numpy as np
from PIL import Image

from engine.sim.simulation import Simulation
from scenarios.loader import load_scenario, load_scenario_text


def smoke_here(folder, **overrides):
    """The smoke scenario as if its file sat in `folder` (so relative map paths resolve there)."""
    keys = {k.replace("__", "."): v for k, v in overrides.items()}
    return load_scenario_text(load_scenario("smoke").text, source=str(folder / "here.toml"), overrides=keys,
                              base_dir=folder)


def test_dead_png_next_to_the_scenario_kills_those_cells(taichi_cpu, tmp_path):
    mask = np.full((16, 16), 255, np.uint8)
    mask[:4, :4] = 0  # dark = dead: the top-left 4×4 corner
    Image.fromarray(mask).save(tmp_path / "dead.png")
    sim = Simulation(smoke_here(tmp_path, faults__dead_png="dead.png"), seed=0, worlds=1, arch="cpu")
    alive = sim.layout.alive0.reshape(16, 16)
    assert not alive[:4, :4].any() and alive[4:, 4:].all()
    sim.run(max_ticks=3)
    assert (sim.device.snapshot()["state"][0].reshape(16, 16)[:4, :4] == 5).all()  # Dead


def test_ascii_difficulty_map_replaces_the_radial_one(taichi_cpu, tmp_path):
    art = "\n".join(["9999", "9009", "9009", "9999"])
    sim = Simulation(smoke_here(tmp_path, layout__difficulty_ascii=art), seed=0, worlds=1, arch="cpu")
    d = sim.layout.difficulty.reshape(16, 16)
    assert np.isclose(d[0, 0], 1.42) and np.isclose(d[6, 6], 0.0)
