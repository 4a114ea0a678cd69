"""Per-tick invariants (engine/sim/invariants.py): an impossible statistic stops a run with an error that names the
arch, the tick and the world, and `verify` rejects an episode whose recorded counters are impossible (issue 12)."""
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from engine.errors import InvariantError
from engine.sim.simulation import Simulation
from kernels.records import WORLD, ZONE
from replay.reader import Episode
from scenarios.loader import load_scenario
from tests.conftest import run_cli


def corrupt_stats(sim, tick: int, world: int, edit):
    """Test hook: wrap the device's statistics so that `edit(stats, world)` alters them at one tick."""
    real = sim.device.stats

    def stats():
        out = real()
        if sim.tick == tick:
            out = {**out, "world_totals": out["world_totals"].copy(), "world_stats": out["world_stats"].copy()}
            edit(out, world)
        return out

    sim.device.stats = stats


@pytest.mark.parametrize("backend", ["taichi", "reference"])
def test_every_builtin_tick_passes_the_invariants(taichi_cpu, backend):
    # faulty kills agents mid-run (live count changes), hole starts with dead ones: the checks run on every tick
    for name in ("smoke", "faulty", "hole"):
        sim = Simulation(load_scenario(name), seed=2, worlds=2, arch="cpu", backend=backend).run(max_ticks=120)
        assert sim.tick > 0


@pytest.mark.parametrize("edit, rule", [
    (lambda s, w: s["world_totals"][w].__setitem__(ZONE.resolved, 10 ** 6),
     "attempts this tick > live agents with a task"),
    (lambda s, w: s["world_totals"][w].__setitem__(ZONE.n_idle, s["world_totals"][w][ZONE.n_idle] + 1),
     "agents counted by state ≠ live agents with a task"),
    (lambda s, w: s["world_stats"][w].__setitem__(WORLD.prefix, s["world_stats"][w][WORLD.moves_done] + 1),
     "complete prefix > moves complete"),
    (lambda s, w: s["world_stats"][w].__setitem__(WORLD.moves_done, 10 ** 6),
     "moves complete > moves of the task"),
])
def test_a_corrupted_statistic_stops_the_run_naming_arch_tick_and_world(taichi_cpu, edit, rule):
    sim = Simulation(load_scenario("smoke"), seed=1, worlds=3, arch="cpu")
    corrupt_stats(sim, tick=4, world=2, edit=edit)
    with pytest.raises(InvariantError) as err:
        sim.run()
    message = str(err.value)
    assert "the x64 backend" in message and "at tick 4, world 2" in message and rule in message, message
    assert sim.tick == 4  # stopped at the corrupted tick, before its statistics were folded in


def test_moves_complete_that_shrink_stop_the_run(taichi_cpu):
    sim = Simulation(load_scenario("smoke"), seed=1, worlds=1, arch="cpu")
    sim.run(max_ticks=30)
    assert sim.world_stats[0, WORLD.moves_done] > 0  # something to lose
    corrupt_stats(sim, tick=30, world=0, edit=lambda s, w: s["world_stats"][w].__setitem__(WORLD.moves_done, 0))
    with pytest.raises(InvariantError, match="at tick 30, world 0: moves complete decreased"):
        sim.step()


@pytest.fixture(scope="module")
def smoke_episode(tmp_path_factory):
    """A recorded smoke episode of 2 worlds (CPU)."""
    out = tmp_path_factory.mktemp("inv") / "smoke"
    r = run_cli("run", "smoke", "--seed", "4", "--worlds", "2", "--out", out, "--arch", "cpu")
    assert r.returncode == 0, r.stderr
    return out


def rewrite_metrics(src, dst, column: str, change):
    """Copy an episode and rewrite one metrics column with `change(values, world, tick)` (a test's corruption)."""
    shutil.copytree(src, dst)
    table = Episode.open(dst).metrics()
    values = table.column(column).to_numpy().copy()
    change(values, table.column("world").to_numpy(), table.column("tick").to_numpy())
    i = table.schema.get_field_index(column)
    table = table.set_column(i, table.schema.field(i), pa.array(values, table.schema.field(i).type))
    with ipc.new_file(str(dst / "metrics.arrow"), table.schema) as writer:
        writer.write_table(table)


def test_verify_rejects_more_attempts_than_agent_steps(smoke_episode, tmp_path):
    r = run_cli("verify", smoke_episode)
    assert r.returncode == 0, r.stdout + r.stderr
    task = int(np.sum(Episode.open(smoke_episode).layout().column("move").to_numpy() >= 0))

    def inflate(values, world, tick):  # world 1 claims every agent made 3 attempts in each tick: still monotone
        mine = world == 1
        values[mine] += 3 * task * (tick[mine] + 1)

    rewrite_metrics(smoke_episode, tmp_path / "bad", "attempts", inflate)
    r = run_cli("verify", tmp_path / "bad")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "world 1 tick 0:" in r.stdout and "agent-steps run so far" in r.stdout, r.stdout


