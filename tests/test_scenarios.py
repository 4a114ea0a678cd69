"""Scenario schema, loader, validation errors, built-ins, docs table and the `gridhanoi scenario` command."""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
from pathlib import Path

import pytest

from engine.cli import scenario as cmd_scenario
from scenarios import (SCHEMA, ScenarioError, apply_overrides, builtin_names, frame_stewart, load_scenario,
                       load_scenario_text, n_moves, parse_override, render_key_table_markdown, scenario_hash)
from scenarios.ascii_art import DEAD, art_rows
from scenarios.schema import BY_SECTION, SECTIONS
from scenarios.spec import SECTION_SPECS, TABLE_SPECS, TaskSpec

ROOT = Path(__file__).resolve().parents[1]
DESIGN_FS = "1 3 5 9 13 17 25 33 41 49 65 81 97 113 129 161 193 225 257 289"  # DESIGN §2.1
BUILTINS = ["faulty", "four-pegs", "hole", "million", "million-consensus", "paper", "paper-consensus", "paper-n12",
            "paper-n12-consensus", "patchy", "smoke"]


def error_of(text: str, **kw) -> str:
    """Return the one-line message of the ScenarioError that loading text raises."""
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "bad.toml", **kw)
    message = str(info.value)
    assert len(message.splitlines()) == 1 and message == message.strip(), message
    return message


# --- built-ins -------------------------------------------------------------------------------------------------------

