"""Small statistics for `gridhanoi bench`: spreads over repeats, rates and ratios of timings."""
from __future__ import annotations

import numpy as np


def spread(values) -> dict:
    """Median, quartiles, min and max of a list of numbers."""
    v = np.asarray(values, dtype=float)
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3), "min": float(v.min()), "max": float(v.max()),
            "n": int(v.size)}


def rate(amount: float, seconds: dict) -> dict:
    """amount / time as a spread (the slowest run gives the minimum rate)."""
    return {"median": amount / seconds["median"], "q1": amount / seconds["q3"], "q3": amount / seconds["q1"],
            "min": amount / seconds["max"], "max": amount / seconds["min"], "n": seconds["n"]}


def ratio(num: dict, den: dict) -> dict:
    """num/den of two independent timings: value = median/median, range from the extremes."""
    return {"value": num["median"] / den["median"], "lo": num["min"] / den["max"], "hi": num["max"] / den["min"]}


def paired(values) -> dict:
    """A ratio measured within each run (same run, same ticks): median and range over runs."""
    s = spread(values)
    return {"value": s["median"], "lo": s["min"], "hi": s["max"]}
