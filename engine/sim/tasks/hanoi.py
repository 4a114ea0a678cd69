"""Optimal Tower of Hanoi move tables: closed form for 3 pegs, Frame–Stewart for 4 or more.

Disks are numbered 0 (smallest) … n−1, pegs 0 … P−1; every plan starts with all disks on peg 0 and ends with all
disks on the last peg. A move table is an (M, 3) int32 array of (disk, src, dst) rows.
"""

from __future__ import annotations

import numpy as np

from scenarios.move_count import frame_stewart_split, moves_for

MAX_MOVES = 2**24 - 1  # 3 pegs, 24 disks: the largest table we build (200 MB as int32)
MAX_DISKS = 64
MAX_PEGS = 16


def check_size(disks: int, pegs: int) -> None:
    """Raise ValueError with a one-line message unless (disks, pegs) is a Hanoi size we can build."""
    if not isinstance(disks, (int, np.integer)) or isinstance(disks, bool) or not 1 <= disks <= MAX_DISKS:
        raise ValueError(f"disks must be an integer in 1..{MAX_DISKS}, got {disks!r}")
    if not isinstance(pegs, (int, np.integer)) or isinstance(pegs, bool) or not 3 <= pegs <= MAX_PEGS:
        raise ValueError(f"pegs must be an integer in 3..{MAX_PEGS}, got {pegs!r}")
    length = optimal_length(int(disks), int(pegs))
    if length > MAX_MOVES:
        raise ValueError(
            f"{disks} disks on {pegs} pegs need {length:,} moves, more than the {MAX_MOVES:,} we build; use fewer disks"
        )


def optimal_length(disks: int, pegs: int) -> int:
    """Return the optimal number of moves (2^n − 1 for 3 pegs, the Frame–Stewart number for more)."""
    if disks < 0 or pegs < 3:
        raise ValueError(f"need disks >= 0 and pegs >= 3, got disks={disks}, pegs={pegs}")
    return moves_for(disks, pegs)


def three_peg_moves(disks: int) -> np.ndarray:
    """Return the optimal 3-peg plan for `disks` disks from peg 0 to peg 2, vectorised (closed form)."""
    if not 0 <= disks <= 24:
        raise ValueError(f"3-peg plans are built for 0..24 disks, got {disks}")
    # In-place uint32 arithmetic on three buffers: at 24 disks first-touch page faults dominate the cost.
    three = np.uint32(3)
    k = np.arange(1, 2**disks, dtype=np.uint32)
    src = k - np.uint32(1)
    dst = k | src
    np.bitwise_and(k, src, out=src)
    np.add(dst, np.uint32(1), out=dst)
    np.remainder(dst, three, out=dst)
    np.bitwise_xor(k, src, out=k)  # k & (k - 1) clears the lowest set bit, so the xor keeps only that bit
    np.remainder(src, three, out=src)
    if disks % 2 == 0:  # the closed form ends on peg 1 for even n: swap pegs 1 and 2, i.e. p -> (3 - p) mod 3
        for column in (src, dst):
            np.subtract(three, column, out=column)
            np.remainder(column, three, out=column)
    out = np.empty((k.size, 3), dtype=np.int32)
    # trailing zeros of k = exponent of its lowest set bit; a power of two <= 2^23 is exact in float32
    exponent = k.astype(np.float32).view(np.uint32)
    np.right_shift(exponent, np.uint32(23), out=exponent)
    np.subtract(exponent, np.uint32(127), out=exponent)
    out[:, 0] = exponent
    out[:, 1] = src
    out[:, 2] = dst
    return out


def _plan(disks: int, pegs: tuple[int, ...], first_disk: int) -> list[np.ndarray]:
    """Return move blocks taking disks first_disk … first_disk+disks−1 from pegs[0] to pegs[1], spares pegs[2:]."""
    if disks == 0:
        return []
    src, dst, *spares = pegs
    if len(pegs) == 3:
        block = three_peg_moves(disks)
        block[:, 0] += first_disk
        block[:, 1:] = np.array([src, spares[0], dst], dtype=np.int32)[block[:, 1:]]
        return [block]
    if disks == 1:
        return [np.array([[first_disk, src, dst]], dtype=np.int32)]
    k = frame_stewart_split(disks, len(pegs))[1]
    aside, rest = spares[0], tuple(spares[1:])
    return (
        _plan(k, (src, aside, dst, *rest), first_disk)
        + _plan(disks - k, (src, dst, *rest), first_disk + k)
        + _plan(k, (aside, dst, src, *rest), first_disk)
    )


def hanoi_moves(disks: int, pegs: int = 3) -> np.ndarray:
    """Return an optimal (M, 3) int32 plan (disk, src, dst) moving every disk from peg 0 to peg pegs−1."""
    check_size(disks, pegs)
    disks, pegs = int(disks), int(pegs)
    if pegs == 3:
        return three_peg_moves(disks)
    blocks = _plan(disks, (0, pegs - 1, *range(1, pegs - 1)), 0)
    return np.concatenate(blocks, axis=0)
