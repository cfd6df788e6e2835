"""What every `stance` command shares: the consoles, the global options, settings and progress bars.

This module is imported by ``stance --help``: it must stay cheap (no numpy, SQLAlchemy, matplotlib or
scikit-learn here; commands import the library inside their bodies).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress

    from monitor.config import Settings

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


@dataclass(frozen=True)
class GlobalOptions:
    """The global options of one invocation (``stance --config ... --quiet COMMAND``), kept as the click
    context's ``obj`` by the app's callback; commands read them through their ``ctx``."""

    config: Path | None = None
    quiet: bool = False


def global_options(ctx: typer.Context) -> GlobalOptions:
    options = ctx.find_root().obj
    return options if isinstance(options, GlobalOptions) else GlobalOptions()


def settings(ctx: typer.Context) -> Settings:
    from monitor.config import load_settings

    return load_settings(global_options(ctx).config)


def progress_shown(ctx: typer.Context) -> bool:
    """Progress bars go to a terminal on stderr, never into a pipe, a log file or a --quiet run."""
    return console.is_terminal and not global_options(ctx).quiet


def progress(ctx: typer.Context, count_label: str = "") -> Progress:
    """A transient rich progress display; disabled (every call a no-op) when ``progress_shown(ctx)`` is false.

    Tasks without a total show a spinner and their count; tasks with one show a bar and "done/total".
    """
    from rich.progress import (
        BarColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.text import Text

    class Count(ProgressColumn):
        """"1,200" while the total is unknown, "1,200/5,000" once it is known."""

        def render(self, task) -> Text:
            total = f"/{int(task.total):,}" if task.total else ""
            return Text(f"{int(task.completed):,}{total}", style="progress.download")

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), Count(),
                    TextColumn(count_label), TimeElapsedColumn(), console=console, transient=True,
                    disable=not progress_shown(ctx))


@contextmanager
def steps(ctx: typer.Context, description: str) -> Iterator:
    """A progress display for work reported as ``(step description, done, total)``; yields the callback."""
    with progress(ctx) as bar:
        task = bar.add_task(description, total=None)

        def report(step: str, done: int | None = None, total: int | None = None) -> None:
            bar.update(task, description=f"{description}: {step}", completed=done or 0, total=total)

        yield report


def parse_date(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option value; a bad one is a usage error naming the option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected a date like 2025-08-05, got {value!r}", param_hint=option) from None


def parse_list(value: str | None) -> tuple[str, ...] | None:
    """A comma-separated option value as a tuple, or None when not given."""
    if value is None:
        return None
    items = tuple(item.strip() for item in value.split(",") if item.strip())
    return items or None


def usage_error(message: str) -> Exception:
    """A usage error for the running command (exit code 2, one line naming the command)."""
    import click

    return click.UsageError(message, ctx=click.get_current_context(silent=True))


def uses_broker(current) -> bool:
    """Whether work goes to the queues (``[cluster] broker_url`` or STANCE_BROKER_URL) instead of running here."""
    return bool(current.cluster.broker_url)
