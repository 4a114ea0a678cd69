"""Viewer frame and seek times for `gridhanoi bench`, measured with the viewer's own helpers (docs/viewer_bench.py)."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from engine.bench.stats import spread


def viewer_timings(quick: bool = False) -> dict:
    """Viewer frame time (seek + render of a new frame) and seek time (decode one frame), or n/a without a viewer."""
    script = Path(__file__).resolve().parent.parent / "docs" / "viewer_bench.py"
    if not script.is_file():
        return {"status": "n/a (viewer not built)"}
    import importlib.util

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # off-screen rendering, as in the viewer's own bench
    try:
        spec = importlib.util.spec_from_file_location("viewer_bench", script)
        vb = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(vb)
        if not all(hasattr(vb, n) for n in ("synthetic_episode", "frame_times", "Viewer", "DEFAULT_SIZE")):
            return {"status": "n/a (docs/viewer_bench.py has no measuring functions)"}
        n = 30 if quick else 60
        out = {"status": "measured", "window": list(vb.DEFAULT_SIZE), "samples": n}
        surface = vb.pygame.Surface(vb.DEFAULT_SIZE)
        with tempfile.TemporaryDirectory(prefix="gridhanoi-viewer-") as tmp:
            # synthetic_episode(folder, size, tile, disks, ticks, frame_every)
            big_ticks = 256 if quick else 512
            for key, args in (("frame_64", (64, 4, 8, 600, 1)), ("frame_1024", (1024, 16, 12, big_ticks, 16))):
                v = vb.Viewer(vb.synthetic_episode(Path(tmp) / key, *args), size=vb.DEFAULT_SIZE)
                ticks = v.data().frame_ticks
                play = ticks[np.linspace(0, len(ticks) - 1, n).astype(int)]
                vb.frame_times(v, play[:3], surface)  # fonts and samplings warm
                out[f"{key}_s"] = spread(vb.frame_times(v, play, surface))
            long_ticks = 2000 if quick else 10_000
            v = vb.Viewer(vb.synthetic_episode(Path(tmp) / "long", 64, 4, 8, long_ticks, 1), size=vb.DEFAULT_SIZE)
            data, decode = v.data(), []
            for t in np.random.default_rng(1).integers(data.t0, data.t1 + 1, n):
                t0 = time.perf_counter()
                v.seek(int(t))
                v.frame()
                decode.append(time.perf_counter() - t0)
            out["seek_s"], out["seek_episode_ticks"] = spread(decode), long_ticks
        return out
    except Exception as err:  # the viewer is another module's work in progress: report, never fail the bench
        return {"status": f"n/a (viewer bench failed: {type(err).__name__}: {err})"}
