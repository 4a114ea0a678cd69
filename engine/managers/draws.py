"""Counter-based random draws for the host-side managers, vectorised over worlds.

Every draw is a hash of (episode seed, tick, stream, zone, round), so a world's choices depend only on its own
episode seed — never on the batch it runs in — and a whole batch is drawn with a few NumPy calls instead of one
generator call per world (which dominated the scheduler at 256 worlds).
"""
import numpy as np

from engine.sim.mathref import lowbias32

U32 = np.uint32


def _keys(seeds, tick: int, stream: int) -> np.ndarray:
    """Per-world key of one (tick, stream)."""
    seeds = np.asarray(seeds, dtype=np.uint64).astype(U32)
    return lowbias32(lowbias32(seeds ^ U32(0x2545F491)) ^ lowbias32(np.uint32((tick * 0x9E3779B9 + stream) & 0xFFFFFFFF)))


def uniforms_at(keys: np.ndarray, zones: np.ndarray, round_: int) -> np.ndarray:
    """Uniforms in (0, 1) for given per-draw world keys and zone indices (same shape)."""
    salt = (zones.astype(U32) * U32(0x85EBCA6B)) ^ U32((round_ * 0xC2B2AE35) & 0xFFFFFFFF)
    h = lowbias32(keys ^ lowbias32(salt))
    return ((h >> U32(8)).astype(np.float64) + 0.5) / float(1 << 24)


def uniforms(seeds, tick: int, stream: int, n_zones: int, round_: int = 0) -> np.ndarray:
    """(W, Z) float64 uniforms in (0, 1), one per world and zone."""
    keys = _keys(seeds, tick, stream)
    W = keys.shape[0]
    return uniforms_at(np.repeat(keys, n_zones).reshape(W, n_zones),
                       np.broadcast_to(np.arange(n_zones, dtype=U32), (W, n_zones)), round_)


def gammas(shape: np.ndarray, seeds, tick: int, stream: int, where=None, rounds: int = 16) -> np.ndarray:
    """Gamma(shape, 1) draws for shape ≥ 1 (Marsaglia–Tsang): every entry tries round 0, only rejected ones retry.
    With `where`, only those entries are drawn (the rest are NaN); each entry's draw does not depend on it."""
    W, Z = shape.shape
    todo = np.arange(shape.size) if where is None else np.flatnonzero(where)
    keys = _keys(seeds, tick, stream)[todo // Z]
    zones = (todo % Z).astype(U32)
    d = shape.ravel()[todo] - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    drawn = d.copy()  # fallback after `rounds` rejections in a row (acceptance ≥ 95 % per round: never in practice)
    pending = np.arange(todo.size)
    for r in range(rounds):
        k, z = keys[pending], zones[pending]
        u1, u2, u3 = (uniforms_at(k, z, 3 * r + i) for i in range(3))
        x = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)  # Box–Muller normal
        v = (1.0 + c[pending] * x) ** 3
        dd = d[pending]
        with np.errstate(invalid="ignore", divide="ignore"):
            accept = (v > 0) & (np.log(u3) < 0.5 * x * x + dd - dd * v + dd * np.log(np.where(v > 0, v, 1.0)))
        drawn[pending[accept]] = (dd * v)[accept]
        pending = pending[~accept]
        if pending.size == 0:
            break
    out = np.full(shape.size, np.nan)
    out[todo] = drawn
    return out.reshape(W, Z)


def betas(alpha: np.ndarray, beta: np.ndarray, seeds, tick: int, stream: int, where=None) -> np.ndarray:
    """Beta(α, β) draws (α, β ≥ 1) as X / (X + Y) with X ~ Gamma(α), Y ~ Gamma(β); NaN outside `where`."""
    x = gammas(alpha, seeds, tick, stream, where)
    y = gammas(beta, seeds, tick, stream + 1, where)
    return x / (x + y)
