"""The memory-bandwidth roofline of `gridhanoi bench`: copy bandwidth, bytes per agent-step, the share reached."""
from __future__ import annotations

import time

import numpy as np

from engine.bench.stats import rate, spread

# Bytes of device state an *active* agent-step (a live agent in an open tile) touches in `kernels/worlds.py`,
# counting every field once per tick: its size when it is only read or only written, twice its size when it is read
# and written back. (field, bytes, read, written, why)
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
# What an *idle* agent-step touches: a live agent with a task in a locked or finished tile of a running world. The
# kernel skips its act step but still clears its `turned` flag, reads its state for the composer's agreement count
# and again for the zone's state counts, and reads competence for the zone's competence sum (and a Success agent's
# proposal for the agreement).
IDLE_FIELDS = (
    ("state", 1, True, False, "read for the agreement and the state counts"),
    ("turned", 1, True, True, "cleared by act, read by the measure step"),
    ("competence", 4, True, False, "summed into the zone's competence statistic"),
    ("proposal", 4, True, False, "agreement count of Success agents"),
)
# Static per-cell fields are shared by all worlds of a batch: their bytes are amortised over W.
CELL_FIELDS = (
    ("move_of_cell", 4, True, False, "which move a cell works on (neighbour learning)"),
    ("difficulty", 4, True, False, "difficulty d of the cell"),
)


def touched(rows) -> int:
    """Bytes touched per agent-step by these fields (read and write each count once)."""
    return sum(size * (int(r) + int(w)) for _, size, r, w, _ in rows)


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
    """Bytes one active agent-step touches (AGENT_FIELDS), static cell fields amortised over the W worlds."""
    return touched(AGENT_FIELDS) + touched(CELL_FIELDS) / worlds


def field_table() -> list[dict]:
    """The byte count behind the roofline, one row per field and kind of agent-step."""
    rows = []
    for kind, fields in (("active agent", AGENT_FIELDS), ("idle agent", IDLE_FIELDS),
                         ("per cell, shared by the W worlds", CELL_FIELDS)):
        for name, size, r, w, why in fields:
            rows.append({"field": name, "bytes": size, "read": r, "written": w, "touched": size * (int(r) + int(w)),
                         "kind": kind, "why": why})
    return rows


def add_roofline(res: dict, peak_bytes_per_s: float) -> None:
    """The kernels' time against the time the bytes they must touch take at peak copy bandwidth.

    Bytes of the window = active agent-steps × active bytes + idle agent-steps × idle bytes (cell fields amortised
    over W); the roofline rate is the active agent-steps/s the kernels would reach if moving those bytes were all
    they did, and the fraction is roofline time / kernel time."""
    tai = res["backends"]["taichi"]
    active, idle = tai["active_agent_steps"], tai["agent_steps"] - tai["active_agent_steps"]
    per_active = bytes_per_agent(res["worlds"])
    total = active * per_active + idle * touched(IDLE_FIELDS)
    floor_s = total / peak_bytes_per_s
    t = tai["kernel_s"]
    cells = res["agents"] // res["worlds"]
    state = sum(f[1] for f in AGENT_FIELDS) * res["agents"] + sum(f[1] for f in CELL_FIELDS) * cells
    res["roofline"] = {"bytes_per_active_agent": per_active, "bytes_per_idle_agent": touched(IDLE_FIELDS),
                       "bytes_per_window": total, "seconds_per_window": floor_s,
                       "active_agent_steps_per_s": active / floor_s if floor_s else None, "working_set_bytes": state}
    res["ratios"]["roofline_fraction"] = {"value": floor_s / t["median"], "lo": floor_s / t["max"],
                                          "hi": floor_s / t["min"]}
