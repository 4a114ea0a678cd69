"""`gridhanoi replay EPISODE`: watch a recorded episode in a window, follow a running one, or export PNG/GIF."""

from __future__ import annotations

import argparse
import sys

from engine.errors import UsageError
from replay.schema import EpisodeError


def register(subparsers) -> None:
    """Add the `replay` command to the gridhanoi command line."""
    parser = subparsers.add_parser(
        "replay", help="watch a recorded episode (pygame window) or export it to PNG/GIF",
        description="Replay a recorded episode in a resizable window (press H for keys), follow one a run is "
                    "still writing, or export a PNG of one tick or a GIF of a tick range without a window.")
    parser.add_argument("episode", help="episode folder (the --out of `gridhanoi run`)")
    parser.add_argument("--world", type=int, help="world to show (default: the first recorded)")
    parser.add_argument("--tick", type=int,
                        help="tick to start at (export: the tick of the PNG; default: the episode's middle tick)")
    parser.add_argument("--speed", type=float, default=10.0, help="playback speed in ticks per second (default 10)")
    parser.add_argument("--follow", action="store_true", help="keep up with an episode a run is still writing")
    parser.add_argument("--export", metavar="FILE", help="write FILE.png (one tick) or FILE.gif (a range) and exit")
    parser.add_argument("--force", action="store_true", help="--export: overwrite FILE when it exists")
    parser.add_argument("--from", dest="t_from", type=int, metavar="A", help="GIF: first tick (default: the first)")
    parser.add_argument("--to", dest="t_to", type=int, metavar="B", help="GIF: last tick (default: the last)")
    parser.add_argument("--fps", type=float, default=10.0, help="GIF: frames per second (default 10)")
    parser.add_argument("--step", type=int, help="GIF: ticks between frames (default: every recorded frame)")
    parser.add_argument("--size", default=None, metavar="WxH", help="window or image size in pixels")
    parser.add_argument("--overlays", metavar="LIST",
                        help="comma-separated overlays on at start, names or keys 1-9 and E, or 'none' "
                             "(competence, difficulty, confidence, zones, radius, path, completed, tiles, locked)")
    parser.set_defaults(func=run)


def parse_size(text: str | None, default: tuple[int, int]) -> tuple[int, int]:
    """Return (width, height) from 'WxH'; raise EpisodeError when malformed."""
    if text is None:
        return default
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise EpisodeError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 1280x800") from None
    if not (320 <= w <= 8192 and 240 <= h <= 8192):
        raise EpisodeError(f"--size {text!r}: width 320..8192 and height 240..8192 pixels")
    return w, h


def parse_overlays(text: str | None) -> set[str] | None:
    """Return the overlay names of a comma-separated list (None: the defaults); raise EpisodeError on unknown."""
    from replay.overlays import BY_KEY, BY_NAME

    if text is None:
        return None
    names = set()
    for item in (s.strip() for s in text.split(",")):
        if item in ("", "none"):
            continue
        overlay = BY_KEY.get(int(item)) if item.isdigit() else BY_NAME.get(item) or BY_KEY.get(item.upper())
        if overlay is None:
            raise EpisodeError(f"--overlays: unknown overlay {item!r} (choose from {', '.join(BY_NAME)})")
        names.add(overlay.name)
    return names


def _export(args: argparse.Namespace, overlays) -> int:
    """Write the PNG or GIF the arguments ask for and say what was written."""
    from engine.cli.output_paths import check_output_file
    from replay import export

    suffix = args.export.lower().rsplit(".", 1)[-1]
    if suffix in ("png", "gif"):
        check_output_file(args.export, "--export", force=args.force)  # before the episode is even opened
    if suffix == "png":
        if args.t_from is not None or args.t_to is not None or args.step is not None:
            raise EpisodeError("--from, --to and --step make a GIF: use --export FILE.gif (or --tick for a PNG)")
        out = export.export_png(args.episode, args.export, world=args.world, tick=args.tick,
                                size=parse_size(args.size, export.PNG_SIZE), overlays=overlays)
        print(f"wrote {out}")
    elif suffix == "gif":
        if args.tick is not None:
            raise EpisodeError("--tick picks a PNG's tick; for a GIF use --from A --to B")
        out, n = export.export_gif(args.episode, args.export, world=args.world, t_from=args.t_from, t_to=args.t_to,
                                   fps=args.fps, step=args.step, size=parse_size(args.size, export.GIF_SIZE),
                                   overlays=overlays)
        print(f"wrote {out} ({n} frames at {args.fps:g} fps)")
    else:
        raise EpisodeError(f"--export {args.export}: the file name must end in .png or .gif")
    return 0


def run(args: argparse.Namespace) -> int:
    """Open the viewer or export; return 0, or 2 with one line on stderr when the input is bad."""
    try:
        if args.speed <= 0:
            raise EpisodeError("--speed must be positive (ticks per second)")
        overlays = parse_overlays(args.overlays)
        if args.export:
            if args.follow:
                raise EpisodeError("--follow opens a window; it cannot be combined with --export")
            return _export(args, overlays)
        from replay.viewer import DEFAULT_SIZE, open_viewer

        return open_viewer(args.episode, world=args.world, tick=args.tick, speed=args.speed, follow=args.follow,
                           size=parse_size(args.size, DEFAULT_SIZE), overlays=overlays)
    except (EpisodeError, UsageError) as exc:
        print(f"gridhanoi: error: {exc}", file=sys.stderr)  # as engine/cli/main.py words user errors
        return 2


def main(argv: list[str] | None = None) -> int:
    """Run `replay` on its own (python -m engine.cli.replay EPISODE ...)."""
    parser = argparse.ArgumentParser(prog="gridhanoi")
    register(parser.add_subparsers(required=True))
    args = parser.parse_args(["replay", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
