"""Errors are first-class (DESIGN §2.8 point 8): counted per world, recorded as composed, found again by verify.

Until a scenario composes wrong moves by itself, a run is given wrong moves by a device whose composed table
lies for two moves: everything downstream (summary, rows, moves.arrow, manifest, verify, exit code) must see them.
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from engine.sim.audit import audit
from engine.sim.metrics import world_metrics
from engine.sim.recording import attach_recorder
from engine.sim.simulation import Simulation
from engine.sim.tasks.hanoi import hanoi_moves
from engine.sim.tasks.validate import expected_plan, wrong_moves
from replay.reader import Episode
from scenarios.loader import load_scenario

CORRUPT = (3, 7)  # moves of world 0 composed wrong in the doctored runs


def classic_three_peg_plan(n: int) -> np.ndarray:
    """The textbook iterative algorithm on real peg stacks (odd steps: smallest disk cyclically; even steps: the one
    legal move not involving it) — a third construction, written from the puzzle, not from either formula."""
    pegs = [list(range(n - 1, -1, -1)), [], []]
    step = 1 if n % 2 == 0 else -1
    small, rows = 0, []
    for m in range(1, 2**n):
        if m % 2:
            src, dst = small, (small + step) % 3
            small = dst
        else:
            a, b = [p for p in range(3) if p != small]
            src, dst = (a, b) if pegs[a] and (not pegs[b] or pegs[a][-1] < pegs[b][-1]) else (b, a)
        rows.append((pegs[src][-1], src, dst))
        pegs[dst].append(pegs[src].pop())
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


@pytest.mark.parametrize("n", range(1, 11))
def test_expected_plan_is_the_textbook_plan_and_the_generators(n):
    assert np.array_equal(expected_plan(n, 3), classic_three_peg_plan(n))
    assert np.array_equal(expected_plan(n, 3), hanoi_moves(n, 3))


@pytest.mark.parametrize("n, pegs", [(n, p) for p in (4, 5) for n in range(1, 11)])
def test_expected_plan_matches_the_generator_for_more_pegs(n, pegs):
    from engine.sim.tasks.validate import check_plan

    plan = expected_plan(n, pegs)
    assert check_plan(plan, n, pegs).ok
    assert np.array_equal(plan, hanoi_moves(n, pegs))


def test_wrong_moves_counts_and_finds_the_first():
    truth = expected_plan(5, 3)
    plan = truth.copy()
    plan[[4, 9, 20], 2] = (plan[[4, 9, 20], 2] + 1) % 3
    idx = np.arange(len(plan))
    got = wrong_moves(plan[::-1], idx[::-1], truth)  # row order does not matter
    assert (got.count, got.first, got.indices.tolist()) == (3, 4, [4, 9, 20])
    assert wrong_moves(plan[:4], idx[:4], truth).count == 0
    assert wrong_moves(truth[:2], [0, 99], truth).indices.tolist() == [99]  # outside the plan: wrong


class LyingDevice:
    """Wraps a device so that world 0's composed moves CORRUPT read back with the third peg as destination."""

    def __init__(self, device):
        self._device = device

    def __getattr__(self, name):
        return getattr(self._device, name)

    def moves_table(self):
        tick, composed = self._device.moves_table()
        for m in CORRUPT:
            if composed[0, m] >= 0:
                disk, src, dst = composed[0, m] >> 4, (composed[0, m] >> 2) & 3, composed[0, m] & 3
                composed[0, m] = disk * 16 + src * 4 + (3 - src - dst)
        return tick, composed


def doctored(scenario, **kw) -> Simulation:
    sim = Simulation(scenario, backend="reference", **kw)
    sim.device = LyingDevice(sim.device)
    return sim


@pytest.fixture(scope="module")
def episodes(tmp_path_factory):
    """A clean and a doctored smoke episode (seed 1, 2 worlds, reference backend)."""
    root = tmp_path_factory.mktemp("errors")
    out = {}
    for name, make in (("clean", lambda s: Simulation(s, backend="reference", seed=1, worlds=2)),
                       ("doctored", lambda s: doctored(s, seed=1, worlds=2))):
        sim = make(load_scenario("smoke"))
        rec = attach_recorder(sim, root / name)
        sim.run()
        rec.close()
        out[name] = (sim, root / name)
    return out