def test_builtin_names_are_the_documented_set():
    assert builtin_names() == BUILTINS


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_loads_fits_and_round_trips(name):
    s = load_scenario(name)
    assert s.source == f"builtin:{name}" and s.name == name and s.description
    assert n_moves(s.task) <= (s.grid.size // s.grid.tile) ** 2
    again = load_scenario_text(s.text)
    assert again == s and again.text == s.text and again.source == "<text>"
    assert re.fullmatch(r"[0-9a-f]{16}", scenario_hash(s))


def test_paper_defaults_match_design_2_5():
    s = load_scenario("paper")
    assert (s.grid.size, s.grid.tile, s.grid.tau_green, s.task.disks, s.task.pegs) == (64, 4, 12, 8, 3)
    assert n_moves(s.task) == 255
    assert s.curriculum.radii == (0.25, 0.5, 0.75, 1.0, 1.42) and s.curriculum.tau_stage == 0.8
    a = s.agents
    assert (a.c0, a.s0, a.eta, a.eta_oracle, a.eta_nbr, a.eta_shared, a.distill) == (0.1, 0.0, 0.2, 0.3, 0.5, 0.002,
                                                                                      False)
    assert (a.kappa, a.alpha, a.a_max, a.p_min, a.p_max) == (0.6, 0.003, 10, 0.02, 0.995)
    assert (a.b_over, a.omega, a.sigma_conf, a.slm_latency, a.c0_patches) == (1.5, 2.0, 0.5, 1, None)
    o = s.oracle
    assert (o.enabled, o.tau_escalate, o.a_escalate, o.latency, o.error, o.cost, o.attempt_cost, o.budget) == (
        True, 0.12, 2, 3, 0.01, 20.0, 1.0, -1)
    c = s.curriculum
    assert (c.manager, c.zones_per_tick, c.nll_weight, c.discount, s.layout.sectors) == ("thompson", 2, 1.0, 0.95, 8)
    assert (s.task.max_ticks, s.task.stall_ticks, s.layout.mapping, s.layout.difficulty) == (5000, 500, "spiral",
                                                                                            "radial")
    assert s.record.frame_every == 0 and s.record.worlds == (0,)


def test_builtin_specifics():
    assert (lambda s: (s.grid.tile, s.task.disks, s.grid.tau_green, n_moves(s.task)))(
        load_scenario("paper-n12")) == (1, 12, 1, 4095)
    smoke = load_scenario("smoke")
    assert (smoke.grid.size, smoke.grid.tile, smoke.task.disks, smoke.grid.tau_green, smoke.task.max_ticks) == (
        16, 2, 5, 3, 2000)
    patch = load_scenario("patchy").agents.c0_patches
    assert (patch.count, patch.radius, patch.inside, patch.outside) == (6, 6.0, 0.4, 0.05)
    four = load_scenario("four-pegs")
    assert four.task.pegs == 4 and n_moves(four.task) == 49
    faulty = load_scenario("faulty")
    assert faulty.faults.dead_share == 0.1
    assert [(o.start, o.end) for o in faulty.faults.oracle_outage] == [(40, 120)]
    million = load_scenario("million")
    assert (million.grid.size, million.grid.tile, million.task.disks, million.record.frame_every) == (1024, 1, 20, 256)
    assert n_moves(million.task) == 1024 * 1024 - 1


def test_hole_kills_exactly_the_first_sixteen_spiral_tiles():
    mask = [[c in DEAD for c in row] for row in art_rows(load_scenario("hole").faults.dead_ascii)]
    n, size, tile = len(mask), 64, 4
    dead = {(i, j) for i in range(size) for j in range(size) if mask[i * n // size][j * n // size]}
    # The spiral starts at tile (7, 7) of the 16×16 tile lattice; its first 16 tiles are tiles 6…9 × 6…9.
    assert dead == {(i, j) for i in range(6 * tile, 10 * tile) for j in range(6 * tile, 10 * tile)}


# --- schema, dataclasses, docs ---------------------------------------------------------------------------------------

def test_dataclass_fields_equal_schema_keys():
    for section in SECTIONS:
        fields = [f.name for f in dataclasses.fields(SECTION_SPECS[section])]
        assert fields == [k.field_name for k in BY_SECTION[section].values()], section
    for key in SCHEMA:
        if key.fields:
            assert [f.name for f in dataclasses.fields(TABLE_SPECS[key.dotted])] == [f.field_name for f in key.fields]


def test_defaults_are_valid_and_an_empty_file_gives_them():
    s = load_scenario_text("")
    for key in SCHEMA:
        if key.section:
            assert getattr(getattr(s, key.section), key.field_name) == key.default, key.dotted
    assert s.name == "scenario"


def test_docs_contain_exactly_the_generated_key_table():
    doc = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    table = render_key_table_markdown()
    assert table in doc
    assert all(f"`{key.name}`" in table for key in SCHEMA)


def test_docs_toml_examples_load():
    doc = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", doc, re.S)
    assert len(blocks) >= 2
    for block in blocks:
        load_scenario_text(block, "docs/scenarios.md")


def test_frame_stewart_numbers_match_design():
    assert " ".join(str(frame_stewart(n)) for n in range(1, 21)) == DESIGN_FS
    assert n_moves(TaskSpec("hanoi", 10, 3, 1, 1)) == 1023 and n_moves(TaskSpec("hanoi", 10, 4, 1, 1)) == 49


def test_ascii_art_rows_ignore_spaces_and_blank_lines():
    assert art_rows("\n09\n 9 0 \n\n") == ["09", "90"]


# --- errors: one line, naming the key, saying what to do --------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("[grid]\nsize = 64\ntile = 5\n", "bad.toml:3: grid.tile = 5 does not divide grid.size = 64; use a divisor of 64 "
                                     "such as 4 or 8"),
    ("[grid]\ntau_green = 17\n", "bad.toml:2: grid.tau_green = 17 is more than the 16 agents of a 4×4 tile"),
    ("[task]\ndisks = 13\n", "bad.toml:2: task.disks = 13: 13 disks need 8191 moves but a 64×64 grid with tile 4 has "
                             "256 tiles; use ≤ 8 disks or a smaller tile"),
    ("[agents]\np_min = 0.5\np_max = 0.4\n", "bad.toml:3: agents.p_max"),
    ("[curriculum]\nradii = [0.5, 0.25]\n", "bad.toml:2: curriculum.radii is not strictly increasing"),
    ("[curriculum]\nradii = []\n", "curriculum.radii is empty"),
    ("[gird]\nsize = 3\n", "bad.toml:1: unknown section [gird]; did you mean 'grid'?"),
    ("size = 3\n", "bad.toml:1: size is not a top-level key; put it under [grid]"),
    ("[agents]\nc0 = 0.1\neta_nb = 0.3\n", "bad.toml:3: unknown key agents.eta_nb; did you mean 'eta_nbr'?"),
    ("[grid]\neta_nbr = 0.3\n", "unknown key grid.eta_nbr; it belongs in [agents]"),
    ("[agents]\ndistill = 1\n", "agents.distill = 1 is an integer; expected true or false"),
    ("[grid]\nsize = 64.0\n", "grid.size = 64.0 is a float; expected an integer"),
    ("[task]\ndisks = true\n", "task.disks = true is a boolean"),
    ("[grid]\nsize = \"64\"\n", "grid.size = \"64\" is a string"),
    ("[grid]\nsize = 2\n", "grid.size = 2 is out of range; use 4 … 4096"),
    ("[agents]\nc0 = 1.5\n", "agents.c0 = 1.5 is out of range; use [0, 1]"),
    ("[agents]\nc0 = nan\n", "agents.c0 = nan is not a finite number"),
    ("[agents]\np_min = 0.0\n", "agents.p_min = 0.0 is out of range; use (0, 1)"),
    ("[oracle]\nbudget = -2\n", "oracle.budget = -2 is out of range"),
    ("[layout]\nmapping = \"spirl\"\n", "layout.mapping = \"spirl\" is not allowed; did you mean 'spiral'?"),
    ("[curriculum]\nmanager = \"my pkg:X\"\n", "curriculum.manager"),
    ("[faults]\n[[faults.oracle_outage]]\nfrom = 50\nto = 50\n", "bad.toml:2: faults.oracle_outage[0] has to = 50 ≤ "
                                                                  "from = 50"),
    ("[[faults.oracle_outage]]\nfrom = 5\n", "faults.oracle_outage[0] has no 'to'"),
    ("[faults]\noracle_outage = {from = 1, to = 2}\n", "expected an array of tables"),
    ("[[faults.die_at]]\ntick = 3\nshare = 2\n", "faults.die_at[0].share = 2.0 is out of range"),
    ("[agents]\nc0_patches = {count = 0}\n", "agents.c0_patches.count = 0 is out of range"),
    ("[agents]\nc0_patches = {radus = 3}\n", "agents.c0_patches.radus is not a key of agents.c0_patches; did you mean "
                                             "'radius'?"),
    ("[faults]\ndead_ascii = '''\n..\n...\n'''\n", "faults.dead_ascii: the ASCII map rows have different lengths"),
    ("[faults]\ndead_ascii = '''\n...\n...\n'''\n", "faults.dead_ascii: the ASCII map is 2 rows × 3 columns"),
    ("[faults]\ndead_ascii = '''\n.o\n..\n'''\n", "row 1 has 'o'"),
    ("[layout]\ndifficulty_ascii = '''\n12\n3a\n'''\n", "layout.difficulty_ascii: the ASCII map row 2 has 'a'"),
    ("[layout]\ndifficulty = \"missing.png\"\n", "layout.difficulty = \"missing.png\": no such file"),
    ("[faults]\ndead_png = \"missing.png\"\n", "faults.dead_png = \"missing.png\": no such file"),
    ("[record]\nworlds = [0, 1, 0]\n", "record.worlds lists world 0 twice"),
    ("[record]\nworlds = [0, -1]\n", "bad.toml:2: record.worlds[1] = -1 is out of range"),
    ("grid = 5\n", "grid = 5 is an integer; write it as a [grid] table"),
    ("[grid\nsize = 3\n", "bad.toml:1: TOML syntax error"),
    ("[grid]\nsize = \n", "bad.toml:2: TOML syntax error"),
    ("[task]\nmax_ticks = 1" + "0" * 5000 + "\n", "a number is too long"),
    ("x = 1\n", "unknown top-level key 'x'"),
])
def test_errors_are_one_line_and_say_what_to_change(text, expected):
    assert expected in error_of(text)


