"""Tasks: optimal Hanoi move tables (3 and 4 pegs), the independent validator, peg stacks after a prefix."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.sim.tasks import Task, check_plan, make_task, optimal_length
from engine.sim.tasks.validate import frame_stewart_length

FRAME_STEWART_4 = [1, 3, 5, 9, 13, 17, 25, 33, 41, 49, 65, 81, 97, 113, 129, 161, 193, 225, 257, 289]  # DESIGN §2.1


def recursive_plan(n: int, src: int = 0, dst: int = 2, via: int = 1) -> list[tuple[int, int, int]]:
    """The textbook recursion, independent of the closed form the engine uses."""
    if n == 0:
        return []
    return recursive_plan(n - 1, src, via, dst) + [(n - 1, src, dst)] + recursive_plan(n - 1, via, dst, src)


def simulate(moves, n_disks: int, n_pegs: int) -> list[list[int]]:
    """Apply moves to explicit stacks, asserting each one is legal."""
    pegs = [list(range(n_disks - 1, -1, -1))] + [[] for _ in range(n_pegs - 1)]
    for disk, src, dst in moves:
        assert pegs[src] and pegs[src][-1] == disk
        assert not pegs[dst] or pegs[dst][-1] > disk
        pegs[dst].append(pegs[src].pop())
    return pegs


# --- generator -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(1, 11))
def test_closed_form_matches_recursion(n):
    task = make_task("hanoi", n, 3)
    assert task.moves.tolist() == [list(m) for m in recursive_plan(n)]


def test_task_interface():
    task = make_task("hanoi", 4, 3)
    assert isinstance(task, Task)
    assert (task.name, task.n_disks, task.n_pegs, task.n_moves, task.n_categories) == ("hanoi", 4, 3, 15, 4)
    assert task.moves.shape == (15, 3) and task.moves.dtype == np.int32
    categories = task.categories()
    assert categories.dtype == np.int32 and categories.tolist() == task.moves[:, 0].tolist()
    assert np.bincount(categories).tolist() == [8, 4, 2, 1]  # disk d moves 2^(n-1-d) times
    with pytest.raises(ValueError):
        task.moves[0, 0] = 3  # the table is uploaded once and shared: read-only
    assert task.validate(task.moves).ok


@pytest.mark.parametrize(
    "kind, disks, pegs, message",
    [
        ("tetris", 3, 3, "unknown task kind"),
        ("hanoi", 0, 3, "disks"),
        ("hanoi", 25, 3, "moves"),
        ("hanoi", 3, 2, "pegs"),
    ],
)
def test_make_task_rejects_bad_input(kind, disks, pegs, message):
    with pytest.raises(ValueError, match=message):
        make_task(kind, disks, pegs)


def test_four_peg_lengths_match_design():
    assert [optimal_length(n, 4) for n in range(1, 21)] == FRAME_STEWART_4
    assert [make_task("hanoi", n, 4).n_moves for n in range(1, 21)] == FRAME_STEWART_4


@pytest.mark.parametrize("pegs", [3, 4, 5, 6])
def test_generator_and_validator_lengths_agree(pegs):
    # two different formulas: the generator's min-recurrence and the validator's 2^t-increment count
    assert [optimal_length(n, pegs) for n in range(1, 31)] == [frame_stewart_length(n, pegs) for n in range(1, 31)]


@pytest.mark.parametrize("n, pegs", [(n, 4) for n in range(1, 13)] + [(6, 5), (9, 6)])
def test_frame_stewart_plans_are_legal_and_reach_last_peg(n, pegs):
    moves = make_task("hanoi", n, pegs).moves
    final = simulate(moves.tolist(), n, pegs)
    assert final[-1] == list(range(n - 1, -1, -1))


@pytest.mark.slow
def test_24_disks_closed_form_ends_on_peg_2():
    moves = make_task("hanoi", 24, 3).moves
    assert moves.shape == (2**24 - 1, 3)
    assert moves[2**23 - 1].tolist() == [23, 0, 2]  # the middle move takes the largest disk to the goal
    assert moves[-1].tolist() == [0, 1, 2]


# --- validator -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", list(range(1, 13)) + [20])
def test_validator_accepts_optimal_three_peg_plans(n):
    check = check_plan(make_task("hanoi", n, 3).moves, n, 3)
    assert check.ok and check.index is None, check.reason


@pytest.mark.parametrize("n", range(1, 13))
def test_validator_accepts_optimal_four_peg_plans(n):
    moves = make_task("hanoi", n, 4).moves
    assert len(moves) == FRAME_STEWART_4[n - 1]
    assert check_plan(moves, n, 4).ok


def test_validator_accepts_a_list_of_tuples():
    assert check_plan(recursive_plan(5), 5, 3).ok


def plan3() -> list[tuple[int, int, int]]:
    # (0,0,2) (1,0,1) (0,2,1) (2,0,2) (0,1,0) (1,1,2) (0,0,2)
    return recursive_plan(3)


def test_validator_rejects_swapped_moves():
    plan = plan3()
    plan[3], plan[4] = plan[4], plan[3]  # disk 0 hops onto disk 2 first, then disk 2 is buried
    check = check_plan(plan, 3, 3)
    assert not check.ok and check.index == 4
    assert check.reason == "move 4 (disk 2, 0→2): disk 2 is not on top of peg 0"


def test_validator_rejects_bigger_on_smaller():
    plan = plan3()
    plan[1] = (1, 0, 2)
    check = check_plan(plan, 3, 3)
    assert not check.ok and check.index == 1
    assert "disk 1 would sit on smaller disk 0" in check.reason


def test_validator_rejects_truncated_plan():
    check = check_plan(plan3()[:-1], 3, 3)
    assert not check.ok and check.index is None
    assert check.reason == "plan ends after 6 moves with 2 of 3 disks on peg 2 (optimal plan: 7 moves)"


def test_validator_rejects_plan_that_ends_on_the_wrong_peg():
    check = check_plan(recursive_plan(3, 0, 1, 2), 3, 3)  # legal, optimal length, but to peg 1
    assert not check.ok and "0 of 3 disks on peg 2" in check.reason


def test_validator_rejects_legal_plan_with_a_wasted_loop():
    plan = plan3()
    plan[1:1] = [(0, 2, 1), (0, 1, 2)]  # a move and its inverse
    check = check_plan(plan, 3, 3)
    assert not check.ok and check.index == 1
    assert check.reason == "moves 1..2 return to an earlier position: plan has 9 moves, optimal is 7"


@pytest.mark.parametrize(
    "plan, index, words",
    [
        ([(0, 0, 3)], 0, "pegs are 0..2"),
        ([(0, 0, 0)], 0, "same"),
        ([(5, 0, 2)], 0, "disks are 0..2"),
        ([(0, 1, 2)], 0, "peg 1 is empty"),
        (np.zeros((4, 2)), None, "shape"),
        ([(0.5, 0, 2)], None, "integers"),
        ([], None, "ends after 0 moves"),
    ],
)
def test_validator_reports_malformed_plans(plan, index, words):
    check = check_plan(plan, 3, 3)
    assert not check.ok and check.index == index and words in check.reason


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 7), data=st.data())
def test_any_single_change_breaks_an_optimal_plan(n, data):
    plan = make_task("hanoi", n, 3).moves.copy()
    row = data.draw(st.integers(0, len(plan) - 1))
    col = data.draw(st.integers(0, 2))
    limit = n if col == 0 else 3
    value = data.draw(st.integers(0, limit - 1).filter(lambda v: v != plan[row, col]))
    plan[row, col] = value
    check = check_plan(plan, n, 3)
    assert not check.ok
    assert check.index is None or check.index >= row  # the prefix before the change is still fine


# --- pegs after a prefix -------------------------------------------------------------------------------------------


def pegs_after(moves, n_disks: int, n_pegs: int) -> list[list[int]]:
    """replay's peg stacks after a prefix (the one copy, shared by the viewer), as lists."""
    from replay.pegs import pegs_after as replay_pegs_after

    moves = np.asarray(moves).reshape(-1, 3)
    return [p.tolist() for p in replay_pegs_after(moves[:, 0], moves[:, 2], n_disks, n_pegs)]


def test_pegs_after_three_disks():
    moves = make_task("hanoi", 3, 3).moves
    assert pegs_after(moves[:0], 3, 3) == [[2, 1, 0], [], []]
    assert pegs_after(moves[:3], 3, 3) == [[2], [1, 0], []]
    assert pegs_after(moves, 3, 3) == [[], [], [2, 1, 0]]


@pytest.mark.parametrize("n, pegs", [(5, 3), (6, 4)])
def test_pegs_after_matches_a_stack_simulation_at_every_prefix(n, pegs):
    moves = make_task("hanoi", n, pegs).moves
    for k in range(len(moves) + 1):
        assert pegs_after(moves[:k], n, pegs) == simulate(moves[:k].tolist(), n, pegs)
