"""`stance train` and `stance models`: training, comparing, activating and rolling back model versions."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Column, Table

from monitor import jobs
from monitor.cli_common import out, settings
from monitor.errors import MonitorError

models_app = typer.Typer(help="List, activate and roll back stance model versions.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.add_typer(models_app, name="models")


def train(
    data: Optional[Path] = typer.Argument(None, help="A labelled CSV/JSONL file (omit to retrain the default model)."),
    label_col: Optional[str] = typer.Option(None, "--label-col", help="The label column of DATA."),
    text_col: str = typer.Option("text", "--text-col", help="The text column of DATA."),
    group_col: Optional[str] = typer.Option(
        None, "--group-col", help="Labels are relative to this column (e.g. the stance target)."
    ),
    out_path: Optional[Path] = typer.Option(None, "--out", help="Where to write the model (with DATA)."),
    activate: bool = typer.Option(False, help="Activate the new default-model version right away."),
    folds: int = typer.Option(5, help="Cross-validation folds."),
) -> None:
    """Train a model and report cross-validated precision, recall, F1 and the confusion matrix.

    Without DATA, retrains the default topic model from the seed set plus every label stored in the database
    and registers it as a new, inactive model version.

    Example: stance train labelled.csv --label-col stance --out models/my-stance
    """
    from monitor import model_registry

    if data is not None:
        if not label_col or not out_path:
            raise MonitorError("training on a file needs --label-col and --out")
        result = model_registry.train_single_label(data, label_col, text_col, out_path, folds, group_col)
        _print_single_label_metrics(result.metrics)
    else:
        current = settings()
        sessions = jobs.open_store(current)
        with sessions.begin() as session:
            jobs.ensure_active_model(session)
            result = model_registry.train_topic_version(session, current.models_dir, activate, folds)
        _print_topic_metrics(result.metrics["cross_validated"])
    out.print(f"{result.name}: trained on {result.examples} examples, saved to {result.path}"
              + (" (active)" if result.activated else ""), markup=False)


def _print_single_label_metrics(metrics: dict) -> None:
    table = Table("class", "precision", "recall", "f1", "support", title="cross-validated")
    for name in metrics["classes"]:
        row = metrics["cross_validated"][name]
        table.add_row(name, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1-score']:.3f}",
                      str(int(row["support"])))
    out.print(table)
    out.print(f"confusion (rows true, columns predicted, {', '.join(metrics['classes'])}): {metrics['confusion']}")


def _print_topic_metrics(cv: dict) -> None:
    table = Table("head / class", "precision", "recall", "f1", "support", title="cross-validated")
    for stance, row in cv["stance"]["per_class"].items():
        table.add_row(f"stance {stance}", f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}",
                      str(row["support"]))
    for head in ("relevant", "aspect_safety", "aspect_competition", "aspect_governance", "aspect_local_ai",
                 "safety_concern"):
        row = cv[head]
        table.add_row(head, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}", str(row["support"]))
    out.print(table)
    out.print(f"stance macro-F1 {cv['stance']['macro_f1']:.3f}; confusion (rows true, columns predicted, "
              f"pro_open, pro_closed, neutral): {cv['stance']['confusion']}")


@models_app.command("list")
def models_list() -> None:
    """List model versions with their cross-validated scores.

    Example: stance models list
    """
    from monitor import model_registry

    sessions = jobs.open_store(settings())
    with sessions.begin() as session:
        jobs.ensure_active_model(session)
        table = Table("", Column("name", no_wrap=True), "created", "stance macro-F1", "relevance F1")
        for version in model_registry.list_versions(session):
            cv = version.metrics.get("cross_validated", {})
            table.add_row("*" if version.active else "", version.name, version.created_at.strftime("%Y-%m-%d %H:%M"),
                          f"{cv.get('stance', {}).get('macro_f1', float('nan')):.3f}",
                          f"{cv.get('relevant', {}).get('f1', float('nan')):.3f}")
    out.print(table)


@models_app.command("activate")
def models_activate(name: str = typer.Argument(..., help="The version name from `stance models list`.")) -> None:
    """Make a model version the active one; then `stance classify` scores history with it.

    Example: stance models activate stance-20251125-101500-1a2b3c4d
    """
    from monitor import model_registry

    sessions = jobs.open_store(settings())
    with sessions.begin() as session:
        version = model_registry.activate(session, name)
        out.print(f"active: {version.name}", markup=False)


@models_app.command("rollback")
def models_rollback() -> None:
    """Re-activate the version that was active before the current one.

    Example: stance models rollback
    """
    from monitor import model_registry

    sessions = jobs.open_store(settings())
    with sessions.begin() as session:
        version = model_registry.rollback(session)
        out.print(f"active: {version.name}", markup=False)
