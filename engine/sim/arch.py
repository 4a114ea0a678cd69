"""The one place that imports and initialises Taichi (never at import time of any other module)."""
import contextlib
import io
import os
import sys

ARCH_CHOICES = ("auto", "cpu", "cuda", "vulkan")


class ArchError(Exception):
    """The requested Taichi backend is not available here (a user-facing, one-line error)."""
_initialised: str | None = None


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


def init_taichi(arch: str = "auto", debug: bool = False, threads: int | None = None) -> str:
    """Initialise Taichi once and return the arch actually used ("x64", "cuda", "vulkan", ...).

    `threads` caps the CPU backend's threads (e.g. one per worker when several processes share the cores)."""
    global _initialised
    if _initialised is not None:
        return _initialised
    if arch not in ARCH_CHOICES:
        raise ArchError(f"unknown arch {arch!r}; choose one of {', '.join(ARCH_CHOICES)}")
    os.environ.setdefault("TI_SKIP_VERSION_CHECK", "ON")
    os.environ.setdefault("ENABLE_TAICHI_HEADER_PRINT", "False")
    os.environ.setdefault("TI_LOG_LEVEL", "error")
    os.environ.setdefault("TI_ENABLE_PYBUF", "0")  # else Taichi logs "Graphical python shell detected" at import
    cache = os.path.join(os.path.expanduser("~"), ".cache", "gridhanoi", "taichi")
    with _stdout_to_stderr():
        import taichi as ti

        wanted = {
            # ti.gpu would probe OpenGL and can segfault on a headless machine: list the backends explicitly.
            "auto": [ti.cuda, ti.vulkan],
            "cpu": ti.cpu,
            "cuda": ti.cuda,
            "vulkan": ti.vulkan,
        }[arch]
        ti.init(arch=wanted, fast_math=False, offline_cache=True, offline_cache_file_path=cache,
                log_level=ti.ERROR, debug=debug, default_fp=ti.f32, default_ip=ti.i32,
                random_seed=0, cpu_max_num_threads=threads or os.cpu_count() or 1)
        used = ti.lang.impl.current_cfg().arch
        _initialised = str(used).split(".")[-1]
    if arch in ("cuda", "vulkan") and _initialised not in (arch,):
        raise ArchError(f"--arch {arch} was asked for but no {arch} device works here (Taichi fell back to "
                        f"{_initialised}); use --arch auto or --arch cpu")
    return _initialised


def initialised_arch() -> str | None:
    """The arch Taichi was initialised with, or None."""
    return _initialised
