"""``stance compliance x|reddit`` and ``stance expire``: deletions the platforms' terms and retention ask for."""

from __future__ import annotations

import typer

from monitor.cli.common import out, settings
from reports.wording import plural

SOURCES = ("x", "reddit")


def register(app: typer.Typer) -> None:
    app.command("compliance")(compliance)
    app.command("expire")(expire)


def compliance(
    ctx: typer.Context,
    source: str = typer.Argument(..., metavar="SOURCE", help="x (batch compliance) or reddit (re-check stored ids)."),
) -> None:
    """Ask the platform which stored posts were deleted, made private, suspended, withheld or removed, and
    delete those everywhere; each run is written to the audit log.

    Example: stance compliance x
    """
    from monitor import compliance as library
    from monitor import jobs

    if source not in SOURCES:
        raise typer.BadParameter(f"expected x or reddit, got {source!r}", param_hint="SOURCE")
    current = settings(ctx)
    result = library.run_check(current, jobs.open_store(current), source, job="stance compliance")
    out.print(f"{source}: {result.describe()}", markup=False)


def expire(ctx: typer.Context) -> None:
    """Delete posts older than [retention] days (or [sources.NAME] retention_days) from every table.

    Example: stance expire
    """
    from monitor import compliance as library
    from monitor import jobs
    from storage.clock import utcnow

    current = settings(ctx)
    retention = current.retention()
    if not retention:
        out.print("no retention period configured ([retention] days); nothing expired", markup=False)
        return
    result = library.expire(jobs.open_store(current), retention, utcnow(), job="stance expire")
    for source, n in sorted(result.deleted.items()):
        out.print(f"{source}: {plural(n, 'post')} older than {result.cutoffs[source]:%Y-%m-%d} deleted",
                  markup=False)