def test_clean_run_has_no_errors(episodes):
    sim, folder = episodes["clean"]
    for r in sim.summary()["world_results"]:
        assert (r["outcome"], r["errors"], r["first_error"], r["plan_valid"]) == ("complete", 0, None, True)
    assert not Episode.open(folder).moves().column("wrong").to_numpy().any()
    report = audit(Episode.open(folder))
    assert report.ok, report.problems
    assert any("no wrong move among 31 composed" in n for n in report.notes)


def test_wrong_moves_reach_summary_rows_files_and_manifest(episodes):
    sim, folder = episodes["doctored"]
    w0, w1 = sim.summary()["world_results"]
    assert (w0["errors"], w0["first_error"], w0["plan_valid"]) == (2, 3, False)
    assert w0["plan_error"].startswith("2 wrong move(s), the first is move 3")
    assert (w1["errors"], w1["first_error"], w1["plan_valid"]) == (0, None, True)
    row = world_metrics(sim, 0)
    assert (row["errors"], row["first_error"], row["plan_valid"]) == (2, 3, False)
    json.dumps(sim.summary())  # the --json object stays serialisable
    ep = Episode.open(folder)
    moves = ep.moves()
    world, move, wrong = (moves.column(c).to_numpy() for c in ("world", "move", "wrong"))
    assert sorted(move[wrong].tolist()) == list(CORRUPT) and set(world[wrong].tolist()) == {0}
    truth = hanoi_moves(5, 3)
    row3 = np.nonzero((world == 0) & (move == 3))[0][0]
    recorded = [int(moves.column(c)[row3].as_py()) for c in ("disk", "src", "dst")]
    assert recorded[:2] == truth[3, :2].tolist() and recorded[2] != truth[3, 2]  # what was composed, not the truth
    claims = {r["world"]: r for r in ep.manifest["world_results"]}
    assert (claims[0]["errors"], claims[0]["first_error"], claims[1]["errors"]) == (2, 3, 0)


def test_verify_finds_the_same_errors_from_the_files(episodes):
    _, folder = episodes["doctored"]
    report = audit(Episode.open(folder))
    assert not report.ok
    assert "world 0: 2 wrong move(s) in the composed plan, the first is move 3 (independent validator)" in \
        report.problems
    assert not any("altered" in p or "manifest says" in p for p in report.problems), report.problems
    assert not any(p.startswith("world 1") for p in report.problems)


def rewrite_moves(folder, change):
    """Rewrite moves.arrow after change(columns dict) edits its NumPy columns in place."""
    table = Episode.open(folder).moves()
    cols = {name: table.column(name).to_numpy().copy() for name in table.column_names}
    change(cols)
    table = pa.table({f.name: pa.array(cols[f.name], f.type) for f in table.schema}, schema=table.schema)
    with ipc.new_file(str(folder / "moves.arrow"), table.schema) as writer:
        writer.write_table(table)


def test_hiding_an_error_is_caught(episodes, tmp_path):
    _, folder = episodes["doctored"]
    truth = hanoi_moves(5, 3)

    def fix_move_3(cols):
        row = np.nonzero((cols["world"] == 0) & (cols["move"] == 3))[0][0]
        cols["dst"][row] = truth[3, 2]

    edited = tmp_path / "fixed"
    shutil.copytree(folder, edited)
    rewrite_moves(edited, fix_move_3)
    problems = audit(Episode.open(edited)).problems
    assert any("moves.arrow flags 2 move(s) wrong but the validator finds 1" in p for p in problems), problems
    assert any("the manifest says errors = 2, first_error = 3" in p for p in problems), problems

    def fix_and_unflag(cols):
        fix_move_3(cols)
        cols["wrong"][(cols["world"] == 0) & (cols["move"] == 3)] = False

    edited2 = tmp_path / "fixed-and-unflagged"
    shutil.copytree(folder, edited2)
    rewrite_moves(edited2, fix_and_unflag)
    problems = audit(Episode.open(edited2)).problems
    assert not any("flags" in p for p in problems)
    assert any("the manifest says errors = 2, first_error = 3 but moves.arrow holds 1" in p for p in problems)


