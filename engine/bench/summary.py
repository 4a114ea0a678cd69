"""Headline of `gridhanoi bench`: ratios at the smallest and largest W and grid, and the targets, met or not."""
from __future__ import annotations

TARGETS = (
    # (key, text, ratio name, comparison, threshold, where)
    ("speedup", "Taichi ≥ 10× the NumPy reference at the largest W", "speedup_vs_reference", ">=", 10.0, "max_w"),
    ("full_loop", "full loop ≤ 1.3× kernels-only at the largest W", "full_over_kernel", "<=", 1.3, "max_w"),
    ("full_loop_w1", "full loop ≤ 1.3× kernels-only at W = 1", "full_over_kernel", "<=", 1.3, "min_w"),
    ("roofline", "≥ 10 % of the memory-bandwidth roofline at the largest W", "roofline_fraction", ">=", 0.10,
     "max_w"),
)


def pick(results: list[dict], worlds: int | None = None, grid: int | None = None) -> dict | None:
    """The configuration with these worlds (largest if None) on the base grid, or with this grid at W = 1."""
    if grid is not None:
        rows = [r for r in results if r["grid"] == grid and r["worlds"] == 1]
    else:
        base = results[0]["grid"]
        rows = [r for r in results if r["grid"] == base and (worlds is None or r["worlds"] == worlds)]
        rows = sorted(rows, key=lambda r: r["worlds"])
    return rows[-1] if rows else None


def summarise(out: dict) -> dict:
    """Headline ratios (smallest and largest W, largest grid) and the targets, met or not (never asserted)."""
    res = out["configs"]
    lo, hi = pick(res, min(r["worlds"] for r in res)), pick(res)
    big_grid = max(res, key=lambda r: (r["grid"], -r["worlds"]))
    head = {"worlds_min": lo["worlds"], "worlds_max": hi["worlds"], "grid_max": big_grid["grid"]}
    for name in ("speedup_vs_reference", "speedup_vs_plain", "roofline_fraction", "full_over_kernel",
                 "record_overhead"):
        head[name] = hi["ratios"].get(name)
    head["scheduler_share_w_min"] = lo["ratios"]["scheduler_share"]
    head["scheduler_share_w_max"] = hi["ratios"]["scheduler_share"]
    head["record_overhead_w_min"] = lo["ratios"]["record_overhead"]
    head["speedup_vs_reference_grid_max"] = big_grid["ratios"].get("speedup_vs_reference")
    head["roofline_fraction_grid_max"] = big_grid["ratios"].get("roofline_fraction")
    head["best_agent_steps_per_s"] = max(r["rates"]["taichi_kernel"]["agent_steps_per_s"]["median"] for r in res)
    head["best_full_agent_steps_per_s"] = max(r["rates"]["taichi_full"]["agent_steps_per_s"]["median"] for r in res)
    head["jit_first_step_s"] = out["jit"]["first_step_s"]
    targets = []
    for key, text, name, op, thr, where in TARGETS:
        r = (hi if where == "max_w" else lo)["ratios"].get(name)
        v = None if r is None else r["value"]
        met = None if v is None else (v >= thr if op == ">=" else v <= thr)
        targets.append({"key": key, "target": text, "value": v, "met": met})
    gpu = out["hardware"]["gpu"]
    w1 = pick(res, 1)
    tick_ms = w1["backends"]["taichi"]["kernel_s"]["median"] / w1["ticks"] * 1e3 if w1 else None
    targets.append({"key": "gpu_throughput", "target": "GPU: ≥ 1e9 agent-steps/s",
                    "value": head["best_agent_steps_per_s"] if gpu else None,
                    "met": (head["best_agent_steps_per_s"] >= 1e9) if gpu else None,
                    "note": None if gpu else "no GPU on this machine: not measured"})
    targets.append({"key": "gpu_tick", "target": "GPU: ≤ 0.1 ms per tick, one 64×64 world",
                    "value": tick_ms if gpu else None, "met": (tick_ms <= 0.1) if gpu and tick_ms else None,
                    "note": None if gpu else "no GPU on this machine: not measured"})
    head["targets"] = targets
    return head
