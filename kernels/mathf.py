"""Float32 transcendentals and the counter-based RNG as Taichi functions.

Each function is built from + − × ÷ sqrt and bit casts only, in the same operation order as its NumPy twin in
`engine/sim/mathref.py`, so kernel and reference agree bit for bit on the CPU (DESIGN §7). libm's log/exp would not.
"""
import taichi as ti

from kernels import constants as K


@ti.func
def lowbias32(x: ti.u32) -> ti.u32:
    """Hash a 32-bit word (Chris Wellons' lowbias32)."""
    x ^= x >> 16
    x *= ti.u32(0x7FEB352D)
    x ^= x >> 15
    x *= ti.u32(0x846CA68B)
    x ^= x >> 16
    return x


@ti.func
def tick_key(episode_seed: ti.u32, tick: ti.i32) -> ti.u32:
    """Key of one (episode, tick): the root of every draw that tick."""
    world_key = lowbias32(episode_seed ^ ti.u32(K.WORLD_SALT))
    return lowbias32(world_key ^ lowbias32(ti.cast(tick, ti.u32) + ti.u32(1)))


@ti.func
def agent_key(key: ti.u32, cell: ti.i32) -> ti.u32:
    """Key of one agent within a tick."""
    return lowbias32(key ^ (ti.cast(cell, ti.u32) * ti.u32(K.GOLDEN) + ti.u32(1)))


@ti.func
def uniform(key: ti.u32, draw: ti.i32) -> ti.f32:
    """Uniform in (0, 1), never 0 or 1: ((h >> 9) + 0.5) · 2⁻²³, exact in float32."""
    h = lowbias32(key + ti.cast(draw, ti.u32) * ti.u32(K.DRAW_SALT))
    return ti.cast((h >> 9) * ti.u32(2) + ti.u32(1), ti.f32) * (K.U_SCALE * 0.5)


@ti.func
def horner(x: ti.f32, coeffs: ti.template()) -> ti.f32:
    """c0·xⁿ + … + cn by Horner's rule (coefficients highest power first, unrolled at compile time)."""
    r = ti.f32(coeffs[0])
    for i in ti.static(range(1, len(coeffs))):
        r = r * x + coeffs[i]
    return r


@ti.func
def log_f32(x: ti.f32) -> ti.f32:
    """Natural log of a positive normal float32 (frexp + atanh series)."""
    bits = ti.bit_cast(x, ti.i32)
    e = (bits >> 23) - 127
    m = ti.bit_cast((bits & 0x007FFFFF) | 0x3F800000, ti.f32)
    big = m > K.SQRT2  # a select, not a branch: loops of logs vectorise
    m = ti.select(big, m * 0.5, m)
    e += ti.select(big, 1, 0)
    s = (m - 1.0) / (m + 1.0)
    return ti.cast(e, ti.f32) * K.LN2 + s * horner(s * s, K.LOG_C)


@ti.func
def exp_f32(x: ti.f32) -> ti.f32:
    """exp of a float32 (Cody–Waite reduction, degree-7 Taylor, exponent by bit cast)."""
    x = ti.min(ti.max(x, K.EXP_LO), K.EXP_HI)
    k = ti.floor(x * K.INV_LN2 + 0.5)
    r = (x - k * K.LN2_HI) - k * K.LN2_LO
    scale = ti.bit_cast((ti.cast(k, ti.i32) + 127) << 23, ti.f32)
    return horner(r, K.EXP_C) * scale


@ti.func
def sigmoid(z: ti.f32) -> ti.f32:
    """Logistic function."""
    return 1.0 / (1.0 + exp_f32(-z))


@ti.func
def logit(p: ti.f32) -> ti.f32:
    """Log-odds of a probability in (0, 1)."""
    return log_f32(p / (1.0 - p))


@ti.func
def inverse_normal(u: ti.f32) -> ti.f32:
    """Standard normal quantile of u ∈ (0, 1) (Acklam), from one uniform: no Box–Muller.

    Both the central and the tail rational function are evaluated and one is selected, without a branch, so a
    loop of them vectorises (the selected value is the same as with a branch)."""
    q = u - 0.5
    r = q * q
    central = horner(r, K.ACK_A) * q / (horner(r, K.ACK_B) * r + 1.0)
    tail = ti.min(u, 1.0 - u)
    s = ti.sqrt(-2.0 * log_f32(tail))
    x = horner(s, K.ACK_C) / (horner(s, K.ACK_D) * s + 1.0)
    x = ti.select(u > 0.5, -x, x)
    return ti.select(u >= K.ACK_PLOW and u <= K.ACK_PHIGH, central, x)


@ti.func
def to_fixed(x: ti.f32) -> ti.i64:
    """Round x·2¹⁶ to the nearest integer (fixed point for deterministic sums)."""
    return ti.cast(ti.floor(x * K.FX_SCALE + 0.5), ti.i64)
