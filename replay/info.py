"""Summarise a recorded episode from its manifest and files (used by `gridhanoi info`)."""

from __future__ import annotations

import os

import numpy as np

from replay.reader import Episode


def _scenario_name(manifest: dict) -> str | None:
    """Return the scenario name from the manifest's conventional keys."""
    name = manifest.get("scenario_name")
    scenario = manifest.get("scenario")
    if name is None and isinstance(scenario, dict):
        name = scenario.get("name")
    elif name is None and isinstance(scenario, str):
        name = scenario
    return name


def episode_info(folder: os.PathLike | str) -> dict:
    """Return a JSON-ready summary of an episode; raise EpisodeError when it cannot be read."""
    ep = Episode.open(folder)
    m = ep.manifest
    problems = ep.file_problems()
    metric_ticks = ep.metrics(["tick"]) if "tick" in ep.metrics_schema.names else None
    ticks = [int(t.max()) for t in (ep.frame_ticks(w) for w in ep.worlds()) if len(t)]
    if metric_ticks is not None and metric_ticks.num_rows:
        ticks.append(int(np.max(metric_ticks.column("tick").to_numpy())))
    moves = ep.moves()
    return {
        "folder": str(folder),
        "format_version": m.get("format_version"),
        "status": episode_status(ep, problems),
        "problems": problems,
        "manifest_status": ep.status,
        "scenario": _scenario_name(m),
        "seed": m.get("seed"),
        "worlds": m.get("worlds"),
        "recorded_worlds": ep.worlds() or m.get("recorded_worlds") or [],
        "grid": ep.size,
        "tile": ep.tile,
        "outcome": m.get("outcome"),
        "last_tick": max(ticks) if ticks else None,
        "metric_rows": metric_ticks.num_rows if metric_ticks is not None else ep.metrics().num_rows,
        "frames": ep.frame_count(),
        "moves": moves.num_rows,
        "wrong_moves": wrong_per_world(moves),
        "dropped_batches": ep.dropped_batches,
        "files": ep.file_sizes(),
        "started_at": m.get("started_at"),
        "finished_at": m.get("finished_at"),
        "error": m.get("error"),
    }


def wrong_per_world(moves) -> dict[str, int] | None:
    """Moves flagged wrong in moves.arrow, per world that has any (None: a format 1 file, which has no flags)."""
    if "wrong" not in moves.column_names:
        return None
    world = moves.column("world").to_numpy()[moves.column("wrong").to_numpy(zero_copy_only=False)]
    worlds, counts = np.unique(world, return_counts=True)
    return {str(int(w)): int(n) for w, n in zip(worlds, counts)}


def episode_status(ep: Episode, problems: list[str]) -> str:
    """Return one status: damaged when the files break the manifest's claims, partial while the manifest says
    running (its writer was killed or is still going), else the manifest's (complete, interrupted, error)."""
    if problems:
        return "damaged"
    return "partial" if ep.status == "running" else ep.status


def _size(nbytes: int) -> str:
    """Return a byte count for people (B, kB, MB, GB)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} B"


def _outcome(outcome) -> str:
    """Return the outcome per world as one line."""
    if isinstance(outcome, dict):
        return ", ".join(f"world {w}: {o}" for w, o in outcome.items()) or "(none given)"
    return str(outcome)


def format_info(d: dict) -> str:
    """Return an episode summary from episode_info as aligned text lines."""
    status = d["status"]
    if status == "partial":
        status += " (writer did not finish: the manifest says running"
        status += f"; {d['dropped_batches']} truncated batch(es) dropped)" if d["dropped_batches"] else ")"
    elif status == "damaged":
        more = f" (+{len(d['problems']) - 1} more; run `gridhanoi verify`)" if len(d["problems"]) > 1 else ""
        status += f" (manifest says {d['manifest_status']}, but {d['problems'][0]}{more})"
    rows = [
        ("episode", d["folder"]),
        ("status", status),
        ("scenario", d["scenario"] if d["scenario"] is not None else "?"),
        ("seed", d["seed"] if d["seed"] is not None else "?"),
        ("worlds", f"{d['worlds'] if d['worlds'] is not None else '?'} run, recorded "
                   f"{', '.join(map(str, d['recorded_worlds'])) or 'none'}"),
        ("grid", f"{d['grid']}×{d['grid']}, tile {d['tile']}"),
        ("outcome", _outcome(d["outcome"])),
        ("ticks", f"up to {d['last_tick']}" if d["last_tick"] is not None else "none recorded"),
        ("frames", d["frames"]),
        ("moves", d["moves"] if not d.get("wrong_moves") else f"{d['moves']}, wrong: " + ", ".join(
            f"world {w}: {n}" for w, n in d["wrong_moves"].items())),
        ("metrics", f"{d['metric_rows']} rows"),
        ("files", ", ".join(f"{name} {_size(n)}" for name, n in d["files"].items())),
        ("format", f"version {d['format_version']}"),
    ]
    if d.get("error"):
        rows.insert(2, ("error", d["error"]))
    return "\n".join(f"{key:<9} {value}" for key, value in rows)
