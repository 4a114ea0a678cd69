"""The memory-bandwidth roofline of `gridhanoi bench`: copy bandwidth, bytes per agent-step, the share reached."""
from __future__ import annotations

import time

import numpy as np

from engine.bench.stats import rate, spread

# Bytes of device state each agent-step touches in `kernels/worlds.py` (advance_worlds), counting every field once
# per tick: its size when it is only read or only written, twice its size when it is read and written back.
# (field, bytes, read, written, why)
AGENT_FIELDS = (
    ("state", 1, True, True, "act reads it, writes the new state"),
    ("competence", 4, True, True, "act and neighbour learning read it, the copy-back writes it"),
    ("competence_next", 4, True, True, "neighbour learning writes it, the copy-back reads it"),
    ("attempts", 4, True, True, "pity bonus read, failures increment it"),
    ("proposal", 4, True, True, "composer agreement reads it, resolution writes it"),
    ("confidence", 4, False, True, "written when an attempt resolves"),
    ("history", 4, True, True, "shift register: read, shifted, written"),
    ("due", 4, True, True, "read to test due, written when work or an oracle call starts"),
    ("alive", 1, True, False, "fault mask, read only"),
    ("turned", 1, True, True, "act writes it, neighbour learning reads it"),
)
# Static per-cell fields are shared by all worlds of a batch: their bytes are amortised over W.
CELL_FIELDS = (
    ("move_of_cell", 4, True, False, "which move a cell works on (neighbour learning)"),
    ("difficulty", 4, True, False, "difficulty d of the cell"),
)


def copy_bandwidth(mib: int = 256, repeats: int = 7) -> dict:
    """Seconds of large NumPy copies (one thread); bandwidth = bytes read + written / time."""
    src = np.ones(mib << 20, np.uint8)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault the pages in before timing
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        times.append(time.perf_counter() - t0)
    return {"bytes_per_copy": 2 * src.nbytes, "times": times}


def merge_bandwidth(measurements: list[dict]) -> dict:
    """Pool copy-bandwidth measurements; the roofline uses the best one (contention only ever lowers it)."""
    per_copy = measurements[0]["bytes_per_copy"]
    times = [t for m in measurements for t in m["times"]]
    s = spread(times)
    return {"bytes_per_copy": per_copy, "seconds": s, "bytes_per_s": rate(per_copy, s),
            "peak_bytes_per_s": per_copy / s["min"]}


def bytes_per_agent(worlds: int) -> float:
    """Bytes one agent-step touches (see AGENT_FIELDS), static cell fields amortised over the W worlds."""
    per = lambda rows: sum(size * (int(r) + int(w)) for _, size, r, w, _ in rows)  # noqa: E731
    return per(AGENT_FIELDS) + per(CELL_FIELDS) / worlds


def field_table() -> list[dict]:
    """The byte count behind the roofline, one row per field."""
    rows = []
    for kind, fields in (("per agent", AGENT_FIELDS), ("per cell, shared by the W worlds", CELL_FIELDS)):
        for name, size, r, w, why in fields:
            rows.append({"field": name, "bytes": size, "read": r, "written": w, "touched": size * (int(r) + int(w)),
                         "kind": kind, "why": why})
    return rows


def add_roofline(res: dict, peak_bytes_per_s: float) -> None:
    """Roofline agent-steps/s = peak copy bandwidth / bytes per agent-step, and the share the kernels reach."""
    tai = res["backends"]["taichi"]
    per = bytes_per_agent(res["worlds"])
    top = peak_bytes_per_s / per
    done, t = tai["agent_steps"], tai["kernel_s"]
    cells = res["agents"] // res["worlds"]
    state = sum(f[1] for f in AGENT_FIELDS) * res["agents"] + sum(f[1] for f in CELL_FIELDS) * cells
    res["roofline"] = {"bytes_per_agent": per, "agent_steps_per_s": top, "working_set_bytes": state}
    res["ratios"]["roofline_fraction"] = {"value": done / t["median"] / top, "lo": done / t["max"] / top,
                                          "hi": done / t["min"] / top}
