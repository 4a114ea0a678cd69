"""`gridhanoi scenario list | show | new | check`: look at, create and validate scenario files."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scenarios import ScenarioError, builtin_names, load_scenario, parse_override
from scenarios.loader import apply_overrides
from scenarios.schema import key_rows
from scenarios.tomlout import scenario_to_toml


def register(subparsers) -> None:
    """Add the `scenario` command and its sub-commands to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "scenario", help="list, show, create and check scenario files",
        description="Inspect the built-in scenarios, write a new scenario file, or validate files without running.")
    commands = parser.add_subparsers(dest="scenario_command", metavar="{list,show,new,check}")
    commands.add_parser("list", help="list the built-in scenarios")
    show = commands.add_parser("show", help="print a scenario as TOML with every key, after overrides")
    show.add_argument("name", nargs="?", metavar="NAME", help="built-in name or path to a .toml file")
    show.add_argument("--defaults", action="store_true", help="print every key with its default and meaning")
    show.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                      help="override a key, e.g. --set task.max_ticks=300 (repeatable)")
    new = commands.add_parser("new", help="write NAME.toml, a commented scenario file to edit")
    new.add_argument("name", metavar="NAME", help="file to write; .toml is added when missing")
    new.add_argument("--from", dest="base", default="paper", metavar="SCENARIO",
                     help="built-in or file to start from (default: paper)")
    new.add_argument("--force", action="store_true", help="overwrite an existing file")
    check = commands.add_parser("check", help="validate scenario files without running them")
    check.add_argument("files", nargs="+", metavar="FILE", help="scenario files (or built-in names)")
    parser.set_defaults(func=run)


def _list(args: argparse.Namespace) -> int:
    names = builtin_names()
    width = max(map(len, names))
    for name in names:
        summary = load_scenario(name).description.split("\n")[0]
        print(f"{name:<{width}}  {summary}")
    return 0


def _show(args: argparse.Namespace) -> int:
    if args.defaults:
        if args.name or args.overrides:
            raise ScenarioError("show --defaults takes no NAME or --set; use `gridhanoi scenario show NAME`")
        rows = [(f"{section}.{name}" if section else name, *rest) for section, name, *rest in key_rows()]
        width = max(len(row[0]) for row in rows) + 2
        for dotted, kind, default, allowed, doc in rows:
            print(f"{dotted:<{width}}{default:<14} {kind}{', ' + allowed if allowed else ''} — {doc}")
        return 0
    if not args.name:
        raise ScenarioError("show needs a NAME (a built-in or a .toml file) or --defaults")
    overrides = dict(parse_override(item) for item in args.overrides)
    sys.stdout.write(load_scenario(args.name, overrides).text)
    return 0


def _new(args: argparse.Namespace) -> int:
    path = Path(args.name if args.name.endswith(".toml") else args.name + ".toml")
    if path.exists() and not args.force:
        raise ScenarioError(f"{path} already exists; pick another name or add --force to overwrite it")
    base = load_scenario(args.base)
    changes: dict[str, object] = {"name": path.stem, "description": f"based on {base.name}: {base.description}"}
    # Relative PNG paths are read next to the scenario file: keep them pointing at the same files.
    for dotted, relative in (("layout.difficulty", base.layout.difficulty), ("faults.dead_png", base.faults.dead_png)):
        if relative and relative != "radial" and base.path(relative).resolve().parent != path.resolve().parent:
            changes[dotted] = str(base.path(relative).resolve())
    scenario = apply_overrides(base, changes)
    header = (f"{path.name}: a gridhanoi scenario, started from '{base.name}'.",
              "Every key is listed with a comment saying what it means and what it may hold; delete a line to use",
              "the default. Check it with `gridhanoi scenario check " + str(path) + "`, then `gridhanoi run "
              + str(path) + "`.", "")
    try:
        path.write_text(scenario_to_toml(scenario, comments=True, header=header), encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot write {path} ({exc.strerror or exc}); check the folder and its permissions")
    print(f"wrote {path} (from {base.name}); edit it, then run `gridhanoi scenario check {path}`")
    return 0


def _check(args: argparse.Namespace) -> int:
    failed = 0
    from engine.sim.preflight import preflight

    for name in args.files:
        try:
            preflight(load_scenario(name))  # the checks `run` makes, so "ok" means it runs
        except ScenarioError as exc:
            print(exc, file=sys.stderr)  # a finding about the file, in compiler style: FILE:LINE: message
            failed += 1
        else:
            print(f"ok {name}")
    return 2 if failed else 0


_COMMANDS = {"list": _list, "show": _show, "new": _new, "check": _check}


def run(args: argparse.Namespace) -> int:
    """Run `gridhanoi scenario …`; return 0, or 2 after printing a one-line error to stderr."""
    command = _COMMANDS.get(getattr(args, "scenario_command", None))
    if command is None:
        print("gridhanoi: error: scenario needs a command: list, show, new or check; see `gridhanoi scenario --help`",
              file=sys.stderr)
        return 2
    try:
        return command(args)
    except ScenarioError as exc:
        print(f"gridhanoi: error: {exc}", file=sys.stderr)  # the prefix engine/cli/main.py gives every user error
        return 2
