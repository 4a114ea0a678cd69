"""Episode files: write synthetic episodes, read them back, recover killed ones, summarise them."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from engine.cli import info as cmd_info
from replay import schema as S
from replay.info import episode_info, format_info
from replay.reader import Episode
from replay.writer import EpisodeWriter, check_writable

ROOT = Path(__file__).resolve().parents[1]
G = 8
TILE = 2
K = 4          # frames per chunk
WORLDS = (0, 1)


def layout() -> dict[str, np.ndarray]:
    """Return a G×G layout: moves along the cells, a 2×2 tile lattice, 4 zones."""
    cells = np.arange(G * G)
    row, col = divmod(cells, G)
    return dict(cell=cells, move=np.where(cells < 40, cells // 4, -1), tile=(row // TILE) * (G // TILE) + col // TILE,
                zone=(row // 4) * 2 + col // 4, difficulty=np.hypot(row - 3.5, col - 3.5) / 4,
                alive0=cells != 9)


def grids(ticks: np.ndarray, worlds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the synthetic (K, G*G) state and competence of the given ticks and worlds."""
    cells = np.arange(G * G)
    state = ((ticks[:, None] + 7 * worlds[:, None] + cells) % 6).astype(np.uint8)
    competence = ((3 * ticks[:, None] + worlds[:, None] + cells) % 256).astype(np.uint8)
    return state, competence


def chunk_ticks(c: int) -> np.ndarray:
    """Return the recorded ticks of chunk c: every second tick."""
    return np.arange(c * 2 * K, (c + 1) * 2 * K, 2)