def test_error_line_is_found_in_sub_tables_and_items():
    assert error_of("[agents.c0_patches]\ncount = 2\nradius = -1\n").startswith("bad.toml:3: agents.c0_patches.radius")
    text = "[[faults.oracle_outage]]\nfrom = 5\nto = 7\n\n[[faults.oracle_outage]]\nfrom = 50\nto = 7\n"
    assert error_of(text).startswith("bad.toml:5: faults.oracle_outage[1]")


def test_png_paths_are_relative_to_the_scenario_file(tmp_path):
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "d.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    (tmp_path / "maps" / "fake.png").write_text("not a png")
    scenario = tmp_path / "s.toml"
    scenario.write_text('[layout]\ndifficulty = "maps/d.png"\n[faults]\ndead_png = "maps/d.png"\n')
    s = load_scenario(str(scenario))
    assert s.base_dir == tmp_path and s.path(s.layout.difficulty) == tmp_path / "maps" / "d.png"
    scenario.write_text('[layout]\ndifficulty = "maps/fake.png"\n')
    with pytest.raises(ScenarioError, match="is not a PNG file"):
        load_scenario(str(scenario))
    text = '[layout]\ndifficulty = "maps/d.png"\ndifficulty_ascii = "1"\n'
    assert "both given" in error_of(text, base_dir=tmp_path)


