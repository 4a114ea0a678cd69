"""Episode seeds: the device keeps them as u32, so every seed a run, experiment or sweep uses lies in
[0, 2^32 − 1]; a seed outside would silently wrap (4294967296 would replay seed 0 under another label)."""
from __future__ import annotations

import numpy as np

from engine.errors import UsageError

MAX_SEED = 2**32 - 1


def check_seeds(seed: int, worlds: int, seeds=None) -> np.ndarray:
    """Return the W episode seeds (``seeds``, or ``seed + w``) as uint64; raise UsageError (one line) when any
    lies outside [0, 2^32 − 1]."""
    if seeds is not None:
        values = [int(s) for s in np.asarray(seeds, dtype=object).reshape(-1)]
        bad = [s for s in values if not 0 <= s <= MAX_SEED]
        if bad:
            raise UsageError(f"seed {bad[0]} is outside 0 … {MAX_SEED}; episode seeds are 32-bit")
        return np.asarray(values, dtype=np.uint64)
    check_seed_range(seed, worlds)
    return np.uint64(int(seed)) + np.arange(worlds, dtype=np.uint64)


def check_seed_range(seed: int, worlds: int) -> None:
    """Raise UsageError unless seeds seed … seed + worlds − 1 all lie in [0, 2^32 − 1] (allocates nothing)."""
    seed = int(seed)
    if not 0 <= seed <= MAX_SEED:
        raise UsageError(f"--seed {seed} is outside 0 … {MAX_SEED}; episode seeds are 32-bit")
    if seed + worlds - 1 > MAX_SEED:
        raise UsageError(f"--seed {seed} with {worlds} worlds reaches seed {seed + worlds - 1} (world w runs "
                         f"seed + w), past {MAX_SEED}; use --seed ≤ {max(0, MAX_SEED - worlds + 1)}")
