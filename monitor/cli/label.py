"""The ``stance label`` command: label the posts the active model is least sure about, in the terminal or in a
spreadsheet, and measure agreement between annotators. ``register(app)`` adds it to the ``stance`` app."""

from __future__ import annotations

import getpass
import math
import sys
from pathlib import Path

import typer

from monitor.cli.common import console, out, settings, usage_error
from monitor.errors import MonitorError
from reports.wording import plural


def register(app: typer.Typer) -> None:
    """Add the ``label`` command to ``app``; registering twice is harmless."""
    if any(info.name == "label" for info in app.registered_commands):
        return
    app.command("label")(label)


def label(
    ctx: typer.Context,
    annotator: str | None = typer.Option(None, "--annotator", help="Whose labels these are (default: your login)."),
    limit: int = typer.Option(50, "--limit", min=1, help="How many posts to label or export."),
    export: Path | None = typer.Option(None, "--export", help="Write the chosen posts to this CSV instead."),
    import_file: Path | None = typer.Option(None, "--import", help="Store the labels of a filled-in CSV."),
    show_agreement: bool = typer.Option(False, "--agreement", help="Cohen's kappa between annotators."),
) -> None:
    """Label the posts the active model is least sure about, spread over months, sources and languages.

    One key per answer (relevant y/n; stance o/c/n; sentiment p/n/t; aspects f c g l toggles, then Enter;
    safety concern y/n); s skips a post, u goes back to the previous one, q quits. Running again resumes.
    --export writes a CSV for a spreadsheet (blank aspects = none, blank safety_concern = false) and
    --import reads it back; importing again replaces labels instead of adding them. Retrain with
    `stance train`.

    Example: stance label --annotator anna --limit 50
    """

    from monitor import active_model, jobs
    from monitor.labeling import loop as labeling
    from monitor.labeling import spreadsheet as labeling_csv

    if sum(bool(mode) for mode in (export, import_file, show_agreement)) > 1:
        raise usage_error("use one of --export, --import and --agreement at a time")
    name = _annotator(annotator)
    sessions = jobs.open_store(settings(ctx))
    if show_agreement:
        with sessions() as session:
            _print_agreement(out, labeling_csv.agreement(session))
        return
    if import_file is not None:
        with sessions.begin() as session:
            result = labeling_csv.import_csv(session, import_file, name)
        for error in result.errors:
            console.print(error, markup=False, highlight=False)
        out.print(f"{import_file}: stored {plural(result.stored, 'label')} by {name}, "
                  f"{plural(len(result.errors), 'row')} rejected, {result.blank} left blank",
                  markup=False, highlight=False)
        if result.errors and not result.stored:
            raise MonitorError(f"{import_file}: no row could be stored")
        return
    with sessions.begin() as session:
        version_id = active_model.ensure_active_model(session).id
    if export is not None:
        with sessions() as session:
            n = labeling_csv.export_csv(session, name, limit, version_id, export)
        out.print(f"wrote {plural(n, 'post')} to {export}; fill in the label columns, then "
                  f"`stance label --import {export} --annotator {name}`", markup=False, highlight=False)
        return
    summary = labeling.annotate(sessions, name, version_id, _read_key(out),
                                lambda text: out.print(text, markup=False, highlight=False), limit)
    out.print(f"labelled {plural(summary.labelled, 'post')} as {name} ({summary.skipped} skipped)"
              + ("; run again to resume" if summary.quit else ""), markup=False, highlight=False)


def _annotator(given: str | None) -> str:
    if given is None:
        try:
            given = getpass.getuser()  # LOGNAME, USER, LNAME, USERNAME, then the password database
        except (OSError, KeyError):
            raise MonitorError("cannot tell who you are; pass --annotator NAME") from None
    name = given.strip()
    if not name or len(name) > 64:
        raise MonitorError(f"--annotator: expected a name of 1 to 64 characters, got {given!r}")
    return name


def _read_key(out):
    """One key per answer: raw keypresses on a terminal, one character at a time from a pipe or file."""
    import click

    def read(prompt: str) -> str:
        out.print(prompt + " ", end="", markup=False, highlight=False)
        if sys.stdin.isatty():
            key = click.getchar()  # raises KeyboardInterrupt on Ctrl-C and EOFError on Ctrl-D
        else:
            key = sys.stdin.read(1)
            if key == "":
                raise EOFError
        out.print("⏎" if key in ("\r", "\n") else key, markup=False, highlight=False)
        return key

    return read


def _print_agreement(out, results) -> None:
    from rich.table import Table

    from monitor.labeling import spreadsheet as labeling_csv

    if not results:
        raise MonitorError("no post has labels by two annotators yet; nothing to compare")
    for result in results:
        table = Table("field", "Cohen's kappa", "raw agreement",
                      title=f"{result.first} vs {result.second}: {plural(result.posts, 'shared post')}")
        for name in labeling_csv.AGREEMENT_FIELDS:
            kappa, observed = result.kappa[name], result.observed[name]
            table.add_row(name, "n/a (one value only)" if math.isnan(kappa) else f"{kappa:.3f}",
                          "n/a" if math.isnan(observed) else f"{observed:.0%}")
        out.print(table)
