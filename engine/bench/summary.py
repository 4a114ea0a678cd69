"""Headline of `gridhanoi bench`: active agent-steps/s of each kind of case, and the targets, met or not."""
from __future__ import annotations


def pick(results: list[dict], kind: str, worlds: int | None = None, grid: int | None = None) -> dict | None:
    """The case of this kind with these worlds (largest if None) and grid (the scenario's if None; else W = 1)."""
    rows = [r for r in results if r["kind"] == kind]
    if not rows:
        return None
    if grid is not None:
        rows = [r for r in rows if r["grid"] == grid and r["worlds"] == 1]
    else:
        base = rows[0]["grid"]
        rows = sorted((r for r in rows if r["grid"] == base and (worlds is None or r["worlds"] == worlds)),
                      key=lambda r: r["worlds"])
    return rows[-1] if rows else None


def value(r: dict | None, *path):
    """r[path...] or None when any step is missing."""
    for key in path:
        if r is None or key not in r:
            return None
        r = r[key]
    return r


def check(text: str, key: str, v, op: str, threshold: float, note: str | None = None) -> dict:
    """One target: its value, and met (True/False) or None when not measured."""
    met = None if v is None else (v >= threshold if op == ">=" else v <= threshold)
    return {"key": key, "target": text, "value": v, "met": met, "note": note}


def summarise(out: dict) -> dict:
    """Headline figures per kind of case and the issue's targets, met or not (never asserted)."""
    res = out["configs"]
    open_hi, open_lo = pick(res, "all-open"), pick(res, "all-open", 1)
    big = max((r for r in res if r["kind"] == "all-open" and r["worlds"] == 1), key=lambda r: r["grid"], default=None)
    mid_hi, mid_lo = pick(res, "mid-episode"), pick(res, "mid-episode", 1)
    million = pick(res, "million")
    head = {"all_open": {}, "mid_episode": {}}
    for name, r in (("w_max", open_hi), ("w_1", open_lo), ("grid_max", big)):
        head["all_open"][name] = None if r is None else {
            "worlds": r["worlds"], "grid": r["grid"],
            "active_agent_steps_per_s": value(r, "rates", "taichi_kernel", "active_agent_steps_per_s", "median"),
            "full_active_agent_steps_per_s": value(r, "rates", "taichi_full", "active_agent_steps_per_s", "median"),
            "speedup_vs_reference": r["ratios"].get("speedup_vs_reference"),
            "speedup_vs_plain": r["ratios"].get("speedup_vs_plain"),
            "roofline_fraction": r["ratios"].get("roofline_fraction"),
            "full_over_kernel": r["ratios"].get("full_over_kernel")}
    for name, r in (("w_max", mid_hi), ("w_1", mid_lo), ("million", million)):
        head["mid_episode"][name] = None if r is None else {
            "scenario": r["scenario"], "worlds": r["worlds"], "grid": r["grid"], "start": r["start"],
            "ticks": r["ticks"], "active_share": r.get("active_share"),
            "active_agent_steps_per_s": value(r, "rates", "taichi_kernel", "active_agent_steps_per_s", "median"),
            "agent_steps_per_s": value(r, "rates", "taichi_kernel", "agent_steps_per_s", "median"),
            "full_ms_per_tick": value(r, "rates", "taichi_full", "ms_per_tick", "median"),
            "kernel_ms_per_tick": value(r, "rates", "taichi_kernel", "ms_per_tick", "median"),
            "speedup_vs_reference": r["ratios"].get("speedup_vs_reference"),
            "roofline_fraction": r["ratios"].get("roofline_fraction"),
            "full_over_kernel": r["ratios"].get("full_over_kernel")}
    head["episodes"] = [{"worlds": e["worlds"], "ticks": e["ticks"],
                         "ticks_per_s": value(e, "plain", "ticks_per_s", "median"),
                         "episodes_per_s": value(e, "plain", "episodes_per_s", "median"),
                         "recorded_episodes_per_s": value(e, "recorded", "episodes_per_s", "median")}
                        for e in out.get("episodes", [])]
    launch_s = value(out, "launch", "empty_launch_s", "median")
    head["empty_launch_s"] = launch_s
    head["jit_first_step_s"] = out["jit"]["first_step_s"]
    w1_tick_ms = value(head, "mid_episode", "w_1", "full_ms_per_tick")
    wmax = value(open_hi, "worlds")
    ratio_value = lambda r, name: value(r, "ratios", name, "value")  # noqa: E731
    targets = [
        check(f"all-open W={wmax}: Taichi ≥ 25× the NumPy reference", "speedup",
              ratio_value(open_hi, "speedup_vs_reference"), ">=", 25.0),
        check(f"all-open W={wmax}: ≥ 10 % of the memory-bandwidth roofline", "roofline",
              ratio_value(open_hi, "roofline_fraction"), ">=", 0.10),
        check("mid-episode W=1: a whole tick (full loop, no recording) ≤ 10× an empty kernel launch", "one_world",
              w1_tick_ms / 1e3 / launch_s if w1_tick_ms and launch_s else None, "<=", 10.0),
        check("mid-episode W=1: full loop ≤ 1.3× kernels", "full_loop_w1", ratio_value(mid_lo, "full_over_kernel"),
              "<=", 1.3),
        check(f"mid-episode W={value(mid_hi, 'worlds') or '(largest, not measured)'}: full loop ≤ 1.1× kernels",
              "full_loop",
              ratio_value(mid_hi, "full_over_kernel"), "<=", 1.1),
    ]
    gpu = out["hardware"]["gpu"]
    best = max((value(r, "rates", "taichi_kernel", "active_agent_steps_per_s", "median") or 0 for r in res), default=0)
    kernel_w1 = value(head, "mid_episode", "w_1", "kernel_ms_per_tick")
    no_gpu = None if gpu else "no GPU on this machine: not measured"
    targets.append(check("GPU: ≥ 1e9 active agent-steps/s", "gpu_throughput", best if gpu else None, ">=", 1e9, no_gpu))
    targets.append(check("GPU: ≤ 0.1 ms per tick, one 64×64 world", "gpu_tick", kernel_w1 if gpu else None, "<=", 0.1,
                         no_gpu))
    # consensus mode's cost: kernel time per active agent-step against verified mode's, same W, every tile open
    consensus = pick(res, "consensus all-open")
    verified = pick(res, "all-open", value(consensus, "worlds")) if consensus else None
    kernel_rate = lambda r: value(r, "rates", "taichi_kernel", "active_agent_steps_per_s", "median")  # noqa: E731
    cost = (kernel_rate(verified) / kernel_rate(consensus)
            if kernel_rate(verified) and kernel_rate(consensus) else None)
    targets.append(check(f"consensus all-open W={value(consensus, 'worlds')}: ≤ 1.3× the verified kernel time per "
                         "active agent-step", "consensus_cost", cost, "<=", 1.3))
    head["best_active_agent_steps_per_s"] = best
    head["targets"] = targets
    return head
