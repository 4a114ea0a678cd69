"""`gridhanoi bench` on a tiny configuration: the output's structure and every ratio, never its speed."""
import json

import numpy as np

RATIOS = ("speedup_vs_reference", "speedup_vs_plain", "full_over_kernel", "host_share", "record_overhead",
          "roofline_fraction")


def test_bench_tiny_run_reports_every_case_and_ratio(cli, tmp_path):
    out_json, out_png = tmp_path / "bench.json", tmp_path / "bench.png"
    r = cli("bench", "--scenario", "smoke", "--worlds", "1,2", "--grids", "16", "--ticks", "3", "--repeats", "1",
            "--ref-repeats", "1", "--start", "4", "--mid-worlds", "2", "--episode-worlds", "2",
            "--episode-repeats", "1", "--no-million", "--arch", "cpu", "--no-cold-jit", "--no-viewer",
            "--json", out_json, "--plot", out_png)
    assert r.returncode == 0, r.stderr
    assert "Throughput" in r.stdout and "Ratios" in r.stdout and "Whole episodes" in r.stdout and "target:" in r.stdout
    data = json.loads(out_json.read_text())
    assert {"hardware", "settings", "bandwidth", "launch", "bytes_per_agent_fields", "configs", "episodes", "jit",
            "viewer", "summary"} <= data.keys()
    assert data["hardware"]["cpu"] and data["hardware"]["arch"] == "x64"
    # G=16, W=1 is the smoke grid: measured once
    assert [(c["kind"], c["worlds"], c["grid"], c["start"]) for c in data["configs"]] == [
        ("all-open", 1, 16, 0), ("all-open", 2, 16, 0), ("consensus all-open", 2, 16, 0), ("mid-episode", 2, 16, 4)]
    for c in data["configs"]:
        # the plain NumPy baseline runs on verified all-open cases only; every case from tick 0 is also recorded
        skipped = (() if c["kind"] == "all-open" else ("speedup_vs_plain",)) + (
            ("record_overhead",) if c["start"] else ())
        for name in RATIOS:
            if name not in skipped:
                assert c["ratios"][name]["value"] > 0, (c["kind"], name)
        for key in ("taichi_kernel", "taichi_full", "reference") + (("plain",) if c["kind"] == "all-open" else ()) + (
                () if c["start"] else ("taichi_record",)):
            assert c["rates"][key]["active_agent_steps_per_s"]["median"] > 0, key
        b = c["backends"]
        assert c["same_work"]["reference"] and c["bit_identical"]["reference"]  # deterministic engine, same ticks
        assert b["taichi"]["deterministic"]
        assert b["reference"]["active_agent_steps"] == b["taichi"]["active_agent_steps"]
        assert 0 < b["taichi"]["active_agent_steps"] <= b["taichi"]["agent_steps"]
    (e,) = data["episodes"]
    assert e["worlds"] == 2 and e["deterministic"] and e["plain"]["episodes_per_s"]["median"] > 0
    s = data["summary"]
    assert s["all_open"]["w_max"]["speedup_vs_reference"]["value"] > 0
    assert s["mid_episode"]["w_max"]["worlds"] == 2 and s["empty_launch_s"] > 0
    assert {t["key"] for t in s["targets"]} >= {"speedup", "roofline", "one_world", "full_loop_w1", "full_loop",
                                                "gpu_throughput", "gpu_tick", "consensus_cost"}
    assert next(t for t in s["targets"] if t["key"] == "consensus_cost")["value"] > 0
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the tables re-rendered from the JSON, as Markdown for docs/benchmarks.md, without measuring again
    md = tmp_path / "bench.md"
    r = cli("bench", "--from-json", out_json, "--markdown", md)
    assert r.returncode == 0, r.stderr
    assert md.read_text().count("| all-open W=") == 2 * 2 and md.read_text().count("| mid-episode W=2") == 2


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
    # 20 worlds of 16×16 = 5,120 agents: parallel loops; one 16×16 world: the serial small-batch kernel
    r = cli("bench", "--profile", "--scenario", "smoke", "--worlds", "20", "--grids", "16", "--ticks", "2",
            "--start", "3", "--arch", "cpu", "--json", out_json)
    assert r.returncode == 0, r.stderr
    profile = json.loads(out_json.read_text())["profile"]
    assert [(p["kind"], p["worlds"], p["grid"]) for p in profile] == [("all-open", 20, 16), ("all-open", 1, 16),
                                                                       ("mid-episode", 1, 16)]
    for p in profile:
        tasks = [t for t in p["tasks"] if "advance_worlds" in t["task"]]
        loops = [t for t in tasks if t["task"].endswith(("range_for", "struct_for"))]
        if p["worlds"] == 20:
            assert len(loops) >= 4 and all(t["loop"] and not t["loop"].startswith("(unnamed") for t in loops), loops
            assert any(t["loop"].startswith("act:") for t in loops), loops  # named from the comment above it
        else:
            assert not loops and [t["loop"] for t in tasks] == [
                "the whole tick, serial (a small batch's loops run on the launching thread)"], tasks
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


def test_all_open_bench_counts_every_live_agent_of_every_open_tile_and_nothing_else():
    """The headline's unit cannot drift back to counting idle agents: the all-open case's active agent-steps equal a
    count made here from the layout (live agents per task tile) and the ticks at which moves completed — a tile is
    open at tick t of a running world until the tick its move composes, inclusive."""
    from engine.bench.cases import ALL_OPEN
    from engine.bench.simulations import scenario_for
    from engine.bench.suite import Backend

    sc = scenario_for("smoke", None, {**ALL_OPEN, "faults.dead_share": 0.15})
    worlds, ticks = 3, 40
    bk = Backend(sc, worlds, "taichi", "cpu")
    bk.run(0, ticks)
    reported = bk.runs[0]["active_agent_steps"]

    sim, lay = bk.sim, bk.sim.layout
    complete_tick, _ = sim.device.moves_table()
    live_per_tile = np.bincount(lay.tile_of_cell, weights=lay.alive0, minlength=lay.lattice ** 2).astype(int)
    assert 0 < live_per_tile.sum() < sc.grid.size ** 2  # some agents are dead: live agents, not cells, are counted
    end = np.where(sim.running, ticks, sim.end_tick)
    expected = 0
    for w in range(worlds):
        for t in range(int(end[w])):
            open_moves = (complete_tick[w] < 0) | (complete_tick[w] >= t)
            expected += int(live_per_tile[lay.tile_of_move[open_moves]].sum())
    assert (complete_tick >= 0).any()  # tiles closed during the window: the count had something to leave out
    assert reported == expected
    assert reported < bk.runs[0]["agent_steps"]  # completed tiles' agents are still counted among all agent-steps
