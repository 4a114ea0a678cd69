"""Replay viewer: drive it with real pygame events under SDL's dummy driver and check what it draws."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # before pygame is imported: no window ever appears

import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pygame
import pytest
from PIL import Image

from engine.sim.layout import spiral_order  # NumPy only; the replay package itself never imports engine
from engine.cli import replay as cmd_replay
from replay import draw, export
from replay import overlays as O
from replay.pegs import MoveLog, pegs_after
from replay.reader import Episode
from replay.schema import STANDARD_METRICS, EpisodeError
from replay.viewer import Viewer
from replay.writer import EpisodeWriter

ROOT = Path(__file__).resolve().parents[1]
G, TILE, DISKS = 8, 2, 4          # 4×4 tiles, 15 moves
L = G // TILE
M = 2**DISKS - 1
LAST = 40                          # ticks 0..40
RADII = (0.25, 0.5, 0.75, 1.0, 1.42)
SIZE = (1000, 700)
IDLE, WORKING, WAITING, SUCCESS, FAILURE, DEAD = range(6)


def hanoi_plan(n: int) -> list[tuple[int, int, int]]:
    """Return the optimal 3-peg plan (disk, src, dst) from peg 0 to peg 2, recursively."""
    def solve(k, a, b, c):
        return [] if k == 0 else solve(k - 1, a, c, b) + [(k - 1, a, c)] + solve(k - 1, b, a, c)
    return solve(n, 0, 1, 2)


PLAN = hanoi_plan(DISKS)
TILES = [(y, x) for x, y in spiral_order(L).tolist()]  # (row, col) of the tile of move k
DONE_AT = [2 * k + 2 for k in range(M)]
DONE_AT[5] = 30                    # move 5 composes late: the prefix stalls at 5 while others complete
DEAD_CELL = (7, 0)                 # a corner cell with no task


def move_grid() -> np.ndarray:
    """Return the (G, G) move of every cell: tile k of the spiral works on move k."""
    move = np.full((G, G), -1, np.int32)
    for k, (ty, tx) in enumerate(TILES[:M]):
        move[ty * TILE:(ty + 1) * TILE, tx * TILE:(tx + 1) * TILE] = k
    return move


def state_at(tick: int, world: int) -> np.ndarray:
    """Return the synthetic (G, G) state: composed tiles Success, the next one Working, one cell dead."""
    move = move_grid()
    done = np.array([t <= tick for t in DONE_AT])
    state = np.where(move >= 0, np.where(done[np.maximum(move, 0)], SUCCESS, IDLE), IDLE).astype(np.uint8)
    working = [k for k in range(M) if DONE_AT[k] == tick + 1 or DONE_AT[k] == tick + 2]
    state[np.isin(move, working)] = WORKING
    if world == 1:
        state[move == 14] = FAILURE
    state[DEAD_CELL] = DEAD
    state[0, 0] = WAITING if tick % 4 == 0 else state[0, 0]
    return state


def write_episode(folder: Path, frame_every: int = 1, close: bool = True) -> Path:
    """Write the synthetic episode: two worlds (world 1 every 2 ticks), moves, metrics and curriculum."""
    move = move_grid()
    rows, cols = np.divmod(np.arange(G * G), G)
    layout = dict(cell=np.arange(G * G), move=move.reshape(-1), tile=(rows // TILE) * L + cols // TILE,
                  zone=(rows >= G // 2) * 2 + (cols >= G // 2),
                  difficulty=np.hypot(rows - (G - 1) / 2, cols - (G - 1) / 2) / (G / 2), alive0=np.ones(G * G, bool))
    manifest = {"scenario_name": "viewer-test", "seed": 3, "worlds": 2, "recorded_worlds": [0, 1],
                "grid": G, "tile": TILE, "disks": DISKS, "pegs": 3}
    w = EpisodeWriter(folder, manifest, layout, G, TILE, metrics_schema=STANDARD_METRICS, confidence=True)
    for world, every in ((0, frame_every), (1, 2 * frame_every)):
        ticks = np.arange(0, LAST + 1, every)
        states = np.stack([state_at(t, world).reshape(-1) for t in ticks])
        competence = np.tile((np.arange(G * G) * 4 % 256).astype(np.uint8), (len(ticks), 1))
        w.add_frames(ticks, np.full(len(ticks), world), states, competence, 255 - competence)
    order = np.argsort(DONE_AT, kind="stable")
    for world in (0, 1):
        plan = np.array(PLAN)[order]
        w.add_moves(world=np.full(M, world), move=order, tick=np.array(DONE_AT)[order], disk=plan[:, 0],
                    src=plan[:, 1], dst=plan[:, 2])
    t = np.arange(LAST + 1)
    stage = np.minimum(t // 10, 4)
    done = np.array([[d <= x for d in DONE_AT] for x in t])
    prefix = np.argmin(np.c_[done, np.zeros(len(t), bool)], axis=1)
    n = len(t)
    for world in (0, 1):
        w.add_metrics({
            "tick": t.astype(np.int32), "world": np.full(n, world, np.int32), "stage": stage.astype(np.int16),
            "radius": np.array(RADII, np.float32)[stage], "n_active_zones": np.full(n, 2, np.int16),
            **{name: np.zeros(n, np.int32) for name in ("idle", "working", "waiting", "success", "failure", "dead")},
            "attempts": 5 * t, "correct": 3 * t, "escalations": t // 3, "oracle_calls": t // 3 + world,
            "cost": (5 * t).astype(np.float64), "moves_complete": done.sum(1).astype(np.int32),
            "prefix": prefix.astype(np.int32), "mean_nll": np.full(n, 0.5, np.float32),
            "shared_skill": np.zeros((n, DISKS), np.float32)})
        zones = np.tile(np.arange(4), n)
        ticks = np.repeat(t, 4)
        w.add_curriculum(tick=ticks, world=np.full(4 * n, world), zone=zones, alpha=1 + zones * ticks / 10,
                         beta=np.full(4 * n, 2.0), sample=np.full(4 * n, 0.5),
                         reward=np.where(zones == ticks % 4, 0.5, np.nan))
    if not close:  # snapshot the files before they get footers: what a killed run leaves
        w.flush()
        killed = folder.with_name(folder.name + "-killed")
        shutil.copytree(folder, killed)
    w.close({"0": "complete", "1": "complete"})
    return folder if close else killed


@pytest.fixture(scope="module")
def episode(tmp_path_factory) -> Path:
    return write_episode(tmp_path_factory.mktemp("viewer") / "ep")


def colour_at(surface: pygame.Surface, xy) -> tuple[int, int, int]:
    return tuple(surface.get_at(xy))[:3]


def key(k: int, mod: int = 0, unicode: str = "") -> pygame.event.Event:
    return pygame.event.Event(pygame.KEYDOWN, key=k, mod=mod, unicode=unicode)


def click(pos, button: int = 1) -> list[pygame.event.Event]:
    return [pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=button),
            pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=button)]


def render(viewer: Viewer) -> pygame.Surface:
    surface = pygame.Surface(viewer.size)
    viewer.render(surface)
    return surface


def test_grid_cells_are_drawn_in_their_state_colour_at_their_pixel(episode: Path):
    v = Viewer(episode, tick=20, size=SIZE, overlays=set())
    s = render(v)
    expected = state_at(20, 0)
    move = move_grid()
    for i, j in [(3, 3), (4, 4), DEAD_CELL, (0, 7), (1, 5), (6, 2)]:
        code = expected[i, j]
        want = tuple(O.NO_TASK) if code == IDLE and move[i, j] < 0 else tuple(O.STATE_COLOURS[code])
        assert colour_at(s, v.cell_to_pixel(i, j)) == want, (i, j, code)
    assert v.pixel_to_cell(*v.cell_to_pixel(5, 6)) == (5, 6)


def test_success_cell_turns_green_when_its_move_composes(episode: Path):
    v = Viewer(episode, tick=0, size=SIZE, overlays=set())
    ty, tx = TILES[3]
    cell = (ty * TILE, tx * TILE)
    green = tuple(O.STATE_COLOURS[SUCCESS])
    assert colour_at(render(v), v.cell_to_pixel(*cell)) != green
    v.seek(DONE_AT[3])
    assert colour_at(render(v), v.cell_to_pixel(*cell)) == green


def test_pegs_follow_the_complete_prefix_of_the_plan(episode: Path):
    log = MoveLog(Episode.open(episode).moves(), 0, M)
    assert log.prefix(20) == 5 and log.complete(20) == 9  # move 5 is late: 9 composed, prefix 5
    assert log.prefix(30) == 15
    for k in range(M + 1):  # apply the plan disk by disk, as a person would
        pegs = [list(range(DISKS - 1, -1, -1)), [], []]
        for disk, src, dst in PLAN[:k]:
            assert pegs[src].pop() == disk
            pegs[dst].append(disk)
        got = pegs_after(np.array(PLAN)[:k, 0], np.array(PLAN)[:k, 2], DISKS) if k else pegs_after([], [], DISKS)
        assert [p.tolist() for p in got] == pegs
    stacks = log.pegs(20, DISKS)
    assert [p.tolist() for p in stacks] == [p.tolist() for p in pegs_after(*np.array(PLAN)[:5, [0, 2]].T, DISKS)]
    assert [p.tolist() for p in log.pegs(LAST, DISKS)] == [[], [], [3, 2, 1, 0]]


def test_pegs_panel_draws_the_prefix_stacks(episode: Path):
    v = Viewer(episode, tick=20, size=SIZE)
    s = render(v)
    pegs = [[], [], []]
    for peg, disk, box in v.drawn_pegs:  # bottom to top, as drawn
        pegs[peg].append(disk)
        assert v.rects.pegs.contains(box) and colour_at(s, box.center) == draw.disk_colour(disk, DISKS)
    expected = pegs_after(*np.array(PLAN)[:5, [0, 2]].T, DISKS)  # prefix 5 at tick 20
    assert pegs == [p.tolist() for p in expected]
    v.seek(LAST)
    render(v)
    assert [(p, d) for p, d, _ in v.drawn_pegs] == [(2, 3), (2, 2), (2, 1), (2, 0)]


def test_seek_shows_the_frame_of_that_tick_or_the_nearest_earlier_one(episode: Path):
    v = Viewer(episode, tick=17, size=SIZE)
    f = v.frame()
    assert (f.tick_shown, f.exact) == (17, True)
    np.testing.assert_array_equal(f.state, state_at(17, 0))
    v.set_world(1)  # world 1 is recorded every 2 ticks
    f = v.frame()
    assert (f.tick_shown, f.exact) == (16, False)
    np.testing.assert_array_equal(f.state, state_at(16, 1))
    lines = v._status_lines(v.data(), f, v.tick, 0.5, 5)
    text = " ".join(chunk for line in lines for chunk, _ in line)
    assert "tick 17 / 40" in text and "frame 16 (nearest earlier frame)" in text
    assert "moves 7/15  prefix 5" in text and "oracle calls 6" in text and "PARTIAL" not in text


def test_keys_play_step_speed_home_end_and_world(episode: Path):
    v = Viewer(episode, tick=10, size=SIZE, speed=4)
    v.handle(key(pygame.K_RIGHT))
    assert v.tick == 11
    v.handle(key(pygame.K_LEFT))
    v.handle(key(pygame.K_LEFT))
    assert v.tick == 9
    v.handle(key(pygame.K_SPACE))
    assert v.playing
    v.update(0.5)  # 4 ticks/s for half a second: clock-based, whatever the drawing rate
    assert v.tick == 11
    v.handle(key(pygame.K_UP))
    assert v.speed == 8
    v.update(0.25)
    assert v.tick == 13
    v.handle(key(pygame.K_SPACE))
    v.update(1.0)
    assert v.tick == 13 and not v.playing
    v.handle(key(pygame.K_END))
    assert v.tick == LAST
    v.handle(key(pygame.K_HOME))
    assert v.tick == 0
    v.handle(key(pygame.K_TAB))
    assert v.world == 1
    v.handle(key(pygame.K_RIGHT))
    assert v.tick == 2  # world 1: next recorded frame is two ticks on
    v.handle(key(pygame.K_RIGHT, pygame.KMOD_SHIFT))
    assert v.tick == 3
    v.handle(key(pygame.K_TAB))
    assert v.world == 0
    v.handle(key(pygame.K_h))
    assert v.help
    render(v)
    v.handle(key(pygame.K_ESCAPE))
    assert not v.help and v.running
    v.handle(key(pygame.K_q))
    assert not v.running


def test_timeline_click_and_drag_seek(episode: Path):
    v = Viewer(episode, tick=0, size=SIZE)
    render(v)
    y = v.rects.timeline.centery
    for event in click((v.timeline_x(25), y)):
        v.handle(event)
    assert v.tick == 25
    v.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(v.timeline_x(5), y), button=1))
    v.handle(pygame.event.Event(pygame.MOUSEMOTION, pos=(v.timeline_x(33), y), rel=(1, 0), buttons=(1, 0, 0)))
    assert v.tick == 33
    v.handle(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(v.timeline_x(33), y), button=1))
    v.handle(pygame.event.Event(pygame.MOUSEMOTION, pos=(v.timeline_x(10), y), rel=(1, 0), buttons=(0, 0, 0)))
    assert v.tick == 33
    s = render(v)
    assert colour_at(s, (v.timeline_x(33), v.rects.timeline.y + 10)) == (255, 214, 10)  # the cursor


def test_number_keys_toggle_overlays_and_change_pixels(episode: Path):
    v = Viewer(episode, tick=LAST, size=SIZE, overlays=set())
    cell = (3, 3)
    before = colour_at(render(v), v.cell_to_pixel(*cell))
    v.handle(key(pygame.K_1))
    assert v.enabled == {"competence"}
    after = colour_at(render(v), v.cell_to_pixel(*cell))
    assert after != before
    v.handle(key(pygame.K_1))
    assert colour_at(render(v), v.cell_to_pixel(*cell)) == before
    for k in range(2, 10):
        v.handle(key(pygame.K_0 + k))
    v.handle(key(pygame.K_e))  # the errors overlay has a letter key
    assert v.enabled == {o.name for o in O.OVERLAYS} - {"competence"}
    render(v)  # every overlay at once draws without error


def test_wheel_zooms_at_the_mouse_and_drag_pans(episode: Path):
    v = Viewer(episode, tick=LAST, size=SIZE, overlays=set())
    render(v)
    target = v.cell_to_pixel(2, 5)
    before = v.view.scale(v.rects.grid)
    v.handle(pygame.event.Event(pygame.MOUSEMOTION, pos=target, rel=(0, 0), buttons=(0, 0, 0)))
    v.handle(pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=2, flipped=False, precise_x=0.0, precise_y=2.0))
    assert v.view.scale(v.rects.grid) == pytest.approx(before * 1.25**2)
    assert v.pixel_to_cell(*target) == (2, 5)  # the cell under the mouse stays put
    s = render(v)
    assert colour_at(s, v.cell_to_pixel(2, 5)) == tuple(O.STATE_COLOURS[state_at(LAST, 0)[2, 5]])
    x, y = v.cell_to_pixel(4, 4)
    v.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x, y), button=1))
    v.handle(pygame.event.Event(pygame.MOUSEMOTION, pos=(x + 30, y + 10), rel=(30, 10), buttons=(1, 0, 0)))
    v.handle(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(x + 30, y + 10), button=1))
    assert v.cell_to_pixel(4, 4) == (x + 30, y + 10)
    v.handle(key(pygame.K_f))
    assert v.view.scale(v.rects.grid) == pytest.approx(before)


def test_screenshot_key_saves_a_png(episode: Path, tmp_path: Path):
    v = Viewer(episode, tick=12, size=SIZE, screenshot_dir=tmp_path)
    v.handle(key(pygame.K_s))
    shots = list(tmp_path.glob("*.png"))
    assert len(shots) == 1 and Image.open(shots[0]).size == SIZE
    assert "saved" in v.message


def test_partial_episode_is_viewable_and_says_so(tmp_path: Path):
    folder = write_episode(tmp_path / "killed", close=False)
    v = Viewer(folder, tick=LAST, size=SIZE)
    assert v.episode.partial
    s = render(v)
    text = " ".join(chunk for line in v._status_lines(v.data(), v.frame(), v.tick, None, 0) for chunk, _ in line)
    assert "PARTIAL episode" in text
    assert colour_at(s, v.cell_to_pixel(*DEAD_CELL)) == (0, 0, 0)


def test_export_png_and_gif(episode: Path, tmp_path: Path):
    png = export.export_png(episode, tmp_path / "a.png", tick=20, size=(800, 500))
    with Image.open(png) as im:
        assert im.size == (800, 500)
    v = Viewer(episode, tick=20, size=(800, 500))
    render(v)
    with Image.open(png) as im:
        assert im.convert("RGB").getpixel(v.cell_to_pixel(3, 3)) == tuple(O.STATE_COLOURS[SUCCESS])
    gif, n = export.export_gif(episode, tmp_path / "a.gif", t_from=5, t_to=15, fps=5, size=(640, 400))
    with Image.open(gif) as im:
        assert im.n_frames == n == 11 and im.info["duration"] == 200


def test_cli_exports_and_reports_user_errors(episode: Path, tmp_path: Path, capsys):
    assert cmd_replay.main([str(episode), "--export", str(tmp_path / "x.png"), "--tick", "3", "--world", "1"]) == 0
    assert (tmp_path / "x.png").exists()
    assert cmd_replay.main([str(episode), "--export", str(tmp_path / "x.gif"), "--from", "0", "--to", "4",
                            "--overlays", "zones,7"]) == 0
    capsys.readouterr()
    for argv, words in [
        ([str(tmp_path / "nope"), "--export", "x.png"], "no such episode"),
        ([str(episode), "--export", str(tmp_path / "y.png"), "--world", "5"], "world 5"),
        ([str(episode), "--export", str(tmp_path / "y.png"), "--tick", "99"], "tick 99 is outside"),
        ([str(episode), "--export", str(tmp_path / "y.gif"), "--from", "9", "--to", "2"], "after --to"),
        ([str(episode), "--export", str(tmp_path / "y.bmp")], ".png or .gif"),
        ([str(episode), "--export", str(tmp_path / "y.png"), "--overlays", "sparkles"], "unknown overlay"),
    ]:
        assert cmd_replay.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("gridhanoi: error: ") and words in err and err.count("\n") == 1, err
    with pytest.raises(EpisodeError):
        Viewer(episode, world=7)


def test_window_loop_runs_under_the_dummy_driver(episode: Path):
    from replay.viewer import open_viewer

    assert open_viewer(episode, size=(800, 500), max_frames=3) == 0


WRITER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    sys.path.insert(0, {tests!r})
    import numpy as np
    from replay.writer import EpisodeWriter
    import test_viewer as t
    move = t.move_grid()
    rows, cols = np.divmod(np.arange(t.G * t.G), t.G)
    layout = dict(cell=np.arange(t.G * t.G), move=move.reshape(-1), tile=(rows // t.TILE) * t.L + cols // t.TILE,
                  zone=np.zeros(t.G * t.G), difficulty=np.zeros(t.G * t.G), alive0=np.ones(t.G * t.G, bool))
    w = EpisodeWriter(sys.argv[1], {{"disks": t.DISKS}}, layout, t.G, t.TILE)
    for chunk in range(6):
        ticks = np.arange(chunk * 4, chunk * 4 + 4)
        w.add_frames(ticks, np.zeros(4), np.stack([t.state_at(x, 0).reshape(-1) for x in ticks]),
                     np.zeros((4, t.G * t.G), np.uint8))
        w.flush()
        time.sleep(0.3)
    w.close({{"0": "complete"}})
""")


