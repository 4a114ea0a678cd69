"""Where the kernel's time goes (`gridhanoi bench --profile`): Taichi's kernel profiler, per offloaded loop."""
from __future__ import annotations

import inspect
import re

from engine.bench.suite import TAICHI_WARMUP, make_sim

HOST_TASKS = (("tensor_to_ext_arr", "host readback: field.to_numpy()"),
              ("ext_arr_to_tensor", "host upload: field.from_numpy()"))


def offload_labels() -> list[str]:
    """The top-level loops of `advance_worlds` in source order, each named by its block comment and header."""
    # Taichi offloads each top-level loop as one task; a label is the first words of the comment above it
    from kernels.worlds import WorldsDevice

    lines = inspect.getsource(WorldsDevice.advance_worlds).splitlines()
    body = next(i for i, ln in enumerate(lines) if ln.rstrip().endswith("):")) + 1  # after the (multi-line) def
    first = next(ln for ln in lines[body:] if ln.strip())
    indent = " " * (len(first) - len(first.lstrip()))
    labels, comment, in_comment = [], "", False
    for ln in lines:
        if not ln.startswith(indent) or ln.startswith(indent + " "):
            continue  # only the kernel body's top level
        text = ln.strip()
        if text.startswith("#") and not in_comment:
            comment = re.split(r"[:(,.;]", text.lstrip("# "))[0].strip()
        elif text.startswith("for "):
            labels.append(f"{comment}: {text}" if comment else text)
        in_comment = text.startswith("#")
    return labels


def profile_offloads(scenario, worlds: int, ticks: int, arch: str = "cpu") -> list[dict]:
    """Per offloaded task time over `ticks` ticks, with Taichi's kernel profiler (TI_KERNEL_PROFILER=1 at init)."""
    import taichi as ti
    from taichi.lang import impl

    sim = make_sim(scenario, worlds, "taichi", arch)
    if not impl.current_cfg().kernel_profiler:
        raise RuntimeError("the kernel profiler is off: set TI_KERNEL_PROFILER=1 before Taichi is initialised")
    for _ in range(TAICHI_WARMUP):
        sim.step()
    sim.reset()
    ti.sync()
    ti.profiler.clear_kernel_profiler_info()
    for _ in range(ticks):
        sim.step()
    ti.sync()
    prog = impl.get_runtime().prog
    prog.sync_kernel_profiler()
    prog.update_kernel_profiler()
    totals: dict[str, list] = {}
    for rec in prog.get_kernel_profiler_records():
        totals.setdefault(rec.name, []).append(rec.kernel_time)
    labels = offload_labels()
    grand = sum(sum(v) for v in totals.values())
    rows = []
    for name, times in totals.items():
        label = next((text for prefix, text in HOST_TASKS if name.startswith(prefix)), "")
        if name.startswith("advance_worlds_"):
            idx = int(name.rsplit("_kernel_", 1)[1].split("_")[0])
            label = labels[idx] if idx < len(labels) else ""
        rows.append({"task": name, "loop": label, "ms_per_tick": sum(times) / ticks,
                     "share": sum(times) / grand, "launches": len(times)})
    return sorted(rows, key=lambda r: -r["ms_per_tick"])
