"""`scenario check` makes the checks `run` makes (issue 13, rows 6-8): oversized and non-square PNG maps, manager
plugins that do not import or lack the interface, record.worlds beyond what a run can have; and the default episode
folder is claimed atomically under a unique name (row 9)."""
from pathlib import Path

import pytest
from PIL import Image

from engine.cli.main import main
from scenarios.loader import load_scenario


def scenario_file(tmp_path: Path, **overrides) -> Path:
    """Write the smoke scenario with dotted overrides as a .toml next to its PNGs; return its path."""
    path = tmp_path / "s.toml"
    path.write_text(load_scenario("smoke").text)
    path.write_text(load_scenario(str(path), overrides).text)  # PNG paths resolve next to the file
    return path


def refused(capsys, argv) -> str:
    """Run the CLI; assert exit 2 with one line on stderr, no traceback; return stderr."""
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2 and err.strip().count("\n") == 0 and "Traceback" not in err, (argv, rc, err)
    return err


def png(tmp_path: Path, name: str, w: int, h: int, mode: str = "L") -> str:
    Image.new(mode, (w, h), 255).save(tmp_path / name)
    return name


@pytest.mark.parametrize("make, key, says", [
    (lambda t: {"faults.dead_png": png(t, "big.png", 20000, 20000, "1")}, "faults.dead_png", "20000×20000 pixels"),
    (lambda t: {"faults.dead_png": png(t, "tall.png", 7, 13)}, "faults.dead_png", "not square"),
    (lambda t: {"layout.difficulty": png(t, "wide.png", 32, 16)}, "layout.difficulty", "not square"),
    (lambda t: {"curriculum.manager": "nonexistent_mod:Foo"}, "curriculum.manager", "No module named"),
    (lambda t: {"curriculum.manager": "json:JSONDecoder"}, "curriculum.manager", "choose(obs)"),
    (lambda t: {"record.worlds": [999999999]}, "record.worlds", "at most"),
])
def test_scenario_check_refuses_what_run_refuses(capsys, tmp_path, make, key, says):
    path = scenario_file(tmp_path, **make(tmp_path))
    err = refused(capsys, ["scenario", "check", path])
    assert key in err and says in err
    run = ["run", path, "--arch", "cpu", "--out", tmp_path / "ep"]
    if key == "record.worlds":  # a run refuses it for its own --worlds; no run can have that many
        run += ["--worlds", "1000000000"]  # refused by the memory guard before anything is allocated
    err = refused(capsys, run)
    assert key in err or "use at most" in err


def test_a_square_map_of_another_size_and_a_plugin_manager_check_ok(capsys, tmp_path):
    path = scenario_file(tmp_path, **{"faults.dead_png": png(tmp_path, "eight.png", 8, 8),
                                      "curriculum.manager": "tests.plugin_manager:MyManager"})
    assert main(["scenario", "check", str(path)]) == 0
    assert capsys.readouterr().out.startswith("ok ")


def test_default_episode_folders_are_unique_and_claimed_atomically(tmp_path, monkeypatch):
    import secrets

    from engine.sim.recording import claim_default_folder

    monkeypatch.chdir(tmp_path)
    smoke = load_scenario("smoke")
    suffixes = iter(["abcd", "abcd", "ef01"])  # the second draw collides with the first: a third is drawn
    monkeypatch.setattr(secrets, "token_hex", lambda n: next(suffixes))
    first = claim_default_folder(smoke, 6)
    second = claim_default_folder(smoke, 6)
    assert first != second and first.is_dir() and second.is_dir()
    assert first.name.startswith("smoke-6-") and first.name.endswith("-abcd") and second.name.endswith("-ef01")


def test_two_writers_never_share_one_folder(tmp_path):
    import numpy as np

    from replay.schema import EpisodeError
    from replay.writer import EpisodeWriter

    g = 4
    layout = {"cell": np.arange(g * g), "move": np.zeros(g * g), "tile": np.zeros(g * g), "zone": np.zeros(g * g),
              "difficulty": np.zeros(g * g), "alive0": np.ones(g * g, bool)}
    first = EpisodeWriter(tmp_path / "ep", {}, layout, g, 1)
    (tmp_path / "ep2").mkdir()
    (tmp_path / "ep2" / "manifest.json").touch()  # another writer claimed ep2 a moment ago
    with pytest.raises(EpisodeError, match="another run is writing there|not empty"):
        EpisodeWriter(tmp_path / "ep2", {}, layout, g, 1)
    first.close({})
