"""NumPy twins of `kernels/mathf.py`: the same float32 operations in the same order, vectorised.

The reference step uses these so it matches the Taichi kernels bit for bit on the CPU (DESIGN §7).
"""
import numpy as np

from kernels import constants as K

F = np.float32
U32 = np.uint32


def lowbias32(x: np.ndarray) -> np.ndarray:
    """Hash 32-bit words (lowbias32), elementwise."""
    x = np.asarray(x, dtype=U32)
    if x.ndim == 0:  # NumPy warns on scalar overflow; uint32 arithmetic wraps by design
        with np.errstate(over="ignore"):
            return lowbias32(x.reshape(1))[0]
    x = x ^ (x >> U32(16))
    x = x * U32(0x7FEB352D)
    x = x ^ (x >> U32(15))
    x = x * U32(0x846CA68B)
    return x ^ (x >> U32(16))


def tick_key(episode_seed, tick: int) -> np.ndarray:
    """Key of each (episode, tick)."""
    world_key = lowbias32(np.asarray(episode_seed, dtype=U32) ^ U32(K.WORLD_SALT))
    with np.errstate(over="ignore"):
        return lowbias32(world_key ^ lowbias32(U32(tick) + U32(1)))


def agent_key(key: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Key of each agent within a tick (key broadcasts against cell)."""
    with np.errstate(over="ignore"):
        return lowbias32(key ^ (np.asarray(cell, dtype=U32) * U32(K.GOLDEN) + U32(1)))


def uniform(key: np.ndarray, draw: int) -> np.ndarray:
    """Uniforms in (0, 1): ((h >> 9) + 0.5) · 2⁻²³."""
    with np.errstate(over="ignore"):
        h = lowbias32(key + U32(draw) * U32(K.DRAW_SALT))
    return ((h >> U32(9)) * U32(2) + U32(1)).astype(F) * F(K.U_SCALE * 0.5)


def horner(x: np.ndarray, coeffs) -> np.ndarray:
    """c0·xⁿ + … + cn by Horner's rule in float32 (coefficients highest power first)."""
    r = np.full_like(x, F(coeffs[0]))
    for c in coeffs[1:]:
        r = r * x + F(c)
    return r


def log_f32(x: np.ndarray) -> np.ndarray:
    """Natural log of positive normal float32 values."""
    x = np.asarray(x, dtype=F)
    bits = x.view(np.int32)
    e = (bits >> 23) - 127
    m = ((bits & 0x007FFFFF) | 0x3F800000).astype(np.int32).view(F)
    big = m > F(K.SQRT2)
    m = np.where(big, m * F(0.5), m)
    e = np.where(big, e + 1, e)
    s = (m - F(1.0)) / (m + F(1.0))
    return e.astype(F) * F(K.LN2) + s * horner(s * s, K.LOG_C)


def exp_f32(x: np.ndarray) -> np.ndarray:
    """exp of float32 values."""
    x = np.minimum(np.maximum(np.asarray(x, dtype=F), F(K.EXP_LO)), F(K.EXP_HI))
    k = np.floor(x * F(K.INV_LN2) + F(0.5))
    r = (x - k * F(K.LN2_HI)) - k * F(K.LN2_LO)
    scale = ((k.astype(np.int32) + 127) << 23).astype(np.int32).view(F)
    return horner(r, K.EXP_C) * scale


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return F(1.0) / (F(1.0) + exp_f32(-z))


def logit(p: np.ndarray) -> np.ndarray:
    """Log-odds."""
    return log_f32(p / (F(1.0) - p))


def inverse_normal(u: np.ndarray) -> np.ndarray:
    """Standard normal quantile (Acklam), same branches as the kernel."""
    u = np.asarray(u, dtype=F)
    q = u - F(0.5)
    r = q * q
    central = horner(r, K.ACK_A) * q / (horner(r, K.ACK_B) * r + F(1.0))

    tail = np.minimum(u, F(1.0) - u)
    qt = np.sqrt(F(-2.0) * log_f32(tail))
    tails = horner(qt, K.ACK_C) / (horner(qt, K.ACK_D) * qt + F(1.0))
    tails = np.where(u > F(0.5), -tails, tails)
    in_centre = (u >= F(K.ACK_PLOW)) & (u <= F(K.ACK_PHIGH))
    return np.where(in_centre, central, tails)


def to_fixed(x: np.ndarray) -> np.ndarray:
    """Round x·2¹⁶ to the nearest integer, as int64."""
    return np.floor(np.asarray(x, dtype=F) * F(K.FX_SCALE) + F(0.5)).astype(np.int64)
