"""Interrupted episodes (issue 13, row 12): wherever Ctrl-C lands in a tick, the closed episode holds as many frame
rows as metrics rows per recorded world, its manifest `ticks` is the ticks it holds, and `verify` calls it valid."""
import pytest

from engine.sim.audit import audit
from engine.sim.recording import attach_recorder
from engine.sim.simulation import Simulation
from replay.reader import Episode
from scenarios.loader import load_scenario


def interrupt_at(tick: int):
    """A listener that raises KeyboardInterrupt after ``tick`` (as a Ctrl-C arriving then would)."""
    def listener(sim, stats):
        if sim.tick == tick:
            raise KeyboardInterrupt
    return listener


@pytest.mark.parametrize("where", ["before_metrics", "after_metrics"])
def test_frames_and_metrics_end_on_the_same_tick(taichi_cpu, tmp_path, where):
    sim = Simulation(load_scenario("smoke", {"record.chunk_ticks": 4}), worlds=2, arch="cpu", record=True)
    if where == "before_metrics":  # the kernel recorded tick 9's frame; the recorder never saw the tick
        sim.listeners.append(interrupt_at(9))
    recorder = attach_recorder(sim, tmp_path / "ep")
    if where == "after_metrics":  # the recorder buffered tick 9; the loop never moved sim.tick on
        sim.listeners.append(interrupt_at(9))
    try:
        while sim.running.any():
            sim.step()
    except KeyboardInterrupt:
        sim.interrupt()
    recorder.close()
    ep = Episode.open(tmp_path / "ep")
    metrics = ep.metrics(["tick", "world"])
    held = 9 if where == "before_metrics" else 10
    assert ep.status == "interrupted" and ep.manifest["ticks"] == held
    assert metrics.num_rows == 2 * held
    assert ep.frame_ticks(0).tolist() == list(range(held))  # smoke records every tick: one frame per metrics row
    report = audit(ep)
    assert report.ok, report.problems
