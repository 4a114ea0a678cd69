"""A cheap way to launch the same Taichi kernel every tick (the CPU backends).

Calling a Taichi kernel from Python walks its arguments through Taichi's generic marshalling on every call: about
30 µs per NumPy-array argument and a few µs per scalar on the development CPU, against ~3 µs for the launch itself —
for the tick kernel's ten arguments that is more than a 64×64 world's whole tick. `PreparedLaunch` compiles the
kernel once through Taichi's normal path (same compiled code, same offline cache), keeps one launch context, and on
each call only writes the arguments into it: scalars as they are, NumPy arrays as pointer and shape after checking
their dtype, rank and contiguity (what Taichi checks too). It relies on Taichi 1.7's launch-context interface
(`kernel_impl`), so it is used only on the CPU and only when that interface is there; elsewhere the kernel is
called the normal way.
"""
from __future__ import annotations

import numpy as np
import taichi as ti
from taichi.lang import impl
from taichi.lang import kernel_impl
from taichi.types import ndarray_type, primitive_types
from taichi.types.utils import is_signed

CPU_ARCHS = ("x64", "arm64")


def usable() -> bool:
    """Whether the prepared launch applies here: a CPU backend and the Taichi interface it was written against."""
    arch = getattr(impl.current_cfg().arch, "name", "")
    return arch in CPU_ARCHS and hasattr(kernel_impl.Kernel, "ensure_compiled") and hasattr(
        impl.get_runtime().prog, "compile_kernel")


class PreparedLaunch:
    """Kernel `name` of the data-oriented object `owner`, launched with positional arguments like the plain call."""

    def __init__(self, owner, name: str, *example_args):
        primal = getattr(type(owner), name)._primal
        key = primal.ensure_compiled(owner, *example_args)  # compiles (or loads from the cache) exactly as a call
        self.t_kernel = primal.compiled_kernels[key]
        prog = impl.get_runtime().prog
        self.prog = prog
        self.compiled = prog.compile_kernel(prog.config(), prog.get_device_caps(), self.t_kernel)
        self.ctx = self.t_kernel.make_launch_context()
        setters = []
        for i, arg in enumerate(a for a in primal.arguments if not isinstance(a.annotation, kernel_impl.template)):
            ann = arg.annotation
            if isinstance(ann, ndarray_type.NdarrayType):
                dtype = np.dtype(ti.lang.util.to_numpy_type(ann.dtype))
                setters.append(self._array_setter(i, dtype, ann.ndim, arg.name))
            elif id(ann) in primitive_types.integer_type_ids:
                setters.append(self._int_setter(i, ann))
            elif id(ann) in primitive_types.real_type_ids:
                setters.append(lambda v, idx=(i,): self.ctx.set_arg_float(idx, float(v)))
            else:
                raise TypeError(f"PreparedLaunch: argument {arg.name} of type {ann} is not supported")
        self.setters = setters
        self.last: list = [None] * len(setters)  # what each argument was bound to in the last launch

    def _array_setter(self, i: int, dtype: np.dtype, ndim: int, name: str):
        """Bind a C-contiguous NumPy array of this dtype and rank to argument i (refuse anything else)."""
        ctx, idx = self.ctx, (i,)

        def bind(a):
            if type(a) is not np.ndarray or a.dtype != dtype or a.ndim != ndim or not a.flags.c_contiguous:
                raise TypeError(f"argument {name}: expected a C-contiguous {dtype} NumPy array of rank {ndim}")
            ctx.set_arg_external_array_with_shape(idx, a.ctypes.data, a.nbytes, a.shape, 0)
        return bind

    def _int_setter(self, i: int, ann):
        """Bind an integer to argument i (signed or unsigned as declared)."""
        signed = is_signed(ti.lang.util.cook_dtype(ann))
        put = self.ctx.set_arg_int if signed else self.ctx.set_arg_uint
        return lambda v, idx=(i,): put(idx, int(v))

    def __call__(self, *args) -> None:
        """Launch with these arguments (the kernel returns nothing). An argument that is the very object (array) or
        the same value (scalar) as in the last launch is still in the context: it is not bound again."""
        if len(args) != len(self.setters):
            raise TypeError(f"expected {len(self.setters)} arguments, got {len(args)}")
        last = self.last
        for i, value in enumerate(args):
            held = last[i]
            if held is value or (type(value) is int and type(held) is int and held == value):
                continue
            self.setters[i](value)
            last[i] = value  # holding the array also keeps its memory (and so the bound pointer) alive
        self.prog.launch_kernel(self.compiled, self.ctx)
