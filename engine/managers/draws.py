"""Counter-based random draws for the host-side managers, vectorised over worlds.

Every draw is a hash of (episode seed, round, stream, zone, retry), so a world's choices depend only on its own
episode seed — never on the batch it runs in — and a whole batch is drawn with a few NumPy calls instead of one
generator call per world. The manager calls this every tick, so the fixed costs are kept out of the loop: each
world's seed hash is computed once, the keys of several streams of one round are hashed in one pass, the zone salts
are a table, the hash works in place on arrays it owns, and the two gamma draws of a Beta sample share one
rejection loop (each entry's value is what it would be alone). At one world a tick is a few dozen NumPy calls of
~1 µs each, so the call count is what these functions keep low.
"""
import numpy as np

from engine.sim.mathref import lowbias32

U32 = np.uint32
MASK = 0xFFFFFFFF
WORLD_SALT, ROUND_MUL, ZONE_MUL, RETRY_MUL = 0x2545F491, 0x9E3779B9, 0x85EBCA6B, 0xC2B2AE35
GAMMA_ROUNDS = 16  # rejection rounds before the fallback (acceptance ≥ 95 % per round: never reached in practice)
FEW_WORLDS = 4  # up to this many worlds, round keys are hashed in Python integers
AHEAD_ROUNDS = 16  # a small batch's shape-free Thompson draws are computed this many rounds at a time
SMALL = 512  # below this many entries NumPy's per-call cost dominates: evaluate two retry rounds per pass
TWO_PI = 2.0 * np.pi
UNIT = 1.0 / float(1 << 24)  # a power of two: multiplying by it rounds exactly like dividing by 2^24


def lowbias32_int(x: int) -> int:
    """lowbias32 of one 32-bit word in Python integers (the same function as `mathref.lowbias32`)."""
    x &= MASK
    x ^= x >> 16
    x = (x * 0x7FEB352D) & MASK
    x ^= x >> 15
    x = (x * 0x846CA68B) & MASK
    return x ^ (x >> 16)


def hash_owned(x: np.ndarray) -> np.ndarray:
    """lowbias32 of a uint32 array the caller owns, computed in place (the same function as `mathref.lowbias32`,
    without its temporaries and checks)."""
    x ^= x >> 16
    x *= 0x7FEB352D
    x ^= x >> 15
    x *= 0x846CA68B
    x ^= x >> 16
    return x


def to_unit(h: np.ndarray) -> np.ndarray:
    """24-bit uniforms in (0, 1) from 32-bit hashes."""
    # < 2^24, so the same value as int32, whose conversion to float64 is NumPy's fast one; every step is exact
    return ((h >> 8).view(np.int32) + 0.5) * UNIT


