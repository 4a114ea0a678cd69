"""`gridhanoi bench` on a tiny configuration: the output's structure and every ratio, never its speed."""
import json

import numpy as np

RATIOS = ("speedup_vs_reference", "speedup_vs_plain", "full_over_kernel", "scheduler_share", "record_overhead",
          "roofline_fraction")


def test_bench_tiny_run_reports_every_ratio(cli, tmp_path):
    out_json, out_png = tmp_path / "bench.json", tmp_path / "bench.png"
    r = cli("bench", "--scenario", "smoke", "--worlds", "1,2", "--grids", "16", "--ticks", "3", "--repeats", "1",
            "--ref-repeats", "1", "--arch", "cpu", "--no-cold-jit", "--no-viewer",
            "--json", out_json, "--plot", out_png)
    assert r.returncode == 0, r.stderr
    assert "Throughput" in r.stdout and "Ratios" in r.stdout and "target:" in r.stdout
    data = json.loads(out_json.read_text())
    assert {"hardware", "settings", "bandwidth", "bytes_per_agent_fields", "configs", "jit", "viewer",
            "summary"} <= data.keys()
    assert data["hardware"]["cpu"] and data["hardware"]["arch"] == "x64"
    assert [(c["worlds"], c["grid"]) for c in data["configs"]] == [(1, 16), (2, 16)]  # G=16, W=1 is shared
    for c in data["configs"]:
        for name in RATIOS:
            assert c["ratios"][name]["value"] > 0, name
        for key in ("taichi_kernel", "taichi_full", "taichi_record", "reference", "plain"):
            assert c["rates"][key]["agent_steps_per_s"]["median"] > 0, key
        assert c["same_work"]["reference"] and c["bit_identical"]["reference"]  # deterministic engine, same ticks
        assert c["backends"]["taichi"]["deterministic"]
    s = data["summary"]
    for name in ("speedup_vs_reference", "speedup_vs_plain", "roofline_fraction", "full_over_kernel",
                 "record_overhead", "scheduler_share_w_min", "scheduler_share_w_max"):
        assert s[name]["value"] > 0, name
    assert s["jit_first_step_s"] > 0
    assert {t["key"] for t in s["targets"]} >= {"speedup", "full_loop", "roofline", "gpu_throughput", "gpu_tick"}
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the tables re-rendered from the JSON, as Markdown for docs/benchmarks.md, without measuring again
    md = tmp_path / "bench.md"
    r = cli("bench", "--from-json", out_json, "--markdown", md)
    assert r.returncode == 0, r.stderr
    assert md.read_text().count("| W=") == 2 * len(data["configs"])


def test_bench_rejects_grid_that_is_not_a_multiple_of_the_tile(cli):
    r = cli("bench", "--scenario", "smoke", "--grids", "15")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "multiples of 2" in r.stderr


def test_plain_numpy_math_is_close_to_the_exact_float32_math():
    from engine.sim import mathref as R
    from engine.bench.plain_numpy import NumpyMath as P

    u = R.uniform(R.agent_key(np.uint32(3), np.arange(100_000, dtype=np.uint32)), 1)
    z = (u - np.float32(0.5)) * np.float32(30)
    assert np.abs(P.log_f32(u) - R.log_f32(u)).max() < 1e-5
    assert np.abs(P.logit(u) - R.logit(u)).max() < 1e-5
    assert np.abs(P.sigmoid(z) - R.sigmoid(z)).max() < 1e-6
    assert np.abs(P.inverse_normal(u) - R.inverse_normal(u)).max() < 1e-4


def test_bench_profile_names_every_loop_of_the_tick(cli, tmp_path):
    out_json = tmp_path / "profile.json"
    r = cli("bench", "--profile", "--scenario", "smoke", "--worlds", "2", "--grids", "16", "--ticks", "2",
            "--arch", "cpu", "--json", out_json)
    assert r.returncode == 0, r.stderr
    profile = json.loads(out_json.read_text())["profile"]
    assert [(p["worlds"], p["grid"]) for p in profile] == [(2, 16), (1, 16)]
    for p in profile:
        tasks = [t for t in p["tasks"] if "advance_worlds" in t["task"]]
        loops = [t for t in tasks if t["task"].endswith(("range_for", "struct_for"))]
        assert loops and all(t["loop"] and not t["loop"].startswith("(unnamed") for t in loops), loops
        assert abs(sum(t["share"] for t in p["tasks"]) - 1) < 1e-6


def test_viewer_bench_measures_a_synthetic_episode(tmp_path):
    from engine.bench.viewer import frame_times, headless, seek_times

    headless()
    import pygame

    from engine.bench.synthetic_episode import synthetic_episode
    from replay.viewer import Viewer

    v = Viewer(synthetic_episode(tmp_path / "ep", 16, 2, 5, 40, 1), size=(640, 400))
    ticks = v.data().frame_ticks
    assert len(ticks) == 40
    assert all(t > 0 for t in frame_times(v, ticks[::10], pygame.Surface((640, 400))))
    assert all(t > 0 for t in seek_times(v, ticks[::10]))