def test_verify_rejects_moves_complete_that_decrease(smoke_episode, tmp_path):
    def drop(values, world, tick):  # world 0 forgets its moves at tick 20
        values[(world == 0) & (tick == 20)] = 0

    rewrite_metrics(smoke_episode, tmp_path / "bad", "moves_complete", drop)
    r = run_cli("verify", tmp_path / "bad")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "world 0 tick 20: moves_complete decreased" in r.stdout, r.stdout


def clean_tick(W: int, live: int, task: int):
    """Possible statistics of one tick of W worlds: (stats, world_stats before the tick)."""
    totals = np.zeros((W, len(ZONE)), np.int64)
    totals[:, ZONE.n_idle], totals[:, ZONE.n_success] = live - 3, 3
    totals[:, ZONE.n_dead] = task - live
    totals[:, ZONE.resolved], totals[:, ZONE.correct], totals[:, ZONE.escalated] = 5, 4, 1
    totals[:, ZONE.completed_now] = 1
    before = np.tile(np.array([[6, 4]], np.int64), (W, 1))  # moves done, prefix
    after = before.copy()
    after[:, WORLD.moves_done] += 1
    return {"world_totals": totals, "world_stats": after}, before


@pytest.mark.parametrize("worlds", [3, 30])  # the per-world Python path of small batches and the NumPy path
@pytest.mark.parametrize("edit, rule", [
    (lambda t, a, b, w: t[w].__setitem__(ZONE.started, -1), "per-tick counter started is negative"),
    (lambda t, a, b, w: t[w].__setitem__(ZONE.n_idle, t[w, ZONE.n_idle] + 1), "counted by state ≠ live"),
    (lambda t, a, b, w: t[w].__setitem__(ZONE.n_dead, t[w, ZONE.n_dead] + 1), "dead agents with a task ≠"),
    (lambda t, a, b, w: t[w].__setitem__(ZONE.resolved, 10 ** 6), "attempts this tick > live agents"),
    (lambda t, a, b, w: t[w].__setitem__(ZONE.correct, 6), "correct attempts this tick > attempts"),
    (lambda t, a, b, w: t[w].__setitem__(ZONE.escalated, 6), "oracle calls this tick > attempts"),
    (lambda t, a, b, w: a[w].__setitem__(WORLD.moves_done, 5), "moves complete decreased"),
    (lambda t, a, b, w: (a[w].__setitem__(WORLD.moves_done, 10 ** 6), b[w].__setitem__(WORLD.moves_done, 10 ** 6 - 1)),
     "moves complete > moves of the task"),
    (lambda t, a, b, w: a[w].__setitem__(WORLD.prefix, 8), "complete prefix > moves complete"),
    (lambda t, a, b, w: a[w].__setitem__(WORLD.prefix, 3), "complete prefix decreased"),
    (lambda t, a, b, w: t[w].__setitem__(ZONE.completed_now, 2), "grew by a different count"),
])
def test_check_tick_names_each_broken_rule_for_small_and_large_batches(worlds, edit, rule):
    from engine.sim.invariants import FEW_WORLDS, check_tick

    assert (worlds <= FEW_WORLDS) == (worlds == 3)  # each path is exercised
    live, task, moves = 40, 48, 100
    stats, before = clean_tick(worlds, live, task)
    running = np.ones(worlds, bool)
    check_tick("x64", 7, running, stats, before, live, task, moves)  # possible: passes
    edit(stats["world_totals"], stats["world_stats"], before, worlds - 2)
    with pytest.raises(InvariantError) as err:
        check_tick("x64", 7, running, stats, before, live, task, moves)
    assert f"at tick 7, world {worlds - 2}: " in str(err.value) and rule in str(err.value), str(err.value)


def test_check_tick_skips_the_live_counts_of_ended_worlds():
    """An ended world's rows are zero (the kernel does not step it): its state counts are not checked."""
    from engine.sim.invariants import check_tick

    for worlds in (3, 30):
        stats, before = clean_tick(worlds, 40, 48)
        stats["world_totals"][1] = 0
        stats["world_stats"][1] = before[1]
        running = np.ones(worlds, bool)
        running[1] = False
        check_tick("x64", 7, running, stats, before, 40, 48, 100)
        running[1] = True
        with pytest.raises(InvariantError, match="world 1: agents counted by state"):
            check_tick("x64", 7, running, stats, before, 40, 48, 100)
