"""Static layout of a world: which tile works on which move, cell difficulty, curriculum zones, faults.

Conventions: cell index = i * size + j (i row, j column); tile index = ty * L + tx on the L×L tile lattice
(L = size // tile); orders list tiles as (x, y) = (column, row). Everything is plain NumPy, built once on the host.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULT_RADII = (0.25, 0.5, 0.75, 1.0, 1.42)
_DEAD_STREAM, _PATCH_STREAM = 1, 2  # independent random streams per purpose, so dead cells never track the mapping


@dataclass(frozen=True, eq=False)
class Layout:
    """Static per-cell and per-tile tables of one world; arrays are read-only."""

    size: int  # G, cells per side
    tile: int  # t, cells per tile side
    lattice: int  # L = G // t, tiles per side
    n_moves: int  # M
    n_zones: int  # n_rings * n_sectors
    n_rings: int  # one per curriculum stage radius
    n_sectors: int
    move_of_tile: np.ndarray  # (L*L,) i32, -1 = no task
    tile_of_move: np.ndarray  # (M,) i32
    tile_of_cell: np.ndarray  # (G*G,) i32
    move_of_cell: np.ndarray  # (G*G,) i32, -1 = no task
    difficulty: np.ndarray  # (G*G,) f32, 0 at the centre, ≈1.39 at the corners for the radial map
    tile_difficulty: np.ndarray  # (L*L,) f32, at the tile centre (mean over the tile for a custom map)
    tile_ring: np.ndarray  # (L*L,) i32, first stage s with tile_difficulty <= radii[s]; n_rings if none
    tile_sector: np.ndarray  # (L*L,) i32 in [0, n_sectors)
    tile_zone: np.ndarray  # (L*L,) i32 = ring * n_sectors + sector, -1 when ring == n_rings
    zone_of_cell: np.ndarray  # (G*G,) i16
    zone_ring: np.ndarray  # (n_zones,) i32
    alive0: np.ndarray  # (G*G,) bool, False = dead from the start
    c0_map: np.ndarray | None  # (G*G,) f32 base competence, or None = the scalar c0 everywhere


# --- move → tile orders: (L*L, 2) int32 (x, y) of the k-th tile -----------------------------------------------------


def spiral_index(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Return the step at which the unbounded spiral (right, down, left, up; runs 1,1,2,2,…) reaches offset (dx, dy)."""
    dx = np.asarray(dx, dtype=np.int64)
    dy = np.asarray(dy, dtype=np.int64)
    r = np.maximum(np.abs(dx), np.abs(dy))
    # ring r >= 1 holds steps (2r-1)^2 … (2r+1)^2 - 1, starting at (r, 1-r), in four sides of 2r steps each
    base = (2 * r - 1) ** 2
    side = np.select(
        [(dx == r) & (dy > -r), (dy == r) & (dx < r), (dx == -r) & (dy < r)],
        [dy + r - 1, 2 * r + (r - 1 - dx), 4 * r + (r - 1 - dy)],
        default=6 * r + dx + r - 1,
    )
    return np.where(r == 0, 0, base + side)


def _check_lattice(L: int) -> int:
    if not isinstance(L, (int, np.integer)) or isinstance(L, bool) or L < 1:
        raise ValueError(f"lattice size must be a positive integer, got {L!r}")
    return int(L)


def _lattice_xy(L: int) -> np.ndarray:
    """Return (L*L, 2) int32 (x, y) of every tile in row-major order."""
    y, x = np.divmod(np.arange(L * L, dtype=np.int32), np.int32(L))
    return np.stack([x, y], axis=1)


def spiral_order(L: int) -> np.ndarray:
    """Return the tiles (x, y) in the order of the outward spiral from ((L−1)//2, (L−1)//2), skipping outside points."""
    L = _check_lattice(L)
    xy = _lattice_xy(L)
    centre = (L - 1) // 2
    steps = spiral_index(xy[:, 0] - centre, xy[:, 1] - centre)
    return xy[np.argsort(steps, kind="stable")]


def raster_order(L: int) -> np.ndarray:
    """Return the tiles (x, y) in row-major order."""
    return _lattice_xy(_check_lattice(L))