def write_chunk(w: EpisodeWriter, c: int, confidence: bool = False) -> None:
    """Write chunk c: frames of every world, one move per world, metrics and curriculum rows."""
    ticks = np.repeat(chunk_ticks(c), len(WORLDS))
    worlds = np.tile(np.array(WORLDS), K)
    state, competence = grids(ticks, worlds)
    w.add_frames(ticks, worlds, state, competence, 255 - competence if confidence else None)
    w.add_moves(world=np.array(WORLDS), move=np.full(len(WORLDS), c), tick=np.full(len(WORLDS), ticks[-1]),
                disk=np.zeros(len(WORLDS)), src=np.zeros(len(WORLDS)), dst=np.full(len(WORLDS), 2))
    every = np.repeat(np.arange(ticks[0], ticks[-1] + 1), len(WORLDS))
    n = len(every)
    w.add_metrics({"tick": every.astype(np.int32), "world": np.tile(np.array(WORLDS, np.int32), n // len(WORLDS)),
                   "moves_complete": np.full(n, c, np.int32), "mean_nll": np.linspace(0, 1, n, dtype=np.float32),
                   "shared_skill": np.full((n, 3), c / 10, np.float32)})
    w.add_curriculum(tick=every, world=np.tile(WORLDS, n // len(WORLDS)), zone=np.arange(n) % 4,
                     alpha=np.ones(n), beta=np.full(n, 2.0), sample=np.full(n, 0.5), reward=np.full(n, np.nan))


def write_episode(folder: Path, chunks: int = 3, confidence: bool = False) -> Path:
    """Write a complete synthetic episode of a few chunks and return its folder."""
    manifest = {"scenario_name": "smoke", "seed": np.int64(7), "worlds": 2, "recorded_worlds": list(WORLDS)}
    with EpisodeWriter(folder, manifest, layout(), G, TILE, confidence=confidence) as w:
        for c in range(chunks):
            write_chunk(w, c, confidence)
        w.close({"0": "complete", "1": "stalled"})
    return folder


@pytest.fixture
def episode(tmp_path: Path) -> Path:
    return write_episode(tmp_path / "ep")


def test_frames_read_back_at_exact_and_in_between_ticks(episode: Path):
    ep = Episode.open(episode)
    assert (ep.size, ep.tile, ep.worlds(), ep.partial, ep.dropped_batches) == (G, TILE, [0, 1], False, 0)
    assert ep.frame_ticks(1).tolist() == list(range(0, 24, 2))
    f = ep.frame(1, 10)
    state, competence = grids(np.array([10]), np.array([1]))
    assert (f.tick_requested, f.tick_shown, f.exact) == (10, 10, True)
    assert f.state.shape == (G, G) and f.state.dtype == np.uint8
    assert np.array_equal(f.state.reshape(-1), state[0])
    assert f.competence.dtype == np.float32
    assert np.array_equal(f.competence.reshape(-1), competence[0].astype(np.float32) / np.float32(255))
    assert f.confidence is None
    between = ep.frame(1, 11)  # nearest recorded at or before
    assert (between.tick_shown, between.exact) == (10, False)
    assert np.array_equal(between.state, f.state)
    before, after = ep.frame(0, -5), ep.frame(0, 10_000)
    assert (before.tick_shown, before.exact, after.tick_shown, after.exact) == (0, False, 22, False)
    with pytest.raises(S.EpisodeError, match="world 5 has no recorded frames"):
        ep.frame(5, 0)


def test_confidence_is_recorded_when_enabled(tmp_path: Path):
    ep = Episode.open(write_episode(tmp_path / "ep", chunks=1, confidence=True))
    f = ep.frame(0, 4)
    _, competence = grids(np.array([4]), np.array([0]))
    assert np.array_equal(f.confidence.reshape(-1) * 255, (255 - competence[0]).astype(np.float32))


def test_tables_and_manifest_read_back(episode: Path):
    ep = Episode.open(episode)
    assert ep.layout().column("move").to_numpy()[:5].tolist() == [0, 0, 0, 0, 1]
    assert ep.layout().column("alive0").to_pylist()[9] is False
    moves = ep.moves()
    assert moves.schema.field("disk").type == pa.int16() and moves.schema.field("src").type == pa.int8()
    assert moves.num_rows == 6 and moves.column("move").to_pylist() == [0, 0, 1, 1, 2, 2]
    metrics = ep.metrics()
    assert metrics.column_names == ["tick", "world", "moves_complete", "mean_nll", "shared_skill"]
    assert metrics.schema.field("shared_skill").type == pa.list_(pa.float32())
    assert metrics.num_rows == 3 * 7 * 2 and metrics.column("shared_skill")[0].as_py() == pytest.approx([0, 0, 0])
    cur = ep.curriculum()
    assert cur.schema.field("zone").type == pa.int16() and np.isnan(cur.column("reward").to_numpy()).all()
    m = ep.manifest
    assert (m["format"], m["format_version"], m["status"], m["seed"]) == ("gridhanoi-episode", S.FORMAT_VERSION,
                                                                          "complete", 7)
    assert m["outcome"] == {"0": "complete", "1": "stalled"}
    assert m["files"] == {name: (episode / name).stat().st_size for name in S.ARROW_FILES}
    for name in S.ARROW_FILES:  # every file: IPC file with footer, version in its schema metadata
        assert S.version_of(ipc.open_file(pa.memory_map(str(episode / name))).schema) == S.FORMAT_VERSION


def test_metrics_schema_given_at_open_is_kept(tmp_path: Path):
    sch = pa.schema([("tick", pa.int32()), ("world", pa.int32()), ("shared_skill", pa.list_(pa.float32()))])
    with EpisodeWriter(tmp_path / "ep", {}, layout(), G, TILE, metrics_schema=sch) as w:
        w.add_metrics({"tick": [1, 2], "world": [0, 0], "shared_skill": np.ones((2, 2))})
        with pytest.raises(S.EpisodeError, match="missing"):
            w.add_metrics({"tick": [3]})
    table = Episode.open(tmp_path / "ep").metrics()
    assert table.schema.field("shared_skill").type == pa.list_(pa.float32()) and table.num_rows == 2


def test_an_episode_without_metrics_still_closes_into_valid_files(tmp_path: Path):
    with EpisodeWriter(tmp_path / "ep", {}, layout(), G, TILE):
        pass
    ep = Episode.open(tmp_path / "ep")
    assert not ep.partial and ep.metrics().num_rows == 0 and ep.worlds() == [] and ep.moves().num_rows == 0


def test_identical_input_writes_identical_files(tmp_path: Path):
    a, b = write_episode(tmp_path / "a"), write_episode(tmp_path / "b")
    for name in S.ARROW_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    volatile = ("started_at", "finished_at")
    ma, mb = (json.loads((p / S.MANIFEST).read_text()) for p in (a, b))
    assert {k: v for k, v in ma.items() if k not in volatile} == {k: v for k, v in mb.items() if k not in volatile}


def batch_offsets(path: Path) -> list[tuple[int, int]]:
    """Return (start, end) byte offsets of every record batch message in an Arrow IPC file."""
    buf = pa.py_buffer(path.read_bytes())
    source = pa.BufferReader(buf.slice(8))
    reader = ipc.MessageReader.open_stream(source)
    spans, start = [], 8
    for message in iter(reader.read_next_message, None):  # StopIteration ends the loop
        end = 8 + source.tell()
        if message.type == "record batch":
            spans.append((start, end))
        start = end
    return spans


@pytest.mark.parametrize("cut", ["half_of_last_batch", "footer_only"])
def test_frames_without_footer_are_recovered_as_partial(episode: Path, tmp_path: Path, cut: str):
    copy = tmp_path / "copy"
    shutil.copytree(episode, copy)
    frames = copy / S.FRAMES
    spans = batch_offsets(frames)
    start, end = spans[-1]
    keep = start + (end - start) // 2 if cut == "half_of_last_batch" else end
    frames.write_bytes(frames.read_bytes()[:keep])
    ep = Episode.open(copy)
    assert ep.partial and ep.status == "complete"
    if cut == "half_of_last_batch":
        assert ep.dropped_batches == 1 and ep.frame_ticks(0).tolist() == list(range(0, 16, 2))
    else:
        assert ep.dropped_batches == 0 and ep.frame_ticks(0).tolist() == list(range(0, 24, 2))
    f = ep.frame(1, 14)
    assert f.exact and np.array_equal(f.state.reshape(-1), grids(np.array([14]), np.array([1]))[0][0])
    assert ep.moves().num_rows == 6  # other files are untouched
    info = episode_info(copy)  # the manifest says complete: a cut file is damage, not a killed writer
    assert info["status"] == "damaged" and any("frames.arrow" in p for p in info["problems"])


def test_newer_format_version_is_refused(episode: Path):
    manifest = json.loads((episode / S.MANIFEST).read_text())
    manifest["format_version"] = S.FORMAT_VERSION + 1
    (episode / S.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(S.EpisodeError) as err:
        Episode.open(episode)
    assert str(err.value) == (f"episode format {S.FORMAT_VERSION + 1} is newer than this gridhanoi reads "
                              f"({S.FORMAT_VERSION}); upgrade gridhanoi")


def test_folders_that_are_not_episodes_are_refused_in_one_line(tmp_path: Path):
    with pytest.raises(S.EpisodeError, match="no such episode folder"):
        Episode.open(tmp_path / "missing")
    with pytest.raises(S.EpisodeError, match="not a gridhanoi episode"):
        Episode.open(tmp_path)


def test_unwritable_or_occupied_folders_are_refused(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for folder, reason in [(blocker / "ep", "is a file"), (blocker, "is a file"), (tmp_path, "not empty")]:
        with pytest.raises(S.EpisodeError, match=f"cannot write episode to .*{reason}.*; choose another --out"):
            EpisodeWriter(folder, {}, layout(), G, TILE)
        with pytest.raises(S.EpisodeError, match=reason):
            check_writable(folder)
    with pytest.raises(S.EpisodeError, match="MB free"):
        check_writable(tmp_path / "new", min_free_bytes=1 << 62)
    check_writable(tmp_path / "new")  # fine: a new folder on a disk with room


def test_a_failure_in_the_writer_thread_is_raised_on_the_next_call(tmp_path: Path):
    w = EpisodeWriter(tmp_path / "ep", {}, layout(), G, TILE)
    w.add_metrics({"tick": [1, 2], "world": [0]})  # rows of unequal length fail in the thread
    with pytest.raises(S.EpisodeError, match="episode writer failed on metrics.arrow"):
        w.flush()
    with pytest.raises(S.EpisodeError, match="episode writer failed"):
        w.close({})
    assert Episode.open(tmp_path / "ep").manifest["status"] == "error"


def test_abort_closes_cleanly_as_interrupted(tmp_path: Path):
    with pytest.raises(KeyboardInterrupt):
        with EpisodeWriter(tmp_path / "ep", {}, layout(), G, TILE) as w:
            write_chunk(w, 0)
            raise KeyboardInterrupt
    ep = Episode.open(tmp_path / "ep")
    assert ep.status == "interrupted" and not ep.partial and ep.frame_ticks(0).tolist() == [0, 2, 4, 6]


def test_a_live_episode_can_be_followed_with_refresh(tmp_path: Path):
    w = EpisodeWriter(tmp_path / "ep", {}, layout(), G, TILE)
    write_chunk(w, 0)
    w.flush()
    ep = Episode.open(tmp_path / "ep")
    assert ep.partial and ep.manifest["outcome"] == "running" and ep.frame_ticks(0).tolist() == [0, 2, 4, 6]
    assert not ep.refresh()
    write_chunk(w, 1)
    w.flush()
    assert ep.refresh() and len(ep.frame_ticks(0)) == 8 and ep.frame(0, 14).exact
    w.close({"0": "complete"})
    assert ep.refresh() and not ep.partial and ep.status == "complete"


def test_info_summarises_an_episode(episode: Path, capsys):
    d = episode_info(episode)
    assert (d["status"], d["scenario"], d["seed"], d["grid"], d["frames"], d["moves"]) == (
        "complete", "smoke", 7, G, 24, 6)
    assert d["last_tick"] == 22 and d["recorded_worlds"] == [0, 1]
    text = format_info(d)
    assert "world 1: stalled" in text and "frames.arrow" in text
    parser = argparse.ArgumentParser(prog="gridhanoi")
    cmd_info.register(parser.add_subparsers())
    args = parser.parse_args(["info", str(episode), "--json"])
    assert args.func(args) == 0 and json.loads(capsys.readouterr().out)["frames"] == 24
    args = parser.parse_args(["info", str(episode / "nope")])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such episode folder" in err


def test_the_documented_pyarrow_snippet_reads_an_episode(episode: Path):
    doc = (ROOT / "docs" / "episode-format.md").read_text()
    section = doc.split("## Reading an episode without gridhanoi", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len(code.strip().splitlines()) <= 10
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(code.replace('"runs/paper-s0"', repr(str(episode))), namespace)
    last = Episode.open(episode).frame(1, 22)
    assert np.array_equal(namespace["state"], last.state)
    assert np.allclose(namespace["competence"], last.competence)
    assert "6 moves composed" in out.getvalue()


def run_python(code: str, **kwargs) -> subprocess.Popen:
    """Start a Python child running ``code`` with the repository importable."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_replay_imports_without_taichi_or_engine():
    child = run_python("""
        import sys
        sys.modules["taichi"] = None  # any import of taichi now fails
        import replay.schema, replay.writer, replay.reader, replay.info
        assert not any(m.startswith(("taichi", "engine", "kernels")) for m in sys.modules if sys.modules[m])
        import engine.cli.info  # the `info` command: the CLI layer only, never the simulation or Taichi
        assert not any(m.startswith(("taichi", "engine.sim", "kernels")) for m in sys.modules if sys.modules[m])
        print("ok")
    """)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0 and out.strip() == "ok", err


def test_an_episode_killed_with_sigkill_is_readable_as_partial(tmp_path: Path):
    folder = tmp_path / "killed"
    child = run_python(f"""
        import sys
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from test_episode_io import EpisodeWriter, layout, write_chunk, G, TILE
        w = EpisodeWriter({str(folder)!r}, {{"seed": 1}}, layout(), G, TILE)
        c = 0
        while True:  # write until killed; the first chunks are known to be on disk
            write_chunk(w, c)
            if c < 3:
                w.flush()
                print(c, flush=True)
            c += 1
    """)
    try:
        for _ in range(3):
            assert child.stdout.readline(), child.stderr.read()
        time.sleep(0.2)  # let it be somewhere in the middle of writing
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        child.kill()
        child.communicate()
    ep = Episode.open(folder)
    assert ep.partial and ep.status == "running"
    ticks = ep.frame_ticks(0)
    assert len(ticks) >= 3 * K and ticks.tolist() == list(range(0, 2 * len(ticks), 2))
    last = ep.frame(1, int(ticks[-1]))
    assert np.array_equal(last.state.reshape(-1), grids(ticks[-1:], np.array([1]))[0][0])
    assert ep.moves().num_rows >= 6 and ep.metrics().num_rows >= 3 * 7 * 2
    assert episode_info(folder)["status"] == "partial"
