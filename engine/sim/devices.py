"""Which Vulkan devices this machine has, and what to call the device a run used (docs/gpu.md).

`--arch auto` must never pick a CPU-type Vulkan device (Mesa's llvmpipe/lavapipe, SwiftShader): it is slower than
Taichi's own x64 backend. Taichi does not expose the Vulkan device type, so we ask the Vulkan loader directly —
vkEnumeratePhysicalDevices + vkGetPhysicalDeviceProperties through ctypes — in a child process, because a broken
driver can crash whoever loads it.
"""
from __future__ import annotations

import json
import platform
import subprocess
import sys
from dataclasses import dataclass

# VkPhysicalDeviceType
DEVICE_TYPES = {0: "other", 1: "integrated GPU", 2: "discrete GPU", 3: "virtual GPU", 4: "CPU"}
CPU_TYPE = 4
# Taichi's own preference among Vulkan devices is by score; ours, made explicit through TI_VISIBLE_DEVICE, is this
PREFERENCE = {2: 0, 1: 1, 3: 2, 0: 3, 4: 4}

PROBE = r"""
import ctypes, json, sys
try:
    vk = ctypes.CDLL("libvulkan.so.1")
except OSError:
    print("[]"); sys.exit(0)

class InstanceCreateInfo(ctypes.Structure):
    _fields_ = [("sType", ctypes.c_int), ("pNext", ctypes.c_void_p), ("flags", ctypes.c_uint32),
                ("pApplicationInfo", ctypes.c_void_p), ("enabledLayerCount", ctypes.c_uint32),
                ("ppEnabledLayerNames", ctypes.c_void_p), ("enabledExtensionCount", ctypes.c_uint32),
                ("ppEnabledExtensionNames", ctypes.c_void_p)]

info = InstanceCreateInfo(sType=1)  # VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO
instance = ctypes.c_void_p()
if vk.vkCreateInstance(ctypes.byref(info), None, ctypes.byref(instance)) != 0:
    print("[]"); sys.exit(0)
count = ctypes.c_uint32(0)
vk.vkEnumeratePhysicalDevices(instance, ctypes.byref(count), None)
handles = (ctypes.c_void_p * count.value)()
vk.vkEnumeratePhysicalDevices(instance, ctypes.byref(count), handles)
out = []
for i in range(count.value):
    props = ctypes.create_string_buffer(4096)  # VkPhysicalDeviceProperties is 824 bytes
    vk.vkGetPhysicalDeviceProperties(ctypes.c_void_p(handles[i]), props)
    device_type = int.from_bytes(props.raw[16:20], "little")  # after apiVersion, driverVersion, vendorID, deviceID
    name = props.raw[20:276].split(b"\0", 1)[0].decode("utf-8", "replace")
    out.append({"index": i, "name": name, "type": device_type})
vk.vkDestroyInstance(instance, None)
print(json.dumps(out))
"""


@dataclass(frozen=True)
class VulkanDevice:
    """One Vulkan physical device as the loader lists it."""

    index: int
    name: str
    type: int

    @property
    def is_cpu(self) -> bool:
        """A software rasteriser running on the CPU (llvmpipe, lavapipe, SwiftShader)."""
        return self.type == CPU_TYPE

    @property
    def kind(self) -> str:
        """The device type in words."""
        return DEVICE_TYPES.get(self.type, "other")


_devices: list[VulkanDevice] | None = None


def vulkan_devices() -> list[VulkanDevice]:
    """Every Vulkan device the loader lists (empty without a loader or driver, or if the probe crashes)."""
    global _devices
    if _devices is None:
        try:
            out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=30)
            rows = json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else []
        except (OSError, subprocess.SubprocessError, ValueError):
            rows = []
        _devices = [VulkanDevice(int(r["index"]), str(r["name"]), int(r["type"])) for r in rows]
    return _devices


def best_vulkan(allow_cpu: bool) -> VulkanDevice | None:
    """The Vulkan device to run on: discrete before integrated before the rest; CPU-type ones only if allowed."""
    usable = [d for d in vulkan_devices() if allow_cpu or not d.is_cpu]
    return min(usable, key=lambda d: (PREFERENCE.get(d.type, 3), d.index)) if usable else None


def gpu_name() -> str | None:
    """The first NVIDIA GPU's name (nvidia-smi), or None where there is none."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (else the platform's processor string)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return cpu
