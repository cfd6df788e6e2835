"""What every `stance` command shares: the consoles, the --config state, settings and progress bars."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from monitor.config import Settings, load_settings

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


class State:
    config: Optional[Path] = None


def settings() -> Settings:
    return load_settings(State.config)


def progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}"),
                    TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal)
