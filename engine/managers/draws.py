"""Counter-based random draws for the host-side managers, vectorised over worlds.

Every draw is a hash of (episode seed, round, stream, zone, retry), so a world's choices depend only on its own
episode seed — never on the batch it runs in — and a whole batch is drawn with a few NumPy calls instead of one
generator call per world. The manager calls this every tick, so the fixed costs are kept out of the loop: each
world's seed hash is computed once, the per-(round, stream) hash is plain integer arithmetic, the zone salts are a
table, and the two gamma draws of a Beta sample share one rejection loop (each entry's value is what it would be
alone).
"""
import numpy as np

from engine.sim.mathref import lowbias32

U32 = np.uint32
MASK = 0xFFFFFFFF
WORLD_SALT, ROUND_MUL, ZONE_MUL, RETRY_MUL = 0x2545F491, 0x9E3779B9, 0x85EBCA6B, 0xC2B2AE35
GAMMA_ROUNDS = 16  # rejection rounds before the fallback (acceptance ≥ 95 % per round: never reached in practice)
SMALL = 512  # below this many entries NumPy's per-call cost dominates: evaluate two retry rounds per pass


def lowbias32_int(x: int) -> int:
    """lowbias32 of one 32-bit word in Python integers (the same function as `mathref.lowbias32`)."""
    x &= MASK
    x ^= x >> 16
    x = (x * 0x7FEB352D) & MASK
    x ^= x >> 15
    x = (x * 0x846CA68B) & MASK
    return x ^ (x >> 16)


def to_unit(h: np.ndarray) -> np.ndarray:
    """24-bit uniforms in (0, 1) from 32-bit hashes."""
    return ((h >> U32(8)).astype(np.float64) + 0.5) / float(1 << 24)


class Draws:
    """The random streams of one manager's worlds (episode seeds `seeds`) over `n_zones` zones."""

    def __init__(self, seeds, n_zones: int):
        self.world = lowbias32(np.asarray(seeds, dtype=np.uint64).astype(U32) ^ U32(WORLD_SALT))
        self.n_zones = n_zones
        self.zone_index = np.arange(n_zones, dtype=U32)
        self.salts: dict[int, np.ndarray] = {}
        self.table = None

    def keys(self, round_: int, stream: int) -> np.ndarray:
        """(W',) key of each world for one decision round and purpose."""
        return lowbias32(self.world ^ U32(lowbias32_int(round_ * ROUND_MUL + stream)))

    def salt(self, retry: int) -> np.ndarray:
        """(Z,) hashed salt of each zone for the `retry`-th uniform of an entry (cached: it never changes)."""
        s = self.salts.get(retry)
        if s is None:
            s = self.salts[retry] = lowbias32((self.zone_index * U32(ZONE_MUL)) ^ U32((retry * RETRY_MUL) & MASK))
        return s

    def uniforms(self, round_: int, stream: int) -> np.ndarray:
        """(W', Z) float64 uniforms in (0, 1), one per world and zone."""
        return to_unit(lowbias32(self.keys(round_, stream)[:, None] ^ self.salt(0)[None, :]))

    def betas(self, alpha: np.ndarray, beta: np.ndarray, round_: int, stream: int, where=None) -> np.ndarray:
        """Beta(α, β) draws (α, β ≥ 1) as X / (X + Y), X ~ Gamma(α) on `stream`, Y ~ Gamma(β) on `stream + 1`;
        NaN outside `where`. Only the entries asked for are drawn; each entry's value does not depend on the rest."""
        W, Z = alpha.shape
        todo = np.arange(alpha.size) if where is None else np.flatnonzero(where)
        rows, zones = todo // Z, todo % Z
        n = todo.size
        keys = np.concatenate([self.keys(round_, stream)[rows], self.keys(round_, stream + 1)[rows]])
        shape = np.concatenate([alpha.ravel()[todo], beta.ravel()[todo]])
        g = self.gammas(shape, keys, np.concatenate([zones, zones]))
        out = np.full(W * Z, np.nan)
        out[todo] = g[:n] / (g[:n] + g[n:])
        return out.reshape(W, Z)

    def gammas(self, shape: np.ndarray, keys: np.ndarray, zones: np.ndarray) -> np.ndarray:
        """Gamma(shape, 1) draws for shape ≥ 1 (Marsaglia–Tsang), entry i keyed on (keys[i], zones[i]).

        Entry i takes the first accepted of its retry rounds 0, 1, 2, …. Few entries (a small batch) evaluate two
        rounds per pass, since almost every entry is accepted within two and NumPy's per-call cost dominates;
        many entries one round per pass. Either way each entry gets the value it would get alone."""
        d = shape - 1.0 / 3.0
        c = 1.0 / np.sqrt(9.0 * d)
        drawn = d.copy()  # the fallback after GAMMA_ROUNDS rejections in a row
        pending = everyone = np.arange(d.size)
        first = 0
        while first < GAMMA_ROUNDS:
            rounds = min(2 if pending.size < SMALL else 1, GAMMA_ROUNDS - first)
            if pending is everyone:  # the first pass: no gathers
                k, z, cc, dd = keys, zones, c, d
            else:
                k, z, cc, dd = keys[pending], zones[pending], c[pending], d[pending]
            retries = np.arange(3 * first, 3 * (first + rounds))
            first += rounds
            u = to_unit(lowbias32(k[None, :] ^ self.salt_table()[retries][:, z]))  # (3·rounds, n), row = retry
            u1, u2, u3 = u[0::3], u[1::3], u[2::3]  # (rounds, n) each
            x = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)  # Box–Muller normal
            v = (1.0 + cc * x) ** 3
            with np.errstate(invalid="ignore", divide="ignore"):
                accept = (v > 0) & (np.log(u3) < 0.5 * x * x + dd - dd * v + dd * np.log(np.where(v > 0, v, 1.0)))
            won = accept.argmax(axis=0)  # the first accepted round of each entry (0 if none: masked below)
            ok = accept.any(axis=0)
            cols = np.flatnonzero(ok)
            drawn[pending[cols]] = (dd * v)[won[cols], cols]
            pending = pending[~ok]
            if pending.size == 0:
                break
        return drawn

    def salt_table(self) -> np.ndarray:
        """(3·GAMMA_ROUNDS, Z) hashed salts of every retry and zone (computed once)."""
        if self.table is None:
            self.table = np.stack([self.salt(r) for r in range(3 * GAMMA_ROUNDS)])
        return self.table
