"""`gridhanoi verify EPISODE [--resimulate]`: audit an episode; exit 0 valid, 1 invalid, 2 unreadable."""
import argparse
import sys


def register(subparsers) -> None:
    """Add the `verify` command."""
    p = subparsers.add_parser("verify", help="check an episode's plan and internal consistency")
    p.add_argument("episode", help="episode folder")
    p.add_argument("--resimulate", action="store_true",
                   help="re-run the scenario from the manifest and compare every frame and move bit for bit")
    p.add_argument("--arch", default=None, help="arch for --resimulate (default: the one in the manifest)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Verify the episode and print what was checked."""
    from engine.sim.audit import AuditReport, audit
    from replay.reader import Episode
    from replay.schema import EpisodeDamaged

    try:
        episode = Episode.open(args.episode)
    except EpisodeDamaged as exc:  # a manifest, but files no writer wrote: invalid, not unreadable input
        episode, report = None, AuditReport(problems=[str(exc)])
    else:
        report = audit(episode)
    if args.resimulate and episode is not None:
        if report.ok:
            from engine.sim.resimulate import resimulate
            resimulate(episode, report, arch=args.arch)
        else:
            report.notes.append("resimulate: skipped, the files are already invalid")
    for note in report.notes:
        print(f"  {note}")
    for problem in report.problems:
        print(f"INVALID: {problem}")
    state = "partial, " if episode is not None and episode.status == "running" else ""
    if report.ok:
        print(f"valid ({state}{args.episode})")
        return 0
    print(f"invalid ({state}{len(report.problems)} problem(s))", file=sys.stderr)
    return 1
