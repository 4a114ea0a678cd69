"""What an exported PNG shows (issue 13, point 11): no interactive hints (play state, "click or drag to seek"),
and, without --tick, the episode's middle tick rather than its final all-green frame."""
import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pytest  # noqa: E402

from replay import draw, export  # noqa: E402
from tests.conftest import run_cli  # noqa: E402


@pytest.fixture(scope="module")
def episode(tmp_path_factory):
    """A complete smoke episode."""
    out = tmp_path_factory.mktemp("export") / "ep"
    r = run_cli("run", "smoke", "--seed", "1", "--out", out, "--arch", "cpu", "--json")
    assert r.returncode in (0, 1), r.stderr
    return out


def drawn_text(monkeypatch, make_viewer) -> tuple[str, object]:
    """Render once, capturing the status lines and the timeline label the viewer draws; return them and the viewer."""
    seen = []
    status, timeline = draw.draw_status, draw.draw_timeline
    monkeypatch.setattr(draw, "draw_status", lambda s, r, t, lines, *a, **k: (
        seen.extend(text for line in lines for text, _ in line), status(s, r, t, lines, *a, **k))[1])
    monkeypatch.setattr(draw, "draw_timeline", lambda s, r, t, t0, t1, tick, density, marks, label, *a, **k: (
        seen.append(label), timeline(s, r, t, t0, t1, tick, density, marks, label, *a, **k))[1])
    viewer = make_viewer()
    import pygame
    viewer.render(pygame.Surface(viewer.size))
    return " | ".join(seen), viewer


def test_an_export_shows_no_interactive_hints(monkeypatch, episode, tmp_path):
    text, viewer = drawn_text(monkeypatch, lambda: export._viewer(episode, None, None, (960, 600), None))
    assert "tick " in text and "moves " in text  # the status is drawn
    assert "paused" not in text and "playing" not in text and "click or drag" not in text
    from replay.viewer import Viewer
    text, _ = drawn_text(monkeypatch, lambda: Viewer(episode, size=(960, 600)))
    assert "paused" in text and "click or drag to seek" in text  # the window keeps them


def test_the_default_png_tick_is_mid_episode(monkeypatch, episode, tmp_path):
    shown = []
    real = export._viewer

    def spy(*args):
        viewer = real(*args)
        original = viewer.seek
        viewer.seek = lambda t: (shown.append(t), original(t))[1]
        return viewer
    monkeypatch.setattr(export, "_viewer", spy)
    export.export_png(episode, tmp_path / "mid.png", size=(640, 400))
    from replay.reader import Episode
    ticks = Episode.open(episode).metrics(["tick"]).column("tick").to_numpy()
    assert shown == [(int(ticks.min()) + int(ticks.max())) // 2] and 0 < shown[0] < int(ticks.max())
