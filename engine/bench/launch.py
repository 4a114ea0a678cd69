"""The floor of any tick: an empty Taichi kernel launched from Python, measured in the same run as the ticks."""
from __future__ import annotations

import time

from engine.bench.stats import spread


def empty_launch(calls: int = 2000, repeats: int = 7) -> dict:
    """Seconds per launch of a kernel that does nothing, called the normal way (median of `repeats` batches)."""
    import taichi as ti

    @ti.kernel
    def nothing():
        pass

    nothing()
    ti.sync()
    per_call = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            nothing()
        ti.sync()
        per_call.append((time.perf_counter() - t0) / calls)
    return {"empty_launch_s": spread(per_call), "calls": calls}