def test_an_unflagged_wrong_move_is_caught(episodes, tmp_path):
    _, folder = episodes["clean"]
    edited = tmp_path / "flipped"
    shutil.copytree(folder, edited)

    def flip(cols):
        row = np.nonzero((cols["world"] == 1) & (cols["move"] == 10))[0][0]
        cols["dst"][row] = 3 - cols["dst"][row] - cols["src"][row]

    rewrite_moves(edited, flip)
    problems = audit(Episode.open(edited)).problems
    assert "world 1: 1 wrong move(s) in the composed plan, the first is move 10 (independent validator)" in problems
    assert any("moves.arrow flags 0 move(s) wrong but the validator finds 1" in p for p in problems)


def test_run_exits_1_when_a_plan_is_invalid(monkeypatch, tmp_path, capsys):
    import engine.sim.simulation as simulation
    from engine.cli.main import main

    real = simulation.Simulation

    def make(scenario, seed=0, worlds=1, arch="auto", **kw):
        sim = real(scenario, seed=seed, worlds=worlds, backend="reference", **kw)
        sim.device = LyingDevice(sim.device)
        return sim

    monkeypatch.setattr(simulation, "Simulation", make)
    assert main(["run", "smoke", "--no-record", "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    w0 = summary["world_results"][0]
    assert (w0["outcome"], w0["errors"], w0["first_error"], w0["plan_valid"]) == ("complete", 2, 3, False)
    monkeypatch.setattr(simulation, "Simulation", lambda s, **kw: real(s, backend="reference",
                                                                        **{k: v for k, v in kw.items() if k != "arch"}))
    assert main(["run", "smoke", "--no-record", "--json"]) == 0


def test_format_1_moves_without_the_wrong_column_still_read(episodes, tmp_path):
    _, folder = episodes["clean"]
    old = tmp_path / "v1"
    shutil.copytree(folder, old)
    table = Episode.open(old).moves().drop(["wrong"])
    meta = {**table.schema.metadata, b"gridhanoi.format_version": b"1"}
    table = table.replace_schema_metadata(meta)
    with ipc.new_file(str(old / "moves.arrow"), table.schema) as writer:
        writer.write_table(table)
    moves = Episode.open(old).moves()
    assert "wrong" not in moves.column_names and moves.num_rows == 62
    from engine.sim.audit_errors import check_wrong_moves
    from engine.sim.audit import AuditReport

    report = AuditReport()
    check_wrong_moves(Episode.open(old), report)
    assert report.ok and len(report.notes) == 2


# --- the viewer marks wrong tiles, counts them and shows when they entered -------------------------------------------

def test_viewer_marks_wrong_tiles_counts_them_and_marks_the_timeline(episodes):
    pygame = pytest.importorskip("pygame")
    from replay import draw as D
    from replay import overlays as O
    from replay.viewer import Viewer

    _, folder = episodes["doctored"]
    ep = Episode.open(folder)
    moves = ep.moves()
    world, move, tick = (moves.column(c).to_numpy() for c in ("world", "move", "tick"))
    t3 = int(tick[(world == 0) & (move == 3)][0])
    t7 = int(tick[(world == 0) & (move == 7)][0])
    cells = np.argwhere(ep.layout().column("move").to_numpy().reshape(16, 16) == 3)
    cell = tuple(int(c) for c in cells[0])

    def shot(v):
        surface = pygame.Surface(v.size)
        v.render(surface)
        return surface

    def status(v):
        return " ".join(c for line in v._status_lines(v.data(), v.frame(), v.tick, None, 0) for c, _ in line)

    v = Viewer(folder, world=0, tick=t3 - 1, size=(900, 600), overlays={"errors"})
    state_colour = lambda: tuple(int(x) for x in O.STATE_COLOURS[v.frame().state[cell]])  # noqa: E731
    assert tuple(shot(v).get_at(v.cell_to_pixel(*cell)))[:3] == state_colour()
    assert "errors 0" in status(v)
    v.seek(t3)
    r, g, b = tuple(shot(v).get_at(v.cell_to_pixel(*cell)))[:3]
    assert (r, g, b) != state_colour() and r > g and b > g  # tinted toward the pink of a wrong move
    expected = 1 + int(t7 <= t3)
    assert f"errors {expected} (first: move 3)" in status(v)
    v.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_e, mod=0, unicode="e"))
    assert "errors" not in v.enabled
    assert tuple(shot(v).get_at(v.cell_to_pixel(*cell)))[:3] == state_colour()
    data = v.data()
    v.seek(data.t0)  # the cursor would cover the mark at t3
    surface = shot(v)
    bar = D.timeline_bar(v.rects.timeline)
    x = int(round(D.timeline_x(v.rects.timeline, data.t0, data.t1, t3)))
    pinks = {tuple(surface.get_at((x + dx, bar.bottom - 4)))[:3] for dx in (-1, 0, 1)}
    assert tuple(int(c) for c in O.WRONG) in pinks


