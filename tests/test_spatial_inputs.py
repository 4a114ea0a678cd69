"""Scenario spatial inputs reach the engine: dead masks and difficulty maps from ASCII art and PNG files."""
import numpy as np
from PIL import Image

from engine.simulation import Simulation
from scenarios.loader import load_scenario

BASE = """
[grid]
size = 16
tile = 2
tau_green = 3
[task]
disks = 5
max_ticks = 50
"""


def test_dead_png_next_to_the_scenario_kills_those_cells(taichi_cpu, tmp_path):
    mask = np.full((16, 16), 255, np.uint8)
    mask[:4, :4] = 0  # dark = dead: the top-left 4×4 corner
    Image.fromarray(mask).save(tmp_path / "dead.png")
    path = tmp_path / "corner.toml"
    path.write_text(BASE + '[faults]\ndead_png = "dead.png"\n')
    sim = Simulation(load_scenario(str(path)), seed=0, worlds=1, arch="cpu")
    alive = sim.layout.alive0.reshape(16, 16)
    assert not alive[:4, :4].any() and alive[4:, 4:].all()
    sim.run(max_ticks=3)
    assert (sim.device.snapshot()["state"][0].reshape(16, 16)[:4, :4] == 5).all()  # Dead


def test_ascii_difficulty_map_replaces_the_radial_one(taichi_cpu, tmp_path):
    art = "\n".join(["9999", "9009", "9009", "9999"])
    path = tmp_path / "ring.toml"
    path.write_text(BASE + f'[layout]\ndifficulty_ascii = """\n{art}\n"""\n')
    sim = Simulation(load_scenario(str(path)), seed=0, worlds=1, arch="cpu")
    d = sim.layout.difficulty.reshape(16, 16)
    assert np.isclose(d[0, 0], 1.42) and np.isclose(d[6, 6], 0.0)
