"""The float32 helpers: Taichi and NumPy twins agree bit for bit, and they are accurate enough."""
from statistics import NormalDist

import numpy as np
import pytest

from engine.sim import mathref as R

N = 200_000


@pytest.fixture(scope="module")
def kernel_results(taichi_cpu):
    """Evaluate every helper in a Taichi kernel over N inputs."""
    import taichi as ti

    from kernels import mathf

    x = ti.field(ti.f32, N)
    out = ti.field(ti.f32, (6, N))
    keys = ti.field(ti.u32, N)

    @ti.kernel
    def evaluate(seed: ti.u32):
        for i in range(N):
            k = mathf.agent_key(mathf.tick_key(seed, 7), i)
            u = mathf.uniform(k, 3)
            keys[i] = k
            out[0, i] = u
            out[1, i] = mathf.inverse_normal(u)
            out[2, i] = mathf.log_f32(x[i])
            out[3, i] = mathf.exp_f32(x[i] * 20.0 - 10.0)
            out[4, i] = mathf.sigmoid(x[i] * 20.0 - 10.0)
            out[5, i] = mathf.logit(ti.min(ti.max(x[i], 0.001), 0.999))

    xs = np.random.default_rng(0).random(N).astype(np.float32) + np.float32(1e-7)
    x.from_numpy(xs)
    evaluate(12345)
    return xs, keys.to_numpy(), out.to_numpy()


def test_kernel_and_reference_math_are_bit_identical(kernel_results):
    xs, keys, out = kernel_results
    F = np.float32
    k = R.agent_key(R.tick_key(12345, 7), np.arange(N))
    u = R.uniform(k, 3)
    expected = [u, R.inverse_normal(u), R.log_f32(xs), R.exp_f32(xs * F(20) - F(10)),
                R.sigmoid(xs * F(20) - F(10)), R.logit(np.minimum(np.maximum(xs, F(0.001)), F(0.999)))]
    assert np.array_equal(keys, k)
    for name, got, want in zip(("uniform", "inverse_normal", "log", "exp", "sigmoid", "logit"), out, expected):
        assert np.array_equal(got, want), f"{name}: {np.sum(got != want)} of {N} differ"


def test_accuracy_against_double_precision(kernel_results):
    xs, _, out = kernel_results
    x64 = xs.astype(np.float64)
    assert np.max(np.abs(out[2] - np.log(x64))) < 2e-6
    z = x64 * 20 - 10
    assert np.max(np.abs(out[3] / np.exp(z) - 1)) < 2e-6
    u = out[0][:5000].astype(np.float64)
    exact = np.array([NormalDist().inv_cdf(v) for v in u])
    assert np.max(np.abs(out[1][:5000] - exact)) < 1e-3
    assert 0 < out[0].min() and out[0].max() < 1 and abs(out[0].mean() - 0.5) < 0.01
