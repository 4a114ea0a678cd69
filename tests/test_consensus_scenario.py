"""The [consensus] scenario section (DESIGN §2.8): keys, defaults, validation, and verified scenarios left unchanged."""
from __future__ import annotations

import pytest

from scenarios import ScenarioError, builtin_names, load_scenario, load_scenario_text, scenario_hash
from scenarios.schema import BY_SECTION

# DESIGN §2.8 "Defaults (measured)", written out here rather than read from the schema under test.
DESIGN_DEFAULTS = {"feedback": "verified", "tau_commit": 0.7, "k_ahead": 2, "w_oracle": 1, "red_flag": 0.0,
                   "learn": "self", "audit": "off", "tau_audit": 0.85, "nll_source": "leader"}

# The effective-text hashes of built-ins before the [consensus] section existed (computed at commit b4d376e):
# adding the section must not change them, so sweep and experiment rows stay comparable across the change.
HASHES_BEFORE = {"paper": "b99dc10a6294c258", "smoke": "391f1457028f4bfa", "million": "d23c9dd7728d640e",
                 "paper-n12": "5b589c7111d1c97d", "faulty": "d10e2dbec1125e3a"}


def error_of(text: str) -> str:
    """Return the one-line message of the ScenarioError that loading text raises."""
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "bad.toml")
    message = str(info.value)
    assert len(message.splitlines()) == 1, message
    return message


def test_keys_and_defaults_are_the_designed_ones():
    assert list(BY_SECTION["consensus"]) == list(DESIGN_DEFAULTS)
    c = load_scenario_text("").consensus
    assert {name: getattr(c, name) for name in DESIGN_DEFAULTS} == DESIGN_DEFAULTS


@pytest.mark.parametrize("name", sorted(HASHES_BEFORE))
def test_verified_builtins_keep_their_text_and_hash(name):
    s = load_scenario(name)
    assert s.consensus.feedback == "verified" and "[consensus]" not in s.text
    assert scenario_hash(s) == HASHES_BEFORE[name]


def test_text_without_the_section_loads_as_verified():
    """An episode manifest written before the section existed re-simulates with the same (verified) scenario."""
    old = load_scenario("smoke").text
    assert load_scenario_text(old).consensus.feedback == "verified"
    assert load_scenario_text(old) == load_scenario("smoke")


def test_consensus_scenario_round_trips_with_every_key():
    overrides = {"consensus.feedback": "consensus", "consensus.k_ahead": 3, "consensus.audit": "confidence",
                 "consensus.red_flag": 0.25, "consensus.learn": "oracle", "consensus.nll_source": "oracle",
                 "consensus.tau_commit": 0.0, "consensus.w_oracle": 0, "consensus.tau_audit": 1.0}
    s = load_scenario("paper", overrides)
    assert "[consensus]" in s.text and all(f"\n{name} = " in s.text for name in DESIGN_DEFAULTS)
    again = load_scenario_text(s.text)
    assert again == s and again.text == s.text
    assert (again.consensus.k_ahead, again.consensus.red_flag, again.consensus.w_oracle) == (3, 0.25, 0)
    assert scenario_hash(s) != scenario_hash(load_scenario("paper"))


def test_a_non_default_key_alone_is_kept_in_the_text():
    s = load_scenario("smoke", {"consensus.k_ahead": 4})
    assert s.consensus.feedback == "verified" and "k_ahead = 4" in s.text
    assert load_scenario_text(s.text).consensus.k_ahead == 4


def test_commented_files_list_the_section():
    from scenarios.tomlout import scenario_to_toml

    text = scenario_to_toml(load_scenario("smoke"), comments=True)
    assert "[consensus]" in text and 'feedback = "verified"' in text
    assert load_scenario_text(text).consensus == load_scenario("smoke").consensus


@pytest.mark.parametrize("text, expected", [
    ('[consensus]\nfeedback = "vote"\n', 'bad.toml:2: consensus.feedback = "vote" is not allowed; use verified | '
                                        'consensus'),
    ('[consensus]\nfeedback = "consensu"\n', "did you mean 'consensus'?"),
    ("[consensus]\nk_ahead = 0\n", "bad.toml:2: consensus.k_ahead = 0 is out of range; use 1 … 1000"),
    ("[consensus]\nk_ahead = 2.5\n", "consensus.k_ahead = 2.5 is a float; expected an integer"),
    ("[consensus]\ntau_commit = 1.0\n", "consensus.tau_commit = 1.0 is out of range; use [0, 1)"),
    ("[consensus]\ntau_commit = -0.1\n", "consensus.tau_commit = -0.1 is out of range"),
    ("[consensus]\nw_oracle = -1\n", "consensus.w_oracle = -1 is out of range; use 0 … 1000"),
    ("[consensus]\nred_flag = 1.5\n", "consensus.red_flag = 1.5 is out of range; use [0, 1]"),
    ('[consensus]\nlearn = "truth"\n', "consensus.learn = \"truth\" is not allowed; use self | oracle"),
    ('[consensus]\naudit = "margin"\n', "use off | confidence | contested"),
    ("[consensus]\ntau_audit = nan\n", "consensus.tau_audit = nan is not a finite number"),
    ('[consensus]\nnll_source = true\n', "consensus.nll_source = true is a boolean; expected a string"),
    ("[consensus]\nk_ahed = 3\n", "bad.toml:2: unknown key consensus.k_ahed; did you mean 'k_ahead'?"),
    ("[consensus]\ntau_green = 3\n", "unknown key consensus.tau_green; it belongs in [grid]"),
    ("[grid]\nk_ahead = 3\n", "unknown key grid.k_ahead; it belongs in [consensus]"),
    ("[concensus]\nk_ahead = 3\n", "unknown section [concensus]; did you mean 'consensus'?"),
    ("feedback = \"consensus\"\n", "feedback is not a top-level key; put it under [consensus]"),
])
def test_bad_values_are_one_line_errors_naming_file_line_key(text, expected):
    assert expected in error_of(text)


def test_override_errors_name_the_override():
    with pytest.raises(ScenarioError, match=r"paper.toml \(override\): consensus.k_ahead = 0 is out of range"):
        load_scenario("paper", {"consensus.k_ahead": 0})


def test_builtin_consensus_scenarios_if_any_are_in_consensus_mode():
    for name in builtin_names():
        if name.endswith("-consensus"):
            assert load_scenario(name).consensus.feedback == "consensus", name
