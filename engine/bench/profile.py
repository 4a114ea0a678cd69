"""Where the kernel's time goes (`gridhanoi bench --profile`): Taichi's kernel profiler, per offloaded loop.

Taichi offloads each top-level loop of a kernel (after inlining its @ti.func calls) as one task, and runs the scalar
code between loops, including non-constant loop bounds, as *serial* tasks. The profiler names tasks only by kernel
and index, so the loops are named from the source: the kernel body is parsed, calls to @ti.func methods at its top
level are followed (a phase function's top-level loops are the kernel's), and the n-th loop task gets the n-th loop
found. When the counts disagree the tasks keep their bare names rather than wrong ones.
"""
from __future__ import annotations

import ast
import inspect
import re
import textwrap

from engine.bench.simulations import make_sim
from engine.bench.suite import TAICHI_WARMUP

HOST_TASKS = (("tensor_to_ext_arr", "host readback: field.to_numpy()"),
              ("ext_arr_to_tensor", "host upload: field.from_numpy()"))
LOOP_TASKS = ("range_for", "struct_for", "mesh_for")  # task kinds that come from a top-level loop
TASK_NAME = re.compile(r"^(?P<kernel>.+)_c\d+_\d+_kernel_(?P<index>\d+)_(?P<kind>[a-z_]+)$")


def source_of(func) -> tuple[list[str], ast.FunctionDef]:
    """Dedented source lines and the parsed definition of a (Taichi-wrapped) function."""
    text = textwrap.dedent(inspect.getsource(inspect.unwrap(func)))
    return text.splitlines(), ast.parse(text).body[0]


def comment_above(lines: list[str], lineno: int) -> str:
    """First words of the comment block right above line `lineno` (1-based), or ''."""
    i = lineno - 2
    block = []
    while i >= 0 and lines[i].strip().startswith("#"):
        block.insert(0, lines[i].strip().lstrip("# "))
        i -= 1
    return re.split(r"[:(,.;]", block[0])[0].strip() if block else ""


def loop_labels(owner, func, phase: str = "", depth: int = 0) -> list[str]:
    """The top-level loops of kernel `func` of the device `owner` that run as parallel tasks, in source order, each
    named by its phase, comment and header. A loop that `owner` serialises (`ti.loop_config(serialize=…)`) is not a
    loop task: Taichi runs it inside a serial task."""
    lines, tree = source_of(func)
    labels, last = [], phase
    for index, stmt in enumerate(tree.body):
        if isinstance(stmt, ast.For):
            head = f"for {ast.unparse(stmt.target).strip('()')} in {ast.unparse(stmt.iter)}"
            top, serial = stmt.lineno, False
            before = tree.body[index - 1] if index else None
            if before is not None and is_loop_config(before):  # ti.loop_config(...) belongs to the loop below it
                top, serial = before.lineno, serialised(before, owner)
            last = comment_above(lines, top) or last  # a loop without a comment continues the one above
            if not serial:
                labels.append(f"{last}: {head}" if last else head)
        elif (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
              and isinstance(stmt.value.func, ast.Attribute) and isinstance(stmt.value.func.value, ast.Name)
              and stmt.value.func.value.id == "self" and depth < 4):
            callee = getattr(type(owner), stmt.value.func.attr, None)
            if callee is not None and getattr(callee, "_is_taichi_function", False):
                labels += loop_labels(owner, callee, stmt.value.func.attr, depth + 1)  # inlined: its loops are ours
    return labels


def is_loop_config(stmt) -> bool:
    """Is this statement a `ti.loop_config(...)` call (the configuration of the loop that follows it)?"""
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr == "loop_config")


def serialised(config, owner) -> bool:
    """Does `ti.loop_config(serialize=…)` serialise its loop for this device? The flag is a device attribute
    (`ti.static(self.serial_tiles)`) or a constant."""
    for kw in config.value.keywords:
        if kw.arg == "serialize":
            for node in ast.walk(kw.value):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
                    return bool(getattr(owner, node.attr))
                if isinstance(node, ast.Constant):
                    return bool(node.value)
    return False


def offload_labels(device) -> list[str]:
    """The parallel top-level loops of `device`'s tick kernel `advance_worlds`, phase functions followed."""
    return loop_labels(device, type(device).advance_worlds)


def name_tasks(names: list[str], kernel: str, labels: list[str]) -> dict[str, str]:
    """What each profiled task of `kernel` is: the n-th loop task gets the n-th loop label when the counts agree."""
    tasks = sorted({(int(m["index"]), m["kind"], n) for n in names
                    if (m := TASK_NAME.match(n)) and m["kernel"] == kernel})
    loops = [n for _, kind, n in tasks if kind in LOOP_TASKS]
    named = dict(zip(loops, labels)) if len(loops) == len(labels) else {
        n: f"(unnamed: {len(loops)} loop tasks, {len(labels)} loops in the source)" for n in loops}
    for _, kind, n in tasks:
        if kind == "serial":
            named[n] = ("serial code between loops (scalars, loop bounds)" if loops else
                        "the whole tick, serial (a small batch's loops run on the launching thread)")
        named.setdefault(n, f"{kind} task")
    return named


def profile_offloads(scenario, worlds: int, ticks: int, arch: str = "cpu", start: int = 0) -> list[dict]:
    """Per offloaded task time over `ticks` ticks after `start` untimed ones, with Taichi's kernel profiler
    (TI_KERNEL_PROFILER=1 at init)."""
    import taichi as ti
    from taichi.lang import impl

    sim = make_sim(scenario, worlds, "taichi", arch)
    if not impl.current_cfg().kernel_profiler:
        raise RuntimeError("the kernel profiler is off: set TI_KERNEL_PROFILER=1 before Taichi is initialised")
    for _ in range(TAICHI_WARMUP):
        sim.step()
    sim.reset()
    for _ in range(start):
        sim.step()
    ti.sync()
    ti.profiler.clear_kernel_profiler_info()
    for _ in range(ticks):
        sim.step()
    ti.sync()
    prog = impl.get_runtime().prog
    prog.sync_kernel_profiler()
    prog.update_kernel_profiler()
    totals: dict[str, list] = {}
    for rec in prog.get_kernel_profiler_records():
        totals.setdefault(rec.name, []).append(rec.kernel_time)
    named = name_tasks(list(totals), "advance_worlds", offload_labels(sim.device))
    grand = sum(sum(v) for v in totals.values())
    rows = []
    for name, times in totals.items():
        label = next((text for prefix, text in HOST_TASKS if name.startswith(prefix)), named.get(name, ""))
        rows.append({"task": name, "loop": label, "ms_per_tick": sum(times) / ticks,
                     "share": sum(times) / grand, "launches": len(times)})
    return sorted(rows, key=lambda r: -r["ms_per_tick"])