def test_follow_sees_a_running_episode_grow_and_ends_on_its_last_tick(tmp_path: Path):
    folder = tmp_path / "live"
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(root=str(ROOT), tests=str(ROOT / "tests")))
    child = subprocess.Popen([sys.executable, str(script), str(folder)])
    try:
        deadline = time.monotonic() + 20
        while not (folder / "layout.arrow").exists() or not (folder / "manifest.json").exists():
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.05)
        v = Viewer(folder, follow=True, size=(800, 500))
        seen = []
        while child.poll() is None:
            assert time.monotonic() < deadline
            v.update(0.3)  # re-reads the episode at least every 0.25 s of viewer time
            render(v)
            seen.append(v.tick)
            time.sleep(0.1)
        assert child.wait(5) == 0
        v.update(0.3)  # one last read after the writer closed the files
    finally:
        child.kill()
    assert len(set(seen)) >= 3 and seen == sorted(seen)  # the timeline grew, several times
    assert v.tick == v.data().t1 == 23 and v.live
    assert not v.episode.partial
    v.handle(key(pygame.K_SPACE))  # pause while following, then End goes live again
    assert not v.live and not v.playing
    v.handle(key(pygame.K_HOME))
    v.handle(key(pygame.K_END))
    assert v.live and v.tick == 23


