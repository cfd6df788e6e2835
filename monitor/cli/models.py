"""`stance train` and `stance models`: training, comparing, activating and rolling back model versions."""

from __future__ import annotations

from pathlib import Path

import typer

from monitor.cli.common import console, out, settings, steps, usage_error

models_app = typer.Typer(help="List, activate and roll back stance model versions.", no_args_is_help=True,
                         rich_markup_mode=None)


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.add_typer(models_app, name="models")


def train(
    ctx: typer.Context,
    data: Path | None = typer.Argument(None, help="A labelled CSV/JSONL file (omit to retrain the default model)."),
    label_col: str | None = typer.Option(None, "--label-col", help="The label column of DATA."),
    text_col: str = typer.Option("text", "--text-col", help="The text column of DATA."),
    group_col: str | None = typer.Option(
        None, "--group-col", help="Labels are relative to this column (e.g. the stance target)."
    ),
    out_path: Path | None = typer.Option(None, "--out", help="Where to write the model (with DATA)."),
    activate: bool = typer.Option(False, help="Activate the new default-model version right away."),
    folds: int = typer.Option(5, help="Cross-validation folds."),
    datasets: Path | None = typer.Option(
        None, "--datasets", help="Folder with the labelled real posts' texts (default: [models] datasets_dir)."
    ),
) -> None:
    """Train a model and report cross-validated precision, recall, F1 and the confusion matrix.

    Without DATA, retrains the default topic model from the seed set plus every label stored in the database
    and registers it as a new, inactive model version.

    Example: stance train labelled.csv --label-col stance --out models/my-stance
    """
    if data is not None and (not label_col or not out_path):
        raise usage_error("training on a file needs --label-col and --out")
    from monitor import (  # after the options are checked: a usage error answers at once
        active_model,
        jobs,
        model_registry,
    )

    if data is not None:
        assert label_col and out_path  # a usage error above otherwise
        with steps(ctx, "training") as on_step:
            result = model_registry.train_single_label(data, label_col, text_col, out_path, folds, group_col,
                                                       on_step=on_step)
        _print_single_label_metrics(result.metrics)
    else:
        current = settings(ctx)
        sessions = jobs.open_store(current)
        with sessions.begin() as session, steps(ctx, "training") as on_step:
            active_model.ensure_active_model(session)
            result = model_registry.train_topic_version(session, current.models_dir, activate, folds,
                                                        datasets or current.datasets_dir, on_step=on_step)
        for problem in result.missing:
            console.print(f"warning: {problem}; the model is trained on less data than the shipped one", markup=False)
        _print_topic_metrics(result.metrics)
    out.print(f"{result.name}: trained on {result.examples} examples, saved to {result.path}"
              + (" (active)" if result.activated else ""), markup=False)


def _print_single_label_metrics(metrics: dict) -> None:
    from rich.table import Table

    table = Table("class", "precision", "recall", "f1", "support", title="cross-validated")
    for name in metrics["classes"]:
        row = metrics["cross_validated"][name]
        table.add_row(name, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1-score']:.3f}",
                      str(int(row["support"])))
    out.print(table)
    out.print(f"confusion (rows true, columns predicted, {', '.join(metrics['classes'])}): {metrics['confusion']}")


def _print_topic_metrics(metrics: dict) -> None:
    """Cross-validated (all, and per community and language) and held-out numbers of every head."""
    out.print("decided labels (rule tuned out of fold):   n   stance-F1  pro_closed-R  relevance-acc/F1  "
              "safety-F1", markup=False)
    sections = [("cv", metrics.get("cross_validated", {})), ("held-out", metrics.get("held_out", {}))]
    for label, section in sections:
        for name, m in section.items():
            closed = m["stance"]["per_class"]["pro_closed"]
            recall = f"{closed['recall']:.2f} of {closed['support']}" if closed["support"] else "-"
            safety = f"{m['safety_concern']['f1']:.3f}" if m["safety_concern"]["support"] else "-"
            out.print(f"  {label + ' ' + name:<38} {m['n']:>5}  {m['stance']['macro_f1_present']:.3f}    "
                      f"{recall:<12}  {m['relevant']['accuracy']:.3f}/{m['relevant']['f1']:.3f}       {safety}",
                      markup=False)
    out.print(f"stance confusion among relevant real posts (rows true, columns decided; pro_open, pro_closed, "
              f"neutral): {metrics.get('stance_confusion')}", markup=False)
    for community, matrix in sorted((metrics.get("stance_confusion_by_community") or {}).items()):
        out.print(f"  the same on {community} posts (corrects that community's platforms in reports): {matrix}",
                  markup=False)


@models_app.command("list")
def models_list(ctx: typer.Context) -> None:
    """List model versions with their scores on the same held-out real posts.

    Versions are compared only on the held-out set the active version was measured on; a version measured
    on other data shows its numbers in brackets.

    Example: stance models list
    """
    from rich.table import Column, Table

    from monitor import active_model, jobs, model_registry

    sessions = jobs.open_store(settings(ctx))
    with sessions.begin() as session:
        active = active_model.ensure_active_model(session)
        reference = active.metrics.get("held_out_hash")
        table = Table("", Column("name", no_wrap=True), "created", "held-out stance macro-F1",
                      "held-out relevance F1", "held-out safety F1", "cv stance macro-F1")
        for version in model_registry.list_versions(session):
            held = version.metrics.get("held_out", {}).get("all", {})
            comparable = version.metrics.get("held_out_hash") == reference

            def cell(value, comparable=comparable) -> str:
                if not isinstance(value, (int, float)):
                    return "-"
                return f"{value:.3f}" if comparable else f"({value:.3f})"

            cv = version.metrics.get("cross_validated", {})
            cv = cv.get("all", cv)
            table.add_row("*" if version.active else "", version.name, version.created_at.strftime("%Y-%m-%d %H:%M"),
                          cell(held.get("stance", {}).get("macro_f1")), cell(held.get("relevant", {}).get("f1")),
                          cell(held.get("safety_concern", {}).get("f1")),
                          f"{cv.get('stance', {}).get('macro_f1', float('nan')):.3f}")
    out.print(table)
    out.print("bracketed: measured on other held-out data than the active version, not comparable", markup=False)


@models_app.command("activate")
def models_activate(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The version name from `stance models list`."),
) -> None:
    """Make a model version the active one; then `stance classify` scores history with it.

    Example: stance models activate stance-20251125-101500-1a2b3c4d
    """
    from monitor import jobs, model_registry

    sessions = jobs.open_store(settings(ctx))
    with sessions.begin() as session:
        version = model_registry.activate(session, name)
        out.print(f"active: {version.name}", markup=False)


@models_app.command("rollback")
def models_rollback(ctx: typer.Context) -> None:
    """Re-activate the version that was active before the current one.

    Example: stance models rollback
    """
    from monitor import jobs, model_registry

    sessions = jobs.open_store(settings(ctx))
    with sessions.begin() as session:
        version = model_registry.rollback(session)
        out.print(f"active: {version.name}", markup=False)
