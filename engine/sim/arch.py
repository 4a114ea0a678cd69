"""The one place that imports and initialises Taichi (never at import time of any other module).

`--arch auto` tries CUDA, then a real Vulkan GPU, else Taichi's CPU backend: never a CPU-type Vulkan device
(llvmpipe, lavapipe, SwiftShader), which `--arch vulkan` still accepts (docs/gpu.md)."""
import contextlib
import io
import os
import sys

ARCH_CHOICES = ("auto", "cpu", "cuda", "vulkan")


class ArchError(Exception):
    """The requested Taichi backend is not available here (a user-facing, one-line error)."""
_initialised: str | None = None
_vulkan_name: str | None = None  # the Vulkan device Taichi was pointed at, when it runs on Vulkan


@contextlib.contextmanager
def _stdout_to_stderr():
    """Point file descriptor 1 at stderr so Taichi's banner never reaches our stdout (JSON output stays clean)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(io.StringIO()):  # Python-level banner lines ("Starting on arch=…")
            yield
    finally:
        sys.stdout.flush()
        _flush_c_stdio()  # Taichi's C++ side buffers its banner: flush it while fd 1 still points at stderr
        os.dup2(saved, 1)
        os.close(saved)


def _flush_c_stdio():
    """fflush(NULL): push out whatever the C runtime still buffers for stdout."""
    try:
        import ctypes
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass


JIT_MODES = ("optimized", "fast")


def jit_mode() -> str:
    """How kernels are compiled: "optimized" (the default) or "fast" (env GRIDHANOI_JIT=fast: Taichi's own IR
    optimisation passes off — a new kernel shape compiles ~2.5× faster and runs ~10 % slower, with the same results;
    the test suite, which compiles ~100 shapes, uses it). Anything else is refused."""
    mode = os.environ.get("GRIDHANOI_JIT", "optimized")
    if mode not in JIT_MODES:
        raise ArchError(f"GRIDHANOI_JIT={mode!r}: use one of {', '.join(JIT_MODES)} (or leave it unset)")
    return mode


def init_taichi(arch: str = "auto", debug: bool = False, threads: int | None = None) -> str:
    """Initialise Taichi once and return the arch actually used ("x64", "cuda", "vulkan", ...).

    `threads` caps the CPU backend's threads (e.g. one per worker when several processes share the cores)."""
    global _initialised
    if _initialised is not None:
        if not _same_arch(arch, _initialised):  # Taichi cannot switch backends within one process
            raise ArchError(f"--arch {arch} was asked for, but this process already runs Taichi on {_initialised}; "
                            f"run it in a new process or use --arch auto")
        return _initialised
    if arch not in ARCH_CHOICES:
        raise ArchError(f"unknown arch {arch!r}; choose one of {', '.join(ARCH_CHOICES)}")
    os.environ.setdefault("TI_SKIP_VERSION_CHECK", "ON")
    os.environ.setdefault("ENABLE_TAICHI_HEADER_PRINT", "False")
    os.environ.setdefault("TI_LOG_LEVEL", "error")
    os.environ.setdefault("TI_ENABLE_PYBUF", "0")  # else Taichi logs "Graphical python shell detected" at import
    cache = os.path.join(os.path.expanduser("~"), ".cache", "gridhanoi", "taichi")
    vulkan = _pick_vulkan(arch)
    with _stdout_to_stderr():
        import taichi as ti

        wanted = {
            # ti.gpu would probe OpenGL and can segfault on a headless machine: list the backends explicitly.
            "auto": [ti.cuda, ti.vulkan] if vulkan is not None else [ti.cuda],
            "cpu": ti.cpu,
            "cuda": ti.cuda,
            "vulkan": ti.vulkan,
        }[arch]
        ti.init(arch=wanted, fast_math=False, offline_cache=True, offline_cache_file_path=cache,
                log_level=ti.ERROR, debug=debug, default_fp=ti.f32, default_ip=ti.i32,
                random_seed=0, cpu_max_num_threads=threads or os.cpu_count() or 1,
                advanced_optimization=jit_mode() == "optimized")
        used = ti.lang.impl.current_cfg().arch
        _initialised = str(used).split(".")[-1]
    global _vulkan_name
    _vulkan_name = vulkan.name if vulkan is not None and _initialised == "vulkan" else None
    if arch in ("cuda", "vulkan") and _initialised not in (arch,):
        raise ArchError(f"--arch {arch} was asked for but no {arch} device works here (Taichi fell back to "
                        f"{_initialised}); use --arch auto or --arch cpu")
    return _initialised


def _same_arch(asked: str, used: str) -> bool:
    """Does a request for `asked` ("auto", "cpu", "cuda", "vulkan") accept the arch Taichi already runs on?"""
    return asked == "auto" or asked == used or (asked == "cpu" and used in ("x64", "arm64"))


def _pick_vulkan(arch: str):
    """The Vulkan device `arch` may run on (auto: a GPU only; vulkan: any, GPUs first), pinned for Taichi through
    TI_VISIBLE_DEVICE unless the user pinned one; None where Vulkan must not (or cannot) be used."""
    if arch not in ("auto", "vulkan"):
        return None
    from engine.sim.devices import best_vulkan, vulkan_devices

    pinned = os.environ.get("TI_VISIBLE_DEVICE", "")
    devices = vulkan_devices()
    if pinned.isdigit() and int(pinned) < len(devices):
        chosen = devices[int(pinned)]
        return chosen if arch == "vulkan" or not chosen.is_cpu else None
    chosen = best_vulkan(allow_cpu=arch == "vulkan")
    if chosen is not None and devices:
        os.environ["TI_VISIBLE_DEVICE"] = str(chosen.index)
    return chosen


def device_label() -> str | None:
    """The device the run uses, as "<arch>: <device>" (e.g. "vulkan: llvmpipe (LLVM 15.0.6, 256 bits)",
    "cuda: NVIDIA H200", "x64: AMD EPYC 7B13"), or None before Taichi is initialised."""
    if _initialised is None:
        return None
    from engine.sim.devices import cpu_model, gpu_name

    name = _vulkan_name if _initialised == "vulkan" else gpu_name() if _initialised == "cuda" else cpu_model()
    return f"{_initialised}: {name}" if name else _initialised


def vulkan_device_name() -> str | None:
    """The Vulkan device Taichi runs on (None when it does not run on Vulkan)."""
    return _vulkan_name


def initialised_arch() -> str | None:
    """The arch Taichi was initialised with, or None."""
    return _initialised