def test_following_waits_for_a_run_to_create_its_episode(tmp_path: Path):
    from replay.viewer import _wait_for_episode

    t0 = time.monotonic()
    with pytest.raises(EpisodeError, match="no such episode folder"):
        _wait_for_episode(tmp_path / "not-yet", 0.3)
    assert time.monotonic() - t0 >= 0.3


def test_replay_never_imports_the_engine_or_taichi():
    code = ("import sys; import replay.viewer, replay.export, replay.pegs; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('engine', 'kernels', 'taichi')]; "
            "import engine.cli.replay; "  # the command itself: CLI layer only, never the simulation or Taichi
            "bad += [m for m in sys.modules if m.split('.')[0] in ('kernels', 'taichi') or m.startswith('engine.sim')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "SDL_VIDEODRIVER": "dummy"})
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_grid_bigger_than_its_pixels_is_drawn_downsampled(tmp_path: Path):
    g = 256
    rng = np.random.default_rng(0)
    state = rng.integers(0, 6, (1, g * g), dtype=np.uint8)
    cells = np.arange(g * g)
    layout = dict(cell=cells, move=cells, tile=cells, zone=np.zeros(g * g), difficulty=np.zeros(g * g),
                  alive0=np.ones(g * g, bool))
    with EpisodeWriter(tmp_path / "big", {}, layout, g, 1) as w:
        w.add_frames([0], [0], state, np.zeros((1, g * g), np.uint8))
    v = Viewer(tmp_path / "big", size=(480, 320), overlays=set())
    s = render(v)
    assert v.view.scale(v.rects.grid) < 1  # fewer pixels than cells
    grid = state.reshape(g, g)
    r = v.rects.grid
    for x, y in rng.integers((r.left, r.top), (r.right, r.bottom), (200, 2)).tolist():
        cell = v.pixel_to_cell(x, y)
        if cell is not None:  # every pixel shows the state of the cell under it
            assert colour_at(s, (x, y)) == tuple(O.STATE_COLOURS[grid[cell]])


def test_a_recorded_smoke_episode_replays(tmp_path: Path, cli):
    """A real episode from the engine: pegs legal all along and solved at the end, counts agree with metrics."""
    r = cli("run", "smoke", "--seed", "0", "--out", tmp_path / "smoke", "--arch", "cpu")
    assert r.returncode == 0, r.stderr
    v = Viewer(tmp_path / "smoke", size=SIZE)
    data = v.data()
    for tick in range(data.t0, data.t1 + 1, 3):
        v.seek(tick)
        s = render(v)
        pegs = [[] for _ in range(data.pegs)]
        for peg, disk, _ in v.drawn_pegs:
            pegs[peg].append(disk)
        assert all(p == sorted(p, reverse=True) for p in pegs)  # never a larger disk on a smaller one
        assert data.moves.complete(tick) == data.value("moves_complete", tick)
        assert data.moves.prefix(tick) == data.value("prefix", tick)
        state = v.frame().state
        i, j = np.argwhere(state == state.max())[0]
        assert colour_at(s, v.cell_to_pixel(i, j)) == tuple(O.STATE_COLOURS[state[i, j]])
    v.seek(data.t1)
    render(v)
    assert v.episode.manifest["outcome"] == {"0": "complete"}  # so every disk ends on the goal peg
    assert [(p, d) for p, d, _ in v.drawn_pegs] == [(2, d) for d in range(data.disks - 1, -1, -1)]