def test_file_errors(tmp_path):
    with pytest.raises(ScenarioError, match=r"unknown built-in scenario \"papr\"; did you mean 'paper'\? Built-ins: "):
        load_scenario("papr")
    with pytest.raises(ScenarioError, match="nope.toml: file not found"):
        load_scenario(str(tmp_path / "nope.toml"))
    with pytest.raises(ScenarioError, match="is a folder"):
        load_scenario(str(tmp_path) + "/")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"name = \"caf\xe9\"\n")
    with pytest.raises(ScenarioError, match="is not UTF-8"):
        load_scenario(str(bad))
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf[grid]\nsize = 128\n")
    assert load_scenario(str(bom)).grid.size == 128 and load_scenario(str(bom)).name == "bom"


def test_unreadable_files_fail_fast(tmp_path, monkeypatch):
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match="fifo.toml: is not a regular file"):
        load_scenario(str(fifo))  # reading it would block forever
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (5 << 20))
    with pytest.raises(ScenarioError, match="too large"):
        load_scenario(str(big))
    locked = tmp_path / "locked.toml"
    locked.write_text("")

    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)  # chmod does not stop root, who runs CI here
    with pytest.raises(ScenarioError, match=r"locked.toml: cannot be read \(Permission denied\)"):
        load_scenario(str(locked))


# --- overrides -------------------------------------------------------------------------------------------------------

def test_overrides_are_applied_validated_and_in_the_text():
    s = load_scenario("paper", {"curriculum.manager": "none", "task.max_ticks": 300, "agents.c0_patches.count": 3})
    assert (s.curriculum.manager, s.task.max_ticks, s.agents.c0_patches.count) == ("none", 300, 3)
    assert s.agents.c0_patches.radius == 6.0  # the other patch fields take their defaults
    assert 'manager = "none"' in s.text and load_scenario_text(s.text) == s
    assert scenario_hash(s) != scenario_hash(load_scenario("paper"))
    assert load_scenario("patchy", {"agents.c0_patches": None}).agents.c0_patches is None
    assert apply_overrides(s, {"task.max_ticks": 400}).task.max_ticks == 400
    assert load_scenario("paper", {"faults.oracle_outage": [{"from": 1, "to": 3}]}).faults.oracle_outage[0].end == 3


