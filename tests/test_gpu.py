"""GPU runs against the CPU, statistically (CUDA forces fast math, so bit-exactness is a CPU-only promise).

Marked `gpu`; skipped with a reason where no CUDA or Vulkan device works."""
import json
import statistics

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.gpu


def paper_runs(arch: str, worlds: int = 32):
    """Per-world results of `gridhanoi run paper` on one arch, or None if that arch is unavailable."""
    r = run_cli("run", "paper", "--worlds", worlds, "--arch", arch, "--json", "--no-record", timeout=600)
    if r.returncode == 2 and arch in r.stderr:
        return None
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)["world_results"]


@pytest.mark.parametrize("arch", ["cuda", "vulkan"])
def test_gpu_matches_cpu_statistically(arch):
    gpu = paper_runs(arch)
    if gpu is None:
        pytest.skip(f"no {arch} device here")
    cpu = paper_runs("cpu")
    for metric in ("ticks", "attempts", "oracle_calls"):
        g = statistics.median(r[metric] for r in gpu)
        c = statistics.median(r[metric] for r in cpu)
        assert abs(g - c) <= 0.1 * c, f"{metric}: GPU median {g} vs CPU median {c}"
    assert all(r["outcome"] == "complete" and r["plan_valid"] for r in gpu)
