"""JIT cost for `gridhanoi bench`: Taichi build and first step in fresh processes, cold and warm offline cache."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

COLD_JIT_CODE = """
import json, time
t0 = time.perf_counter()
from engine.sim.arch import init_taichi
arch = init_taichi({arch!r})
from engine.sim.simulation import Simulation
from scenarios.loader import load_scenario
t1 = time.perf_counter()
sim = Simulation(load_scenario({scenario!r}), 0, 1, arch=arch)
t2 = time.perf_counter()
sim.step()
import taichi as ti
ti.sync()
t3 = time.perf_counter()
print(json.dumps({{"init_s": t1 - t0, "build_s": t2 - t1, "first_step_s": t3 - t2}}))
"""


def taichi_cache_entries() -> int:
    """Files in gridhanoi's Taichi offline cache (engine/sim/arch.py)."""
    cache = Path.home() / ".cache" / "gridhanoi" / "taichi"
    return sum(1 for _ in cache.rglob("*")) if cache.is_dir() else 0


def fresh_process_jit(scenario: str, arch: str) -> dict:
    """Build and first step in fresh processes with a private offline cache: empty (cold), then filled (warm)."""
    root = Path(__file__).resolve().parent.parent
    out = {}
    with tempfile.TemporaryDirectory(prefix="gridhanoi-jit-") as home:  # HOME moves engine/sim/arch.py's cache
        env = {**os.environ, "HOME": home, "PYTHONPATH": str(root)}
        for key in ("cold", "warm"):
            run = subprocess.run([sys.executable, "-c", COLD_JIT_CODE.format(arch=arch, scenario=scenario)],
                                 capture_output=True, text=True, env=env, cwd=root, timeout=300)
            if run.returncode != 0:
                return {**out, key: {"error": (run.stderr.strip().splitlines() or ["failed"])[-1]}}
            out[key] = json.loads(run.stdout.strip().splitlines()[-1])
    return out
