"""The tick kernel's prepared launch (kernels/launch.py) does exactly what Taichi's own call does."""
import numpy as np
import pytest


def run(prepared: bool, ticks: int, tmp_path=None):
    from engine.sim.recording import attach_recorder
    from engine.sim.simulation import Simulation
    from scenarios.loader import load_scenario

    sim = Simulation(load_scenario("smoke", {"faults.dead_share": 0.1}), 5, 3, arch="cpu")
    if not prepared:
        sim.device.io.launch = sim.device.advance_worlds  # Taichi's generic call, every argument marshalled
    recorder = attach_recorder(sim, tmp_path / f"ep-{prepared}") if tmp_path else None
    for _ in range(ticks):
        sim.step()
    if recorder:
        recorder.close()
    return sim


def test_prepared_launch_gives_the_same_episode_as_taichis_call(tmp_path):
    from kernels.launch import PreparedLaunch

    a, b = run(True, 25, tmp_path), run(False, 25, tmp_path)
    assert isinstance(a.device.io.launch, PreparedLaunch)
    assert np.array_equal(a.totals, b.totals) and np.array_equal(a.reliability, b.reliability)
    sa, sb = a.device.snapshot(), b.device.snapshot()
    for name in sa:
        assert np.array_equal(sa[name], sb[name]), name
    ring_a, ring_b = a.device.io.ring, b.device.io.ring  # frames written through the ring arguments
    assert np.array_equal(ring_a.state, ring_b.state) and ring_a.state.any()


def test_prepared_launch_refuses_an_array_taichi_would_refuse():
    sim = run(True, 1)
    io = sim.device.io
    with pytest.raises(TypeError, match="controls"):
        io.launch(0, io.controls.astype(np.int64), io.stats_out, io.skill_out, -1, *[np.zeros(1)] * 4, 0)
    with pytest.raises(TypeError, match="stats_out"):
        strided = np.zeros((sim.W, 2 * io.stats_out.shape[1]), np.int64)[:, ::2]  # right shape, not contiguous
        io.launch(0, io.controls, strided, io.skill_out, -1, *[np.zeros(1)] * 4, 0)
