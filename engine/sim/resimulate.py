"""`verify --resimulate`: run the episode's scenario again from its manifest and compare the files bit for bit."""
import tempfile
from pathlib import Path

from engine.errors import UsageError


def resimulate(episode, report, arch=None) -> None:
    """Re-run the recorded episode (same scenario text, seed, worlds, recorded worlds) and compare tables."""
    from engine.sim.arch import init_taichi
    from engine.sim.recording import attach_recorder
    from engine.sim.simulation import Simulation
    from replay.reader import Episode
    from scenarios.loader import load_scenario_text

    man = episode.manifest
    recorded_arch = man.get("arch")
    if man.get("backend", "taichi") != "taichi":
        raise UsageError("--resimulate compares Taichi runs; this episode was recorded by the NumPy reference")
    used = init_taichi(arch or ("cpu" if recorded_arch == "x64" else recorded_arch or "auto"))
    if recorded_arch and used != recorded_arch:
        raise UsageError(f"episode was recorded on {recorded_arch} but this machine runs {used}; "
                         "bit-for-bit re-simulation needs the same arch")
    scenario = load_scenario_text(man["scenario_text"], source=f"{episode.folder}/manifest.json")
    sim = Simulation(scenario, seed=int(man["seed"]), worlds=int(man["worlds"]), arch=used, record=True)
    with tempfile.TemporaryDirectory() as tmp:
        recorder = attach_recorder(sim, str(Path(tmp) / "again"))
        last_tick = _last_tick(episode)
        while sim.running.any() and (last_tick is None or sim.tick <= last_tick):
            sim.step()
        if sim.running.any():
            sim.interrupt()  # a partial episode: compare only as far as it goes
        recorder.close()
        again = Episode.open(Path(tmp) / "again")
        _compare(episode, again, report)


def _last_tick(episode):
    """Last tick recorded in metrics (None for an empty file)."""
    m = episode.metrics(["tick"])
    return int(m.column("tick").to_numpy().max()) if m.num_rows else None


def _compare(original, again, report) -> None:
    """Every recorded frame, move and metrics row of `original` must equal the re-run's."""
    for w in original.worlds():
        for t in original.frame_ticks(w):
            a, b = original.frame(w, int(t)), again.frame(w, int(t))
            if b.tick_shown != int(t) or (a.state != b.state).any() or (a.competence != b.competence).any():
                report.problems.append(f"resimulate: world {w} frame at tick {int(t)} differs")
                return
    for name, reader in (("moves", lambda e: e.moves()), ("metrics", lambda e: e.metrics())):
        x, y = reader(original), reader(again)
        if x.num_rows and not tables_equal(x, y.slice(0, x.num_rows)):
            report.problems.append(f"resimulate: {name}.arrow differs from the re-run")
            return
    report.notes.append(f"resimulate: {original.frame_count()} frames, moves and metrics identical to a fresh run")


def tables_equal(x, y) -> bool:
    """Column-by-column equality where NaN equals NaN (Arrow's own equals says NaN ≠ NaN)."""
    import numpy as np
    import pyarrow as pa

    if x.column_names != y.column_names or x.num_rows != y.num_rows:
        return False
    for name in x.column_names:
        a, b = x.column(name).combine_chunks(), y.column(name).combine_chunks()
        if pa.types.is_list(a.type):
            if not a.offsets.equals(b.offsets):
                return False
            a, b = a.flatten(), b.flatten()
        if pa.types.is_floating(a.type):
            if not np.array_equal(a.to_numpy(zero_copy_only=False), b.to_numpy(zero_copy_only=False), equal_nan=True):
                return False
        elif not a.equals(b):
            return False
    return True
