"""Shared fixtures: Taichi initialised once per session on the CPU (first kernel calls JIT-compile)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
# Kernels compile with Taichi's IR optimisations off (engine.sim.arch.jit_mode): the suite compiles ~100 kernel
# shapes, ~2.5× faster so; results are the same (tests/test_jit_modes.py checks it against the optimized JIT).
os.environ.setdefault("GRIDHANOI_JIT", "fast")


@pytest.fixture(scope="session")
def taichi_cpu():
    """Initialise Taichi on the CPU once for the whole test session."""
    from engine.sim.arch import init_taichi

    return init_taichi("cpu")


def run_cli(*args, timeout=300, env=None, cwd=None):
    """Run `python -m engine.cli ARGS` in a subprocess; return the CompletedProcess (text mode)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "engine.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=cwd or ROOT)


def record_smoke(folder: Path, seed: int) -> Path:
    """Record a complete smoke episode (CPU) into `folder`/ep and return its path."""
    out = folder / "ep"
    r = run_cli("run", "smoke", "--seed", seed, "--out", out, "--arch", "cpu", "--json")
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture
def cli():
    """The `run_cli` helper as a fixture."""
    return run_cli


def pytest_terminal_summary(terminalreporter):
    """Say in one line how the GPU tests (marker gpu) ended, so a CI log shows that they ran, not only that none failed."""
    outcomes = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if "gpu" in getattr(report, "keywords", {}) and report.when in ("call", "setup"):
                if outcome != "passed" or report.when == "call":
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
    if outcomes:
        text = ", ".join(f"{n} {o}" for o, n in outcomes.items())
        terminalreporter.write_line(f"GPU tests (marker gpu): {text}")
