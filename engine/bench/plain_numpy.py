"""The plain NumPy baseline (DESIGN §7): the reference step with NumPy's own log/exp, as a user would write it.

Same semantics as `engine.sim.reference.ReferenceWorlds` but not bit-exact: NumPy's SIMD log/exp round differently from
the kernel's float32 polynomials, so a rare decision can flip and trajectories may drift apart over long runs.
"""
import numpy as np

from engine.sim import mathref as R
from engine.sim.reference import ReferenceWorlds

F = np.float32


class NumpyMath:
    """The math interface of `engine.sim.mathref`, transcendentals from NumPy (hashes and fixed point are shared)."""

    tick_key = staticmethod(R.tick_key)
    agent_key = staticmethod(R.agent_key)
    uniform = staticmethod(R.uniform)
    to_fixed = staticmethod(R.to_fixed)

    @staticmethod
    def log_f32(x):
        """Natural log (NumPy)."""
        return np.log(np.asarray(x, dtype=F))

    @staticmethod
    def sigmoid(z):
        """Logistic function (NumPy exp; overflow to inf gives the right limit 0)."""
        with np.errstate(over="ignore"):
            return F(1.0) / (F(1.0) + np.exp(-np.asarray(z, dtype=F)))

    @staticmethod
    def logit(p):
        """Log-odds (NumPy log)."""
        p = np.asarray(p, dtype=F)
        return np.log(p / (F(1.0) - p))

    @staticmethod
    def inverse_normal(u):
        """Standard normal quantile: Acklam's rational approximation with np.polyval and np.log."""
        from kernels import constants as K

        u = np.asarray(u, dtype=F)
        q = u - F(0.5)
        r = q * q
        central = q * np.polyval(np.asarray(K.ACK_A, F), r) / np.polyval(np.asarray((*K.ACK_B, 1.0), F), r)
        qt = np.sqrt(F(-2.0) * np.log(np.minimum(u, F(1.0) - u)))
        tails = np.polyval(np.asarray(K.ACK_C, F), qt) / np.polyval(np.asarray((*K.ACK_D, 1.0), F), qt)
        tails = np.where(u > F(0.5), -tails, tails)
        return np.where((u >= F(K.ACK_PLOW)) & (u <= F(K.ACK_PHIGH)), central, tails).astype(F)


class PlainNumpyWorlds(ReferenceWorlds):
    """`ReferenceWorlds` stepping with NumPy's own transcendentals."""

    math = NumpyMath


def plain_simulation(scenario, seed: int = 0, worlds: int = 1):
    """A Simulation on the plain NumPy baseline (the reference backend with its device swapped)."""
    from engine.sim.simulation import Simulation

    sim = Simulation(scenario, seed, worlds, backend="reference")
    # the subclass adds no state, only other math: re-typing the device keeps Simulation's constructor the only
    # place that knows the device's arguments
    sim.device.__class__ = PlainNumpyWorlds
    sim.backend = "plain-numpy"
    return sim