@pytest.mark.parametrize("overrides, expected", [
    ({"grid.tile": 5}, "paper.toml (override): grid.tile = 5 does not divide grid.size = 64"),
    ({"task.max_ticks": 0}, "paper.toml (override): task.max_ticks = 0 is out of range"),
    ({"agents.eta_nb": 0.1}, "paper.toml (override): unknown key agents.eta_nb; did you mean 'eta_nbr'?"),
    ({"gird.size": 8}, "paper.toml (override): unknown section [gird]"),
    ({"grid.size.x": 1}, "paper.toml (override): grid.size.x: grid.size is not a table"),
    ({"agents.distill": "yes"}, "agents.distill = \"yes\" is a string; expected true or false"),
    ({"record.worlds": {1, 2}}, "record.worlds"),
])
def test_override_errors(overrides, expected):
    with pytest.raises(ScenarioError) as info:
        load_scenario("paper", overrides)
    assert expected in str(info.value) and len(str(info.value).splitlines()) == 1


def test_parse_override():
    assert parse_override("task.max_ticks=300") == ("task.max_ticks", 300)
    assert parse_override("curriculum.manager=none") == ("curriculum.manager", "none")
    assert parse_override("curriculum.radii = [0.5, 1.42]") == ("curriculum.radii", [0.5, 1.42])
    assert parse_override("curriculum.manager=my.mod:Greedy") == ("curriculum.manager", "my.mod:Greedy")
    with pytest.raises(ScenarioError, match="is not KEY=VALUE"):
        parse_override("task.max_ticks")


def test_text_round_trip_keeps_odd_strings():
    s = load_scenario("smoke", {"description": 'quotes " \\ \' tabs\t newline\n control\x01 ünï \u2028 end'})
    assert load_scenario_text(s.text) == s


def test_scenarios_are_frozen():
    s = load_scenario("smoke")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.grid.size = 8  # type: ignore[misc]


# --- the `gridhanoi scenario` command --------------------------------------------------------------------------------

def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="gridhanoi")
    cmd_scenario.register(parser.add_subparsers())
    args = parser.parse_args(["scenario", *argv])
    return args.func(args)


def test_cli_list_and_show(capsys):
    assert cli("list") == 0
    out = capsys.readouterr().out
    assert all(re.search(rf"^{name} +\S", out, re.M) for name in BUILTINS)
    assert cli("show", "smoke", "--set", "task.max_ticks=300") == 0
    out = capsys.readouterr().out
    assert "max_ticks = 300" in out and load_scenario_text(out).grid.size == 16
    assert cli("show", "--defaults") == 0
    out = capsys.readouterr().out
    assert all(key.dotted in out for key in SCHEMA)
    assert cli("show") == 2 and "needs a NAME" in capsys.readouterr().err
    assert cli() == 2


def test_cli_new_then_check(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli("new", "mine", "--from", "smoke") == 0
    written = (tmp_path / "mine.toml").read_text()
    assert written.count("\n# ") > 40  # a comment line per key
    mine = load_scenario("mine.toml")
    assert mine.name == "mine" and dataclasses.replace(mine, name="smoke", description="", text="") == \
        dataclasses.replace(load_scenario("smoke"), description="", text="")
    assert cli("new", "mine", "--from", "smoke") == 2 and "already exists" in capsys.readouterr().err
    assert cli("new", "mine", "--from", "paper", "--force") == 0
    assert load_scenario("mine.toml").grid.tile == 4
    assert cli("new", "other", "--from", "nope") == 2
    capsys.readouterr()
    assert cli("check", "mine.toml", "paper") == 0
    assert capsys.readouterr().out.split("\n")[:2] == ["ok mine.toml", "ok paper"]
    (tmp_path / "bad.toml").write_text("[grid]\ntile = 5\n")
    assert cli("check", "mine.toml", "bad.toml") == 2
    captured = capsys.readouterr()
    assert captured.out == "ok mine.toml\n"
    assert captured.err == "bad.toml:2: grid.tile = 5 does not divide grid.size = 64; use a divisor of 64 such as 4 " \
                           "or 8\n"


def test_cli_new_keeps_png_paths_working(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "d.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "a" / "s.toml").write_text('[layout]\ndifficulty = "d.png"\n')
    monkeypatch.chdir(tmp_path)
    assert cli("new", "copy", "--from", "a/s.toml") == 0
    assert load_scenario("copy.toml").path(load_scenario("copy.toml").layout.difficulty).is_file()
