"""Vulkan device choice (engine/sim/devices.py, engine/sim/arch.py): `--arch auto` never takes a CPU-type device,
`--arch vulkan` does when nothing better exists, and the choice is pinned for Taichi (issue 12)."""
import pytest

from engine.sim import arch, devices
from engine.sim.devices import VulkanDevice

LLVMPIPE = VulkanDevice(0, "llvmpipe (LLVM 15.0.6, 256 bits)", 4)
IGPU = VulkanDevice(1, "Intel(R) UHD Graphics 620", 1)
DGPU = VulkanDevice(2, "NVIDIA GeForce RTX 4090", 2)


@pytest.fixture
def listed(monkeypatch):
    """Pretend the Vulkan loader lists the given devices; TI_VISIBLE_DEVICE starts unset."""
    monkeypatch.delenv("TI_VISIBLE_DEVICE", raising=False)

    def set_devices(*found):
        monkeypatch.setattr(devices, "_devices", list(found))

    return set_devices


def test_auto_skips_a_software_device_and_vulkan_takes_it(listed):
    listed(LLVMPIPE)
    assert devices.best_vulkan(allow_cpu=False) is None
    assert arch._pick_vulkan("auto") is None  # so auto asks Taichi for CUDA only, then falls back to x64
    assert arch._pick_vulkan("vulkan") == LLVMPIPE


def test_a_real_gpu_wins_and_is_pinned_for_taichi(listed):
    import os

    listed(LLVMPIPE, IGPU, DGPU)
    assert arch._pick_vulkan("auto") == DGPU
    assert os.environ["TI_VISIBLE_DEVICE"] == "2"
    listed(LLVMPIPE, IGPU)
    assert arch._pick_vulkan("vulkan") == IGPU  # a GPU before the software device, even when asked for vulkan


def test_a_user_pinned_software_device_is_not_taken_by_auto(listed, monkeypatch):
    listed(LLVMPIPE, DGPU)
    monkeypatch.setenv("TI_VISIBLE_DEVICE", "0")
    assert arch._pick_vulkan("auto") is None
    assert arch._pick_vulkan("vulkan") == LLVMPIPE


def test_the_probe_reads_the_real_loader_without_crashing_us():
    found = devices.vulkan_devices()  # empty where no loader or driver is installed
    assert all(d.kind in devices.DEVICE_TYPES.values() and d.name for d in found)


def test_a_second_init_with_another_arch_is_refused(taichi_cpu):
    """Taichi cannot switch backends in one process: asking for another arch is an error, not the first arch."""
    from engine.sim.arch import ArchError, init_taichi

    assert init_taichi("cpu") == taichi_cpu and init_taichi("auto") == taichi_cpu
    for other in ("cuda", "vulkan"):
        with pytest.raises(ArchError, match=f"--arch {other} was asked for, but this process already runs"):
            init_taichi(other)
