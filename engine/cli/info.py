"""`gridhanoi info EPISODE [--json]`: summarise a recorded episode (no Taichi needed)."""

from __future__ import annotations

import argparse
import json
import sys

from replay.info import episode_info, format_info
from replay.schema import EpisodeError


def register(subparsers) -> None:
    """Add the `info` command to the gridhanoi command line."""
    parser = subparsers.add_parser(
        "info", help="summarise a recorded episode",
        description="Summarise a recorded episode: scenario, seed, worlds, outcome, status, frames, moves, files.")
    parser.add_argument("episode", help="episode folder (the --out of `gridhanoi run`)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the summary; return 0, or 2 with one line on stderr when the episode cannot be read."""
    try:
        info = episode_info(args.episode)
    except EpisodeError as exc:
        print(f"gridhanoi: error: {exc}", file=sys.stderr)  # as engine/cli/main.py words user errors
        return 2
    print(json.dumps(info, indent=2) if args.json else format_info(info))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run `info` on its own (python -m engine.cli.info EPISODE)."""
    parser = argparse.ArgumentParser(prog="gridhanoi")
    register(parser.add_subparsers(required=True))
    args = parser.parse_args(["info", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
