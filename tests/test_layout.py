"""Layout: move → tile orders, difficulty, zones, faults, base-competence patches, ASCII/PNG spatial maps."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from engine.sim.layout import (
    build_layout,
    hilbert_order,
    random_order,
    raster_order,
    spiral_order,
    unlocked_cells,
    unlocked_tiles,
)
from engine.sim.spatial_maps import map_from_ascii, map_from_png, mask_from_ascii, mask_from_png

ORDERS = {"spiral": spiral_order, "raster": raster_order, "hilbert": hilbert_order, "random": random_order}


def walk_spiral(L: int) -> list[tuple[int, int]]:
    """DESIGN §2.1 literally: right, down, left, up with runs 1,1,2,2,3,3,…, skipping points off the lattice."""
    x = y = (L - 1) // 2
    visited = [(x, y)]
    directions = [(1, 0), (0, 1), (-1, 0), (0, -1)]
    turn, run = 0, 1
    while len(visited) < L * L:
        for _ in range(2):
            dx, dy = directions[turn % 4]
            for _ in range(run):
                x, y = x + dx, y + dy
                if 0 <= x < L and 0 <= y < L:
                    visited.append((x, y))
            turn += 1
        run += 1
    return visited


def index_grid(order: np.ndarray, L: int) -> np.ndarray:
    """Return the L×L grid (row y, column x) of the step at which each tile is visited."""
    grid = np.full((L, L), -1)
    for k, (x, y) in enumerate(order):
        grid[y, x] = k
    return grid


def parse_grid(art: str) -> np.ndarray:
    return np.array([[int(v) for v in line.split()] for line in art.strip().splitlines()])


# --- orders --------------------------------------------------------------------------------------------------------


def test_spiral_4x4_drawn():
    expected = """
         6  7  8  9
         5  0  1 10
         4  3  2 11
        15 14 13 12
    """
    np.testing.assert_array_equal(index_grid(spiral_order(4), 4), parse_grid(expected))


def test_spiral_5x5_drawn():
    expected = """
        20 21 22 23 24
        19  6  7  8  9
        18  5  0  1 10
        17  4  3  2 11
        16 15 14 13 12
    """
    np.testing.assert_array_equal(index_grid(spiral_order(5), 5), parse_grid(expected))


@pytest.mark.parametrize("L", range(1, 18))
def test_spiral_is_the_literal_walk_and_grows_ring_by_ring(L):
    order = spiral_order(L)
    assert order.dtype == np.int32 and order.shape == (L * L, 2)
    assert [tuple(p) for p in order.tolist()] == walk_spiral(L)
    x0 = y0 = (L - 1) // 2
    ring = np.maximum(np.abs(order[:, 0] - x0), np.abs(order[:, 1] - y0))
    assert np.all(np.diff(ring) >= 0)


@pytest.mark.parametrize("name", ORDERS)
@pytest.mark.parametrize("L", [1, 2, 3, 5, 8, 12, 17])
def test_every_order_is_a_bijection_onto_the_lattice(name, L):
    order = ORDERS[name](L)
    assert order.shape == (L * L, 2) and order.dtype == np.int32
    assert np.all((order >= 0) & (order < L))
    assert len({tuple(p) for p in order.tolist()}) == L * L


@pytest.mark.parametrize("L", [1, 2, 4, 8, 16])
def test_hilbert_steps_are_grid_neighbours(L):
    steps = np.abs(np.diff(hilbert_order(L), axis=0)).sum(axis=1)
    assert np.all(steps == 1)


def test_hilbert_2x2_drawn():
    np.testing.assert_array_equal(index_grid(hilbert_order(2), 2), parse_grid("0 3\n1 2"))


def test_random_order_is_seeded():
    assert np.array_equal(random_order(8, seed=3), random_order(8, seed=3))
    assert not np.array_equal(random_order(8, seed=3), random_order(8, seed=4))


def test_raster_is_row_major():
    assert raster_order(3)[:4].tolist() == [[0, 0], [1, 0], [2, 0], [0, 1]]


# --- build_layout --------------------------------------------------------------------------------------------------


def test_small_world_tables_are_consistent():
    # 8×8 cells, 2×2 tiles, 4×4 lattice, 13 moves along the spiral: tiles 13..15 of the walk stay idle
    layout = build_layout(8, 2, 13)
    assert (layout.lattice, layout.n_moves) == (4, 13)
    expected = """
         6  7  8  9
         5  0  1 10
         4  3  2 11
        -1 -1 -1 12
    """
    np.testing.assert_array_equal(layout.move_of_tile.reshape(4, 4), parse_grid(expected))
    assert np.array_equal(layout.move_of_tile[layout.tile_of_move], np.arange(13))
    cells = layout.move_of_cell.reshape(8, 8)
    assert cells[2, 2] == cells[3, 3] == 0 and cells[0, 7] == 9 and cells[7, 0] == -1
    assert np.array_equal(layout.tile_of_cell.reshape(8, 8)[::2, ::2].reshape(-1), np.arange(16))
    with pytest.raises(ValueError):
        layout.move_of_cell[0] = 5  # frozen tables


@pytest.mark.parametrize("size, tile, moves, message", [(8, 3, 1, "divisor"), (8, 2, 17, "do not fit")])
def test_bad_sizes_are_rejected(size, tile, moves, message):
    with pytest.raises(ValueError, match=message):
        build_layout(size, tile, moves)


def test_unknown_mapping_is_rejected():
    with pytest.raises(ValueError, match="unknown mapping 'zigzag'"):
        build_layout(8, 2, 4, mapping="zigzag")


@pytest.mark.parametrize("mapping", ORDERS)
def test_mappings_place_every_move_once(mapping):
    layout = build_layout(16, 2, 50, mapping=mapping, seed=7)
    assert np.array_equal(np.sort(layout.move_of_tile[layout.move_of_tile >= 0]), np.arange(50))


def test_difficulty_is_zero_at_centre_and_about_1_39_at_corners():
    layout = build_layout(64, 4, 255)
    d = layout.difficulty.reshape(64, 64)
    assert d.dtype == np.float32
    assert d[31, 31] == d[32, 32] < 0.03 and d.min() == d[31, 31]
    assert d[0, 0] == d[63, 63] == d[0, 63] == pytest.approx(np.sqrt(2) * 31.5 / 32, abs=1e-6)
    assert layout.tile_difficulty.reshape(16, 16)[0, 0] == pytest.approx(np.sqrt(2) * 30 / 32, abs=1e-6)


def test_tile_difficulty_is_the_cell_difficulty_for_unit_tiles():
    layout = build_layout(10, 1, 100)
    assert np.array_equal(layout.tile_difficulty, layout.difficulty)


def test_difficulty_map_replaces_the_radial_one_and_tiles_take_the_mean():
    grid = np.arange(16, dtype=np.float64).reshape(4, 4)
    layout = build_layout(4, 2, 4, difficulty_map=grid)
    assert np.array_equal(layout.difficulty, grid.reshape(-1).astype(np.float32))
    assert layout.tile_difficulty.tolist() == [2.5, 4.5, 10.5, 12.5]
    with pytest.raises(ValueError, match="shape"):
        build_layout(4, 2, 4, difficulty_map=np.zeros((3, 3)))


def test_zones_cover_the_paper_grid():
    layout = build_layout(64, 4, 255)
    assert (layout.n_rings, layout.n_sectors, layout.n_zones) == (5, 8, 40)
    assert np.all(layout.tile_ring < 5)  # the last radius, 1.42, reaches the corner tiles
    assert np.array_equal(layout.tile_zone, layout.tile_ring * 8 + layout.tile_sector)
    assert np.all((layout.tile_sector >= 0) & (layout.tile_sector < 8))
    assert layout.zone_of_cell.dtype == np.int16
    assert np.array_equal(layout.zone_of_cell, layout.tile_zone[layout.tile_of_cell])
    assert np.array_equal(layout.zone_ring, np.repeat(np.arange(5), 8))
    assert set(np.unique(layout.tile_zone)) == set(range(40))
    # rings are stage bands: the radius of ring s bounds its tiles, ring s-1's does not
    radii = np.float32([0.25, 0.5, 0.75, 1.0, 1.42])
    assert np.all(layout.tile_difficulty <= radii[layout.tile_ring])
    inner = layout.tile_ring > 0
    assert np.all(layout.tile_difficulty[inner] > radii[layout.tile_ring[inner] - 1])


def test_sectors_follow_the_tile_centre_angle():
    # 3×3 lattice of unit tiles: the centre is c = 1; angle = atan2(row - c, col - c), sector = (angle + π)/(2π)·S
    layout = build_layout(3, 1, 9, sectors=4, radii=(0.5, 2.0))
    expected = """
        0 1 1
        0 2 2
        3 3 2
    """
    np.testing.assert_array_equal(layout.tile_sector.reshape(3, 3), parse_grid(expected))


def test_tiles_beyond_the_last_radius_have_no_zone():
    layout = build_layout(8, 1, 64, radii=(0.5,), sectors=2)
    outside = layout.tile_ring == 1
    assert outside.any() and np.all(layout.tile_zone[outside] == -1)
    assert np.all((layout.tile_zone[~outside] >= 0) & (layout.tile_zone[~outside] < layout.n_zones))


def test_unlocked_tiles_grow_with_stage():
    layout = build_layout(64, 4, 255)
    counts = [int(unlocked_tiles(layout, s).sum()) for s in range(-1, 5)]
    assert counts == [0, 12, 52, 112, 208, 256]
    assert unlocked_cells(layout, 0).sum() == 12 * 16


def test_dead_share_is_exact_and_seeded():
    def dead(seed, share=0.1):
        return ~build_layout(32, 2, 100, dead_share=share, seed=seed).alive0

    assert dead(0).sum() == round(0.1 * 32 * 32)
    assert np.array_equal(dead(0), dead(0))
    assert not np.array_equal(dead(0), dead(1))
    assert dead(0, 0.0).sum() == 0 and dead(0, 1.0).all()
    with pytest.raises(ValueError, match="dead_share"):
        dead(0, 1.5)


def test_dead_cells_do_not_track_the_random_mapping():
    layout = build_layout(16, 1, 256, mapping="random", dead_share=0.25, seed=5)
    first_moves = set(layout.tile_of_move[:64].tolist())
    assert set(np.flatnonzero(~layout.alive0).tolist()) != first_moves


def test_dead_mask_is_combined_with_dead_share():
    mask = mask_from_ascii("#.\n..", 8)
    layout = build_layout(8, 2, 16, dead_share=0.25, dead_mask=mask, seed=2)
    dead = ~layout.alive0.reshape(8, 8)
    assert dead[:4, :4].all() and 16 <= dead.sum() <= 32


def test_c0_patches():
    layout = build_layout(32, 2, 100, c0_patches=(3, 2.5, 0.6, 0.05), seed=4)
    c0 = layout.c0_map
    assert c0.dtype == np.float32 and c0.shape == (32 * 32,)
    assert set(np.unique(c0).tolist()) == {np.float32(0.6), np.float32(0.05)}
    inside = int((c0 == np.float32(0.6)).sum())
    assert 21 <= inside <= 3 * 21  # a radius-2.5 disc holds 21 cells; patches may overlap or be clipped
    again = build_layout(32, 2, 100, c0_patches=(3, 2.5, 0.6, 0.05), seed=4).c0_map
    assert np.array_equal(c0, again)
    single = build_layout(8, 1, 4, c0_patches=(1, 0, 0.9, 0.1)).c0_map
    assert (single == np.float32(0.9)).sum() == 1
    assert build_layout(8, 1, 4).c0_map is None
    assert np.all(build_layout(8, 1, 4, c0=0.3, c0_patches=(0, 1, 0.9)).c0_map == np.float32(0.3))
    with pytest.raises(ValueError, match="inside"):
        build_layout(8, 1, 4, c0_patches=(1, 1, 1.5, 0.1))


# --- spatial maps --------------------------------------------------------------------------------------------------


def test_ascii_mask_scales_by_nearest_neighbour():
    art = """
        #..
        .X.
        ...
    """
    up = mask_from_ascii(art, 6)
    expected = np.kron(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]]), np.ones((2, 2), int)).astype(bool)
    np.testing.assert_array_equal(up, expected)
    assert mask_from_ascii(art, 3).tolist() == expected[::2, ::2].tolist()
    down = mask_from_ascii("##..\n##..\n....\n....", 2)
    assert down.tolist() == [[True, False], [False, False]]


@pytest.mark.parametrize(
    "art, message", [("#.\n...", "square"), ("#a\n..", "row 1 has 'a'"), ("", "no rows")]
)
def test_ascii_mask_errors_are_one_line(art, message):
    with pytest.raises(ValueError, match=message) as err:
        mask_from_ascii(art, 4)
    assert "\n" not in str(err.value)


def test_ascii_difficulty_map():
    grid = map_from_ascii("09\n90", 4)
    assert grid.shape == (4, 4)
    assert grid[0, 0] == 0 and grid[0, 3] == pytest.approx(1.42) and grid[3, 0] == pytest.approx(1.42)
    with pytest.raises(ValueError, match="row 1 has '#'"):
        map_from_ascii("0#\n00", 4)


def test_png_mask_and_map(tmp_path):
    from PIL import Image

    pixels = np.array([[0, 255], [255, 255]], dtype=np.uint8)
    path = tmp_path / "mask.png"
    Image.fromarray(pixels, mode="L").save(path)
    assert mask_from_png(path, 4).tolist() == np.kron([[1, 0], [0, 0]], np.ones((2, 2), int)).astype(bool).tolist()
    grid = map_from_png(path, 2)
    assert grid[0, 0] == 0 and grid[1, 1] == pytest.approx(1.42)
    with pytest.raises(ValueError, match="cannot read image"):
        mask_from_png(tmp_path / "missing.png", 4)


def test_layout_modules_never_import_taichi():
    code = "import sys, engine.sim.layout, engine.sim.spatial_maps, engine.sim.tasks; sys.exit('taichi' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_ascii_rows_may_be_spaced_out():
    assert mask_from_ascii("# . .\n. X .\n. . .", 3).tolist() == mask_from_ascii("#..\n.X.\n...", 3).tolist()
