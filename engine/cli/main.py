"""`gridhanoi` command line: one module per command, each exposing `register(subparsers)` and `run(args) -> int`.

User mistakes end in one line on stderr and exit code 2 (no traceback unless --debug); Ctrl-C exits 130.
"""
import argparse
import importlib
import os
import sys

from engine.errors import InvariantError, UsageError

COMMAND_MODULES = (
    "engine.cli.run",
    "engine.cli.scenario",
    "engine.cli.info",
    "engine.cli.verify",
    "engine.cli.replay",
    "engine.cli.bench",
    "engine.cli.experiment",
    "engine.cli.sweep",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available command registered."""
    parser = argparse.ArgumentParser(
        prog="gridhanoi",
        description="Simulate massive multi-agent systems solving long-horizon tasks under a curriculum "
                    "(Taichi; CPU or GPU), record episodes, replay, verify and benchmark them.",
        epilog="Start with `gridhanoi run paper`; `gridhanoi COMMAND --help` for each command.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:  # every command ships with gridhanoi: a missing one is a packaging error, raised
        importlib.import_module(name).register(sub)
    return parser


def user_error_types() -> tuple:
    """Exception types that mean "the user gave bad input" (exit 2, one line)."""
    from engine.sim.arch import ArchError
    from replay.reader import EpisodeError
    from scenarios.errors import ScenarioError

    return (UsageError, ScenarioError, ArchError, EpisodeError)


def main(argv=None) -> int:
    """Run the gridhanoi command line and return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `gridhanoi ... | head`: the reader left; not an error worth a traceback
        sys.stdout = open(os.devnull, "w")
        return 0
    except user_error_types() as err:
        if args.debug:
            raise
        print(f"gridhanoi: error: {err}", file=sys.stderr)
        return 2
    except InvariantError as err:  # a backend computed an impossible tick: a fault to report, not a user mistake
        if args.debug:
            raise
        print(f"gridhanoi: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