def hilbert_order(L: int) -> np.ndarray:
    """Return the tiles (x, y) along a Hilbert curve on the next power of two, skipping points outside the lattice."""
    L = _check_lattice(L)
    n = 1 << (L - 1).bit_length()
    d = np.arange(n * n, dtype=np.int64)
    x = np.zeros_like(d)
    y = np.zeros_like(d)
    t = d.copy()
    s = 1
    while s < n:  # classic d2xy, vectorised over d
        rx = 1 & (t // 2)
        ry = 1 & (t ^ rx)
        flip = (ry == 0) & (rx == 1)
        x = np.where(flip, s - 1 - x, x)
        y = np.where(flip, s - 1 - y, y)
        x, y = np.where(ry == 0, y, x), np.where(ry == 0, x, y)
        x += s * rx
        y += s * ry
        t //= 4
        s *= 2
    inside = (x < L) & (y < L)
    return np.stack([x[inside], y[inside]], axis=1).astype(np.int32)


def random_order(L: int, seed: int = 0) -> np.ndarray:
    """Return the tiles (x, y) in a seeded random order (the control that breaks spatial structure)."""
    L = _check_lattice(L)
    return _lattice_xy(L)[np.random.default_rng(seed).permutation(L * L)]


MAPPINGS = {"spiral": spiral_order, "raster": raster_order, "hilbert": hilbert_order, "random": random_order}


# --- difficulty, zones, faults, competence ---------------------------------------------------------------------------


def radial_difficulty(size: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Return the paper's difficulty sqrt((i − c)² + (j − c)²) / (G/2), c = (G − 1)/2, in float64."""
    c = (size - 1) / 2
    return np.sqrt((np.asarray(rows, np.float64) - c) ** 2 + (np.asarray(cols, np.float64) - c) ** 2) / (size / 2)


def _tile_centres(size: int, tile: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (row, column) of every tile centre in float64, tile-index order."""
    L = size // tile
    ty, tx = np.divmod(np.arange(L * L, dtype=np.float64), L)
    half = (tile - 1) / 2
    return ty * tile + half, tx * tile + half


def _check_map(name: str, arr, size: int, dtype) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.shape != (size, size):
        raise ValueError(f"{name} must have shape ({size}, {size}) to match the grid, got {arr.shape}")
    return arr.astype(dtype)


def _dead_cells(size: int, dead_share: float, dead_mask, seed: int) -> np.ndarray:
    """Return the (G*G,) bool mask of dead cells: exactly round(share·G²) seeded cells, OR the given mask."""
    if not 0.0 <= float(dead_share) <= 1.0:
        raise ValueError(f"dead_share must be in [0, 1], got {dead_share}")
    n = size * size
    dead = np.zeros(n, dtype=bool)
    count = int(round(float(dead_share) * n))
    if count:
        dead[np.random.default_rng([seed, _DEAD_STREAM]).permutation(n)[:count]] = True
    if dead_mask is not None:
        dead |= _check_map("dead_mask", dead_mask, size, bool).reshape(-1)
    return dead


def _patch_competence(size: int, c0: float, patches, seed: int) -> np.ndarray:
    """Return (G*G,) f32 base competence: `outside` everywhere, `inside` within `radius` of seeded patch centres."""
    if len(patches) == 3:
        count, radius, inside = patches
        outside = c0
    elif len(patches) == 4:
        count, radius, inside, outside = patches
    else:
        raise ValueError(f"c0_patches must be (count, radius, inside, outside), got {patches!r}")
    if int(count) != count or count < 0 or radius < 0:
        raise ValueError(f"c0_patches needs count >= 0 (integer) and radius >= 0, got count={count}, radius={radius}")
    for name, value in (("inside", inside), ("outside", outside)):
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"c0_patches {name} competence must be in [0, 1], got {value}")
    centres = np.random.default_rng([seed, _PATCH_STREAM]).integers(0, size, size=(int(count), 2))
    rows, cols = np.divmod(np.arange(size * size, dtype=np.int64), size)
    near = np.zeros(size * size, dtype=bool)
    for ci, cj in centres:
        near |= (rows - ci) ** 2 + (cols - cj) ** 2 <= float(radius) ** 2
    return np.where(near, np.float32(inside), np.float32(outside)).astype(np.float32)


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(arr)
    arr.flags.writeable = False
    return arr


def build_layout(
    size: int,
    tile: int,
    n_moves: int,
    *,
    mapping: str = "spiral",
    radii=DEFAULT_RADII,
    sectors: int = 8,
    seed: int = 0,
    difficulty_map=None,
    dead_share: float = 0.0,
    dead_mask=None,
    c0: float = 0.1,
    c0_patches=None,
) -> Layout:
    """Build the static layout of a G×G grid of t×t tiles holding M moves; raise ValueError on bad input."""
    if size < 1 or tile < 1 or size % tile:
        raise ValueError(f"tile ({tile}) must be a positive divisor of the grid size ({size})")
    L = size // tile
    if not 0 <= n_moves <= L * L:
        raise ValueError(
            f"{n_moves:,} moves do not fit on {L}×{L} = {L * L:,} tiles; "
            "use a bigger grid, smaller tiles or fewer disks"
        )
    if mapping not in MAPPINGS:
        raise ValueError(f"unknown mapping {mapping!r} (choose one of: {', '.join(MAPPINGS)})")
    radii = np.asarray(radii, dtype=np.float64)
    if radii.ndim != 1 or radii.size < 1 or np.any(np.diff(radii) <= 0) or radii[0] < 0:
        raise ValueError(f"radii must be a non-empty increasing list of non-negative numbers, got {radii.tolist()}")
    if sectors < 1:
        raise ValueError(f"sectors must be at least 1, got {sectors}")

    order = MAPPINGS[mapping](L, seed) if mapping == "random" else MAPPINGS[mapping](L)
    tile_of_move = (order[:n_moves, 1] * L + order[:n_moves, 0]).astype(np.int32)
    move_of_tile = np.full(L * L, -1, dtype=np.int32)
    move_of_tile[tile_of_move] = np.arange(n_moves, dtype=np.int32)

    rows, cols = np.divmod(np.arange(size * size, dtype=np.int64), size)
    tile_of_cell = ((rows // tile) * L + cols // tile).astype(np.int32)
    centre_rows, centre_cols = _tile_centres(size, tile)
    if difficulty_map is None:
        difficulty = radial_difficulty(size, rows, cols).astype(np.float32)
        tile_difficulty = radial_difficulty(size, centre_rows, centre_cols).astype(np.float32)
    else:
        grid = _check_map("difficulty_map", difficulty_map, size, np.float64)
        if not np.all(np.isfinite(grid)):
            raise ValueError("difficulty_map must be finite everywhere")
        difficulty = grid.reshape(-1).astype(np.float32)
        tile_difficulty = grid.reshape(L, tile, L, tile).mean(axis=(1, 3)).reshape(-1).astype(np.float32)

    # compare in float32, as the device does: a tile is unlocked at stage s when tile_difficulty <= radii[s]
    within = tile_difficulty[:, None] <= radii.astype(np.float32)[None, :]
    n_rings = int(radii.size)
    tile_ring = np.where(within.any(axis=1), within.argmax(axis=1), n_rings).astype(np.int32)
    c = (size - 1) / 2
    angle = np.arctan2(centre_rows - c, centre_cols - c)
    tile_sector = (((angle + math.pi) / (2 * math.pi) * sectors).astype(np.int64) % sectors).astype(np.int32)
    n_zones = n_rings * int(sectors)
    if n_zones > np.iinfo(np.int16).max:
        raise ValueError(f"{n_zones} zones do not fit int16; use fewer radii or sectors")
    tile_zone = np.where(tile_ring < n_rings, tile_ring * sectors + tile_sector, -1).astype(np.int32)

    dead = _dead_cells(size, dead_share, dead_mask, seed)
    c0_map = None if c0_patches is None else _frozen(_patch_competence(size, c0, c0_patches, seed))
    return Layout(
        size=int(size),
        tile=int(tile),
        lattice=L,
        n_moves=int(n_moves),
        n_zones=n_zones,
        n_rings=n_rings,
        n_sectors=int(sectors),
        move_of_tile=_frozen(move_of_tile),
        tile_of_move=_frozen(tile_of_move),
        tile_of_cell=_frozen(tile_of_cell),
        move_of_cell=_frozen(move_of_tile[tile_of_cell]),
        difficulty=_frozen(difficulty),
        tile_difficulty=_frozen(tile_difficulty),
        tile_ring=_frozen(tile_ring),
        tile_sector=_frozen(tile_sector),
        tile_zone=_frozen(tile_zone),
        zone_of_cell=_frozen(tile_zone[tile_of_cell].astype(np.int16)),
        zone_ring=_frozen(np.arange(n_zones, dtype=np.int32) // np.int32(sectors)),
        alive0=_frozen(~dead),
        c0_map=c0_map,
    )


def unlocked_tiles(layout: Layout, stage: int) -> np.ndarray:
    """Return the (L*L,) bool mask of tiles unlocked at curriculum stage `stage` (ring <= stage)."""
    return layout.tile_ring <= stage


def unlocked_cells(layout: Layout, stage: int) -> np.ndarray:
    """Return the (G*G,) bool mask of cells whose tile is unlocked at curriculum stage `stage`."""
    return unlocked_tiles(layout, stage)[layout.tile_of_cell]
