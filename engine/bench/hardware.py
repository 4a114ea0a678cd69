"""Facts about what `gridhanoi bench` measured on: CPU, caches, memory, load, library versions, source commit."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path


def hardware(arch: str) -> dict:
    """CPU model, cores, memory, Taichi arch and library versions."""
    from engine.sim.arch import jit_mode
    from engine.sim.recording import cpu_model, gpu_name, versions

    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = int(next(line for line in f if line.startswith("MemTotal:")).split()[1]) * 1024
    except (OSError, StopIteration):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu_model(), "logical_cores": os.cpu_count(), "usable_cores": usable, "memory_bytes": mem,
            "caches": cpu_caches(), "arch": arch, "jit": jit_mode(), "gpu": arch in ("cuda", "vulkan"),
            "gpu_name": gpu_name() if arch == "cuda" else None, **versions()}


def cpu_caches() -> dict:
    """Data cache sizes of CPU 0 from sysfs, e.g. {"L1d": "32K", "L2": "1024K", "L3": "32768K"}."""
    out = {}
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level, kind, size = ((index / n).read_text().strip() for n in ("level", "type", "size"))
        except OSError:
            continue
        if kind != "Instruction":
            out[f"L{level}" + ("d" if kind == "Data" else "")] = size
    return out


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages: other processes on the machine make timings noisy."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def source_state() -> dict:
    """The git commit measured, and which engine files differ from it (other engineers work in the same tree)."""
    from engine.sim.recording import git_commit

    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--", "kernels", "engine"], capture_output=True,
                             text=True, timeout=10, cwd=root).stdout
        changed = sorted(line[3:] for line in out.splitlines() if line[:2].strip() and not line.startswith("??"))
    except (OSError, subprocess.SubprocessError):
        changed = None
    return {"git_commit": git_commit(), "modified": changed}
