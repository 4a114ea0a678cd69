"""Fuzz the loader: any text either loads (and its effective text round-trips) or raises a one-line ScenarioError."""
from __future__ import annotations

from importlib import resources

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenarios import SCHEMA, ScenarioError, builtin_names, load_scenario, load_scenario_text

FILES = [resources.files("scenarios").joinpath(f"{name}.toml").read_text(encoding="utf-8") for name in builtin_names()]
EFFECTIVE = [load_scenario(name).text for name in builtin_names()]
TEXTS = FILES + EFFECTIVE
KEY_NAMES = sorted({k.name for k in SCHEMA} | {k.section for k in SCHEMA if k.section} | {"from", "to", "tick"})

TOML_VALUES = st.sampled_from([
    "0", "1", "-1", "3", "4", "5", "64", "4097", "2147483648", "1e400", "nan", "inf", "-inf", "0.5", "1.0", "-0.0",
    "true", "false", '""', '"radial"', '"spiral"', '"x.png"', '"a:b"', "'''\n#.\n.#\n'''", "'''\n12\n3\n'''", "[]",
    "[1, 2]", "[0.5, 0.25]", "[[1], 2]", '["a"]', "{}", "{count = 2}", "{from = 3, to = 1}", "{ x = 1 }",
    "1979-05-27", "0x10", "1_000", '"\\u0000"', '"\\n"', "[1.0, 2.0, 2.0]",
])
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(text: str) -> None:
    """Load text; the only failure allowed is a ScenarioError whose message is one line."""
    try:
        s = load_scenario_text(text, "fuzz.toml")
    except ScenarioError as exc:
        message = str(exc)
        assert message and len(message.splitlines()) == 1, repr(message)
        assert message.startswith("fuzz.toml"), message
        return
    again = load_scenario_text(s.text)
    assert again == s and again.text == s.text


@st.composite
def mutated(draw) -> str:
    """A built-in text with a few edits: a value, a key, a deleted span, inserted characters, swapped lines."""
    lines = draw(st.sampled_from(TEXTS)).split("\n")
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["value", "key", "delete", "insert", "swap", "drop"]))
        line = lines[i]
        if edit == "value" and "=" in line:
            lines[i] = line.split("=", 1)[0] + "= " + draw(TOML_VALUES)
        elif edit == "key" and "=" in line:
            lines[i] = draw(st.sampled_from(KEY_NAMES + ["eta_nb", "sise", "gird", "x.y", '"q"'])) + " =" + \
                line.split("=", 1)[1]
        elif edit == "delete" and line:
            a = draw(st.integers(0, len(line) - 1))
            lines[i] = line[:a] + line[a + draw(st.integers(1, 4)):]
        elif edit == "insert":
            a = draw(st.integers(0, len(line)))
            lines[i] = line[:a] + draw(st.text(alphabet="[]{}=\"'#.,\n\\ 0123456789abcdexyz-_:", max_size=4)) + line[a:]
        elif edit == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif edit == "drop":
            del lines[i]
            if not lines:
                lines = [""]
    return "\n".join(lines)


@SETTINGS
@given(mutated())
def test_mutated_builtins_load_or_fail_in_one_line(text):
    outcome(text)


@SETTINGS
@given(st.text(max_size=200))
def test_random_text_loads_or_fails_in_one_line(text):
    outcome(text)


SECTION_DOC = st.dictionaries(st.sampled_from(KEY_NAMES), TOML_VALUES, max_size=4)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(KEY_NAMES + ["extra"]), SECTION_DOC), max_size=4))
def test_random_documents_load_or_fail_in_one_line(sections):
    text = "\n".join(f"[{name}]\n" + "\n".join(f"{k} = {v}" for k, v in body.items()) for name, body in sections)
    outcome(text)


@SETTINGS
@given(st.dictionaries(st.sampled_from([k.dotted for k in SCHEMA]),
                       st.one_of(st.none(), st.booleans(), st.integers(-5, 5000), st.floats(allow_nan=True),
                                 st.text(max_size=20), st.lists(st.floats(0, 2), max_size=4),
                                 st.lists(st.integers(-1, 5), max_size=3),
                                 st.fixed_dictionaries({"from": st.integers(-1, 9), "to": st.integers(-1, 9)})),
                       max_size=4))
def test_random_overrides_load_or_fail_in_one_line(overrides):
    try:
        s = load_scenario("smoke", overrides)
    except ScenarioError as exc:
        assert len(str(exc).splitlines()) == 1 and str(exc).startswith("smoke.toml (override): "), str(exc)
        return
    assert load_scenario_text(s.text) == s
