"""A rich progress bar on stderr while a Simulation runs; Ctrl-C ends the run cleanly."""
import sys

from rich.console import Console
from kernels.records import WORLD
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def run_with_progress(sim, quiet: bool = False) -> bool:
    """Run `sim` to the end with a progress bar (moves composed); return True if interrupted by Ctrl-C."""
    total = sim.M * sim.W
    console = Console(file=sys.stderr)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("tick {task.fields[tick]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=quiet or not console.is_terminal) as bar:
        task = bar.add_task(f"{sim.scenario.name} ×{sim.W}", total=total, tick=0)
        try:
            while sim.running.any():
                sim.step()
                if sim.tick % 8 == 0 or not sim.running.any():
                    bar.update(task, completed=int(sim.world_stats[:, WORLD.moves_done].sum()), tick=sim.tick)
        except KeyboardInterrupt:
            sim.interrupt()
            return True
    return False