def test_viewer_of_a_clean_episode_shows_no_errors(episodes):
    pytest.importorskip("pygame")
    from replay.viewer import Viewer

    _, folder = episodes["clean"]
    v = Viewer(folder, world=0, size=(900, 600))
    text = " ".join(c for line in v._status_lines(v.data(), v.frame(), v.tick, None, 0) for c, _ in line)
    assert "errors 0" in text and not v.data().cell_wrong.any()


def test_info_counts_the_flagged_wrong_moves(episodes):
    from replay.info import episode_info, format_info

    assert episode_info(episodes["clean"][1])["wrong_moves"] == {}
    doctored_info = episode_info(episodes["doctored"][1])
    assert doctored_info["wrong_moves"] == {"0": 2}
    assert "moves     62, wrong: world 0: 2" in format_info(doctored_info)


# --- a real consensus episode (DESIGN §2.8): errors enter by voting, and every tool finds the same ones -------------

CONSENSUS_SMOKE = {"consensus.feedback": "consensus", "consensus.k_ahead": 1, "consensus.tau_commit": 0.5}


@pytest.fixture(scope="module")
def consensus_episode(tmp_path_factory):
    """smoke voted first-to-ahead-by-1 with τ_commit 0.5 (errors enter), 2 worlds recorded, through the CLI."""
    from tests.conftest import run_cli

    folder = tmp_path_factory.mktemp("consensus")
    scenario = folder / "smoke-k1.toml"
    scenario.write_text(load_scenario("smoke", CONSENSUS_SMOKE).text)
    r = run_cli("run", scenario, "--seed", "0", "--worlds", "2", "--record-worlds", "0,1", "--arch", "cpu",
                "--json", "--out", folder / "ep")
    return r, folder / "ep"


def test_consensus_run_reports_errors_and_exits_1(consensus_episode):
    r, _ = consensus_episode
    assert r.returncode == 1, r.stderr
    worlds = json.loads(r.stdout)["world_results"]
    assert all(w["outcome"] == "complete" and w["errors"] > 0 and w["plan_valid"] is False for w in worlds)


def test_verify_finds_the_errors_of_a_consensus_episode(consensus_episode):
    from tests.conftest import run_cli

    r, folder = consensus_episode
    worlds = json.loads(r.stdout)["world_results"]
    ep = Episode.open(folder)
    report = audit(ep)
    for w in worlds:
        line = (f"world {w['world']}: {w['errors']} wrong move(s) in the composed plan, the first is move "
                f"{w['first_error']} (independent validator)")
        assert line in report.problems, report.problems
    assert not any("altered" in p or "manifest says" in p for p in report.problems), report.problems
    moves = ep.moves()
    assert int(moves.column("wrong").to_numpy().sum()) == sum(w["errors"] for w in worlds)
    v = run_cli("verify", folder)
    assert v.returncode == 1 and f"{worlds[0]['errors']} wrong move(s)" in v.stdout


def test_a_tampered_consensus_episode_is_still_caught(consensus_episode, tmp_path):
    r, folder = consensus_episode
    first = json.loads(r.stdout)["world_results"][0]["first_error"]
    truth = expected_plan(5, 3)
    edited = tmp_path / "hidden"
    shutil.copytree(folder, edited)

    def hide_first_error(cols):  # make the first wrong move right and drop its flag
        row = np.nonzero((cols["world"] == 0) & (cols["move"] == first))[0][0]
        cols["disk"][row], cols["src"][row], cols["dst"][row] = truth[first]
        cols["wrong"][row] = False

    rewrite_moves(edited, hide_first_error)
    problems = audit(Episode.open(edited)).problems
    assert any("the manifest says errors" in p for p in problems), problems
