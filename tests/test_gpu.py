"""The GPU path against the CPU (issue 12, docs/gpu.md).

Vulkan — in CI the software device llvmpipe (`.ci/run` installs mesa-vulkan-drivers) — must give the CPU's episodes:
the same per-world results and the same decisions and counts tick for tick (integer statistics, our own
transcendentals, no fast math). The exceptions are the fixed-point sums of float diagnostics (Σ NLL, Σ Brier, Σ p̂):
the driver may fuse a multiply-add inside log/exp, which moves such a sum by a unit (2⁻¹⁶) now and then; they may
differ by at most one unit per attempt. CUDA, which no CI machine has, is compared statistically.
Taichi initialises once per process, so each GPU arch runs in a child process (tests/gpu_runs.py); the CPU side
runs here. Marked `gpu`; skipped, with the reason, where no device of the arch works.
"""
import json
import statistics

import pytest

from tests.conftest import run_cli
from tests.gpu_runs import NO_DEVICE, run, run_in_child

pytestmark = pytest.mark.gpu

# smoke and four-pegs at W = 1, 2, 5 (1 and 5 leave the last workgroup part-filled: docs/gpu.md), paper at W = 1
MATRIX = [f"{name}:1:{w}" for name in ("smoke", "four-pegs") for w in (1, 2, 5)] + [f"paper:{s}:1" for s in (0, 1, 2)]


def no_vulkan_reason() -> str | None:
    """Why Vulkan cannot run here (None when a device is listed)."""
    from engine.sim.devices import vulkan_devices

    if not vulkan_devices():
        return ("no Vulkan device: the Vulkan loader lists none (install mesa-vulkan-drivers for the software "
                "device llvmpipe, as .ci/run does, or a GPU driver)")
    return None


@pytest.fixture(scope="module")
def gpu_results(request):
    """Per arch: the MATRIX runs from a child process, by run spec (skips where the arch has no device)."""
    cache = {}

    def get(arch):
        if arch not in cache:
            reason = no_vulkan_reason() if arch == "vulkan" else None
            if reason is None:
                code, result = run_in_child(arch, MATRIX)
                if code == NO_DEVICE:
                    reason = f"no {arch} device: {result.strip().splitlines()[-1]}"
                else:
                    assert code == 0, result[-3000:]
                    cache[arch] = result
            if reason is not None:
                cache[arch] = reason
        if isinstance(cache[arch], str):
            pytest.skip(cache[arch])
        return cache[arch]

    return get


@pytest.fixture(scope="module")
def cpu_results(taichi_cpu):
    """Getter of one MATRIX run on Taichi's CPU backend, in this process (run only when a GPU run needs it)."""
    cache = {}

    def get(spec):
        if spec not in cache:
            name, seed, worlds = spec.split(":")
            cache[spec] = run("cpu", name, int(seed), int(worlds))
        return cache[spec]

    return get


@pytest.mark.parametrize("spec", MATRIX)
def test_vulkan_equals_cpu_tick_for_tick(gpu_results, cpu_results, spec):
    gpu, cpu = gpu_results("vulkan")[spec], cpu_results(spec)
    assert gpu["arch"] == "vulkan" and gpu["device"].startswith("vulkan: ")
    assert gpu["worlds"] == cpu["worlds"], f"{spec} on {gpu['device']}: per-world results differ from the CPU"
    assert gpu["ticks_digest"] == cpu["ticks_digest"], f"{spec} on {gpu['device']}: some tick's statistics differ"
    for w, (g, c) in enumerate(zip(gpu["fx_sums"], cpu["fx_sums"])):  # Σ NLL, Σ Brier, Σ p̂, reliability Σ p̂
        assert all(abs(a - b) <= cpu["worlds"][w]["attempts"] for a, b in zip(g, c)), f"{spec} world {w}: {g} vs {c}"
    assert all(r["outcome"] == "complete" for r in gpu["worlds"])


def test_cuda_matches_cpu_statistically(gpu_results, cpu_results):
    gpu = gpu_results("cuda")
    runs = [spec for spec in MATRIX if spec.startswith("paper:")]
    for metric in ("ticks", "attempts", "oracle_calls"):
        g = statistics.median(gpu[s]["worlds"][0][metric] for s in runs)
        c = statistics.median(cpu_results(s)["worlds"][0][metric] for s in runs)
        assert abs(g - c) <= 0.1 * c, f"{metric}: CUDA median {g} vs CPU median {c}"
    assert all(r["outcome"] == "complete" for s in MATRIX for r in gpu[s]["worlds"])


def test_vulkan_recording_passes_verify_resimulate(tmp_path):
    reason = no_vulkan_reason()
    if reason:
        pytest.skip(reason)
    out = tmp_path / "ep"
    r = run_cli("run", "smoke", "--seed", "2", "--arch", "vulkan", "--out", out)
    assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["arch"] == "vulkan" and "vulkan: " in manifest["device"], manifest["device"]
    r = run_cli("verify", out, "--resimulate")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "identical to a fresh run" in r.stdout


def test_auto_never_picks_a_cpu_type_vulkan_device():
    from engine.sim.devices import vulkan_devices

    if not any(d.is_cpu for d in vulkan_devices()) or any(not d.is_cpu for d in vulkan_devices()):
        pytest.skip("needs a machine whose only Vulkan devices are CPU-type (llvmpipe/lavapipe/SwiftShader)")
    r = run_cli("run", "smoke", "--worlds", "1", "--arch", "auto", "--json", "--no-record")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["arch"] in ("x64", "arm64", "cuda"), summary["device"]