class Draws:
    """The random streams of one manager's worlds (episode seeds `seeds`) over `n_zones` zones."""

    def __init__(self, seeds, n_zones: int):
        self.world = lowbias32(np.asarray(seeds, dtype=np.uint64).astype(U32) ^ U32(WORLD_SALT))
        # a few worlds: their keys are hashed in Python integers (cheaper than ~8 NumPy calls on tiny arrays)
        self.world_words = self.world.tolist() if self.world.size <= FEW_WORLDS else None
        self.n_zones = n_zones
        self.zone_index = np.arange(n_zones, dtype=U32)
        self.salts: dict[int, np.ndarray] = {}
        self.table = None
        self.block = None  # (first round, streams, keys, normals, log u3, extra uniforms) of beta_ahead

    def keys(self, round_: int, stream: int) -> np.ndarray:
        """(W',) key of each world for one decision round and purpose."""
        return self.stream_keys(round_, (stream,))[0]

    def stream_keys(self, round_: int, streams) -> np.ndarray:
        """(len(streams), W') keys of each world for one decision round and several purposes, hashed together."""
        words = [lowbias32_int(round_ * ROUND_MUL + s) for s in streams]
        if self.world_words is not None:
            return np.array([[lowbias32_int(w ^ x) for w in self.world_words] for x in words], U32)
        return hash_owned(self.world ^ np.array(words, U32)[:, None])

    def salt(self, retry: int) -> np.ndarray:
        """(Z,) hashed salt of each zone for the `retry`-th uniform of an entry (cached: it never changes)."""
        s = self.salts.get(retry)
        if s is None:
            s = self.salts[retry] = lowbias32((self.zone_index * U32(ZONE_MUL)) ^ U32((retry * RETRY_MUL) & MASK))
        return s

    def uniforms(self, round_: int, stream: int) -> np.ndarray:
        """(W', Z) float64 uniforms in (0, 1), one per world and zone."""
        return self.uniforms_of(self.keys(round_, stream))

    def uniforms_of(self, keys: np.ndarray) -> np.ndarray:
        """(W', Z) uniforms of the worlds' keys of one round and stream (`stream_keys` rows)."""
        return to_unit(hash_owned(keys[:, None] ^ self.salt(0)))

    def uniforms_at(self, keys: np.ndarray, rows: np.ndarray, zones: np.ndarray) -> np.ndarray:
        """The `uniforms_of(keys)` entries at (rows[i], zones[i]) only."""
        return to_unit(hash_owned(keys.take(rows) ^ self.salt(0).take(zones)))

    def betas(self, alpha: np.ndarray, beta: np.ndarray, round_: int, stream: int, where=None) -> np.ndarray:
        """Beta(α, β) draws (α, β ≥ 1) as X / (X + Y), X ~ Gamma(α) on `stream`, Y ~ Gamma(β) on `stream + 1`;
        NaN outside `where`. Only the entries asked for are drawn; each entry's value does not depend on the rest."""
        return self.beta_draws(np.stack([alpha, beta]), self.stream_keys(round_, (stream, stream + 1)), where)

    def beta_ahead(self, round_: int, stream: int, extra: int):
        """A small batch's draws of round `round_` that do not depend on α, β: (keys (3, W') of `stream`,
        `stream + 1` and `extra`; Box–Muller normals and log u3 of the Marsaglia–Tsang retry rounds 0 and 1, each
        (2 streams, 2 rounds, W', Z); uniforms (W', Z) of `extra`). Computed for AHEAD_ROUNDS rounds at a time, so
        a tick's Beta draw pays only for the shape-dependent half; each value is the one `beta_draws`, `gammas`
        and `uniforms_of` compute alone (the same elementwise operations)."""
        streams = (stream, stream + 1, extra)
        block = self.block
        if block is None or block[1] != streams or not block[0] <= round_ < block[0] + AHEAD_ROUNDS:
            rounds = range(round_, round_ + AHEAD_ROUNDS)
            words = np.array([[lowbias32_int(r * ROUND_MUL + s) for s in streams] for r in rounds], U32)
            keys = hash_owned(self.world ^ words[:, :, None])  # (rounds, 3, W')
            u = to_unit(hash_owned(keys[:, :2, None, :, None] ^ self.salt_table()[:6, None, :]))
            u1, u2, u3 = u[:, :, 0::3], u[:, :, 1::3], u[:, :, 2::3]  # (rounds, 2 streams, 2 retry rounds, W', Z)
            normals = np.sqrt(-2.0 * np.log(u1)) * np.cos(TWO_PI * u2)
            uniforms = to_unit(hash_owned(keys[:, 2, :, None] ^ self.salt(0)))
            block = self.block = (round_, streams, keys, normals, np.log(u3), uniforms)
        i = round_ - block[0]
        return block[2][i], block[3][i], block[4][i], block[5][i]

    def beta_draws(self, shapes: np.ndarray, keys: np.ndarray, where=None, ahead=None) -> np.ndarray:
        """`betas` with α and β stacked as `shapes` (2, W', Z) and the two streams' keys (2, W') given; `ahead`:
        this round's (normals, log u3) of `beta_ahead`."""
        _, W, Z = shapes.shape
        todo = np.arange(W * Z) if where is None else where.ravel().nonzero()[0]
        n = todo.size
        # a.take(index, axis=1), not a[:, index]: NumPy's mixed slice-and-index path is ~5× slower (and the array
        # methods skip the ~0.7 µs Python layer of np.take, np.repeat, np.flatnonzero, np.full)
        if W == 1:  # one world: every entry is in row 0, and its key needs no gather
            zones, k = todo, keys[:, 0].repeat(n)
        else:
            rows = todo // Z
            zones = todo - rows * Z
            k = keys.take(rows, axis=1).reshape(-1)
        first_pass = None
        if ahead is not None:  # (2 streams, 2 rounds, n) → (2 rounds, 2n): the entries of both streams in a row
            first_pass = [a.reshape(2, 2, W * Z).take(todo, axis=2).transpose(1, 0, 2).reshape(2, -1) for a in ahead]
        g = self.gammas(shapes.reshape(2, -1).take(todo, axis=1).reshape(-1), k, np.concatenate((zones, zones)),
                        first_pass)
        out = np.empty(W * Z)
        out.fill(np.nan)
        gx = g[:n]
        out[todo] = gx / (gx + g[n:])
        return out.reshape(W, Z)

    def gammas(self, shape: np.ndarray, keys: np.ndarray, zones: np.ndarray, first_pass=None) -> np.ndarray:
        """Gamma(shape, 1) draws for shape ≥ 1 (Marsaglia–Tsang), entry i keyed on (keys[i], zones[i]).

        Entry i takes the first accepted of its retry rounds 0, 1, 2, …. Few entries (a small batch) evaluate two
        rounds per pass, since almost every entry is accepted within two and NumPy's per-call cost dominates;
        many entries one round per pass. Either way each entry gets the value it would get alone. `first_pass`:
        the normals and log u3 of retry rounds 0 and 1, (2, n) each, already drawn (`beta_ahead`)."""
        d = shape - 1.0 / 3.0
        c = 1.0 / np.sqrt(9.0 * d)
        drawn = d  # the fallback after GAMMA_ROUNDS rejections in a row; replaced (not written) by the first pass
        pending = None  # None: every entry (the first pass needs no gathers)
        table = self.salt_table()
        first = 0
        while first < GAMMA_ROUNDS:
            n = d.size if pending is None else pending.size
            rounds = min(2 if n < SMALL else 1, GAMMA_ROUNDS - first)
            if pending is None:
                k, z, cc, dd = keys, zones, c, d
            else:
                k, z, cc, dd = keys[pending], zones[pending], c[pending], d[pending]
            if pending is None and first_pass is not None:
                x, log_u3 = first_pass
                assert rounds == 2 == len(x), "drawn ahead: the two retry rounds of a small batch's first pass"
            else:
                salts = table[3 * first:3 * (first + rounds)].take(z, axis=1)  # (3·rounds, n), row = retry
                u = to_unit(hash_owned(np.bitwise_xor(k, salts, out=salts)))
                u1, u2, u3 = u[0::3], u[1::3], u[2::3]  # (rounds, n) each
                x = np.sqrt(-2.0 * np.log(u1)) * np.cos(TWO_PI * u2)  # Box–Muller normal
                log_u3 = np.log(u3)
            first += rounds
            v = (1.0 + cc * x) ** 3
            positive = v > 0
            dv = dd * v
            # every logarithm's argument is > 0 (u in (0, 1); v ≤ 0 replaced by 1): no floating-point warnings
            accept = positive & (log_u3 < 0.5 * x * x + dd - dv + dd * np.log(np.where(positive, v, 1.0)))
            if rounds == 1:
                ok, value = accept[0], dv[0]
            else:  # the first accepted of the two rounds
                ok, value = accept[0] | accept[1], np.where(accept[0], dv[0], dv[1])
            if pending is None:
                drawn = np.where(ok, value, d)
                if ok.all():
                    break
                pending = (~ok).nonzero()[0]
                continue
            cols = ok.nonzero()[0]
            drawn[pending[cols]] = value[cols]
            pending = pending[~ok]
            if pending.size == 0:
                break
        return drawn

    def salt_table(self) -> np.ndarray:
        """(3·GAMMA_ROUNDS, Z) hashed salts of every retry and zone (computed once)."""
        if self.table is None:
            self.table = np.stack([self.salt(r) for r in range(3 * GAMMA_ROUNDS)])
        return self.table
