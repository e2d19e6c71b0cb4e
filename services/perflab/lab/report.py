"""What the lab prints: the startup progress display and the component tables."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from perflab.lab.components import Component

HEALTH_STYLE = {
    "healthy": "green",
    "unhealthy": "red",
    "stopped": "dim",
    "not installed": "yellow",
}


@dataclass
class Status:
    component: Component
    pid: int | None
    health: str

    @property
    def ok(self) -> bool:
        return self.health == "healthy" or (
            self.health == "not installed" and self.component.optional
        )


class StartupView:
    """One line per component that turns from a spinner into a tick (or a cross)."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(finished_text="[green]✓[/]"),
            TextColumn("{task.fields[label]:<13}"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
        )
        self._tasks: dict[str, TaskID] = {}
        self._scale = 1.0

    def say(self, text: str) -> None:
        """A line of its own (before the live display starts, or above it)."""
        self._progress.console.print(text, markup=False, highlight=False)

    def __enter__(self) -> StartupView:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def _set(self, name: str, text: str, *, done: bool = False) -> None:
        task = self._tasks[name]
        self._progress.update(task, description=text, completed=1 if done else 0)
        if done:
            self._progress.stop_task(task)

    def add(self, component: Component, *, installed: bool) -> None:
        task = self._progress.add_task("waiting", label=component.name, total=1)
        self._tasks[component.name] = task
        if not installed:
            self._set(component.name, "[yellow]not installed[/] (skipped)", done=True)

    def starting(self, component: Component, pid: int) -> None:
        self._set(component.name, f"starting (pid {pid})")

    def already_running(self, component: Component, pid: int) -> None:
        self._set(component.name, f"already running (pid {pid}), checking health")

    def healthy(self, component: Component) -> None:
        text = self._progress.tasks[self._tasks[component.name]].description
        state = "already running" if text.startswith("already") else "started"
        self._set(component.name, f"[green]healthy[/] ({state})", done=True)

    def failed(self, component: Component) -> None:
        self._set(component.name, "[red]failed[/]")

    def add_seed(self, scale: float) -> None:
        self._scale = scale
        self._tasks["seed"] = self._progress.add_task("waiting", label="seed", total=1)

    def seeding(self) -> None:
        self._set("seed", f"scale {self._scale:g}: schema + data")

    def seeded(self, seeded: bool, seconds: float) -> None:
        text = f"seeded in {seconds:.1f} s" if seeded else "already seeded at this scale"
        self._set("seed", f"[green]{text}[/]", done=True)


def status_table(rows: list[Status], notes: dict[str, str] | None = None) -> Table:
    table = Table(title="perflab lab", title_justify="left")
    for column in ("component", "pid", "url", "health"):
        table.add_column(column)
    if notes is not None:
        table.add_column("this run")
    for row in rows:
        style = HEALTH_STYLE.get(row.health, "")
        cells = [
            row.component.name,
            str(row.pid) if row.pid else "-",
            "-" if row.health == "not installed" else row.component.url,
            f"[{style}]{row.health}[/]",
        ]
        if notes is not None:
            cells.append(notes.get(row.component.name, ""))
        table.add_row(*cells)
    return table
