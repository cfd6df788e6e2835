"""Files in and out: ``stance import``, ``stance predict``, ``stance export`` and ``stance purge``.

``register(app)`` adds the four commands. ``import`` and ``predict`` read the same inputs (the simple schema,
X API v2 / twarc2 JSONL, and other tools' CSV exports through ``--preset`` or ``--map``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from monitor.cli.common import console, out, parse_date, parse_list, progress, settings
from monitor.errors import MonitorError
from reports.wording import plural

MAP_HELP = ("Where our fields are in your file, as FIELD=COLUMN pairs: text=body,created_at=timestamp,"
            "author=user|user_id (first non-empty column wins; a.b reaches into nested JSON). Fields: id, text, "
            "created_at, author, lang, url, source, likes, reposts, replies, quotes.")
PRESET_HELP = "Read another tool's CSV export: 4cat, minet (tweets) or twarc2 (twarc2 csv)."


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.command("predict")(predict)
    app.command("export")(export)
    app.command("purge")(purge)


def _column_map(preset: str | None, spec: str | None, source: str | None = None, **columns):
    from monitor.ingest.columns import MapError, column_map

    try:
        return column_map(preset, spec, source, **columns)
    except MapError as exc:
        raise typer.BadParameter(str(exc), param_hint="--preset" if "preset" in str(exc) else "--map") from None


def import_(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., metavar="FILE...", help="JSONL or CSV files."),
    preset: str | None = typer.Option(None, "--preset", metavar="NAME", help=PRESET_HELP),
    mapping: str | None = typer.Option(None, "--map", metavar="FIELD=COLUMN,...", help=MAP_HELP),
    source: str | None = typer.Option(
        None, "--source", metavar="NAME",
        help="The source of rows that name none, e.g. bluesky for a 4CAT Bluesky export "
             "(default: file; x with the minet and twarc2 presets)."),
) -> None:
    """Import posts from JSONL/CSV files: the simple schema (id, text, created_at, author, lang, url,
    source, likes, reposts, replies), X API v2 responses as twarc2 writes them, or another tool's export.

    Bad rows are reported by line and written to FILE.rejects.jsonl; good rows land anyway. Exit code 1
    when a file could not be read (the others are imported) or nothing could be. Importing a file again adds
    nothing twice.

    \b
    Examples:
      stance import tweets.jsonl posts.csv
      stance import --preset twarc2 tweets.csv
      stance import --preset 4cat --source bluesky 4cat-export.csv
      stance import --map text=body,created_at=published,id=guid export.csv
    """
    columns = _column_map(preset, mapping, source)
    from monitor import jobs  # after the options are checked: a usage error answers at once

    current = settings(ctx)
    with progress(ctx) as bar:
        task = bar.add_task("importing", total=None)
        results = jobs.import_files(
            current, files, mapping=columns,
            on_page=lambda s: bar.update(task, description=f"importing {s.query}", completed=s.fetched),
        )
    readable, unreadable = 0, []
    for result in results:
        s = result.summary
        if result.error:
            unreadable.append(result.error)
            continue
        readable += s.fetched - s.invalid
        out.print(f"{result.path}: {s.new} new, {s.already_stored} already stored, {s.rejected} rejected",
                  markup=False, highlight=False)
        for error in s.errors[:20]:
            console.print(f"  {error.position}: {error.reason}", markup=False, highlight=False)
        if len(s.errors) > 20:
            console.print(f"  ... and {len(s.errors) - 20} more", markup=False)
        if result.rejects_path:
            console.print(f"  rejected rows written to {result.rejects_path}", markup=False)
        for warning in s.changed[:20]:
            console.print(f"  warning: {warning.position}: {warning.reason}", markup=False, highlight=False)
        if len(s.changed) > 20:
            console.print(f"  ... and {len(s.changed) - 20} more ids stored with a different text", markup=False)
    if unreadable:  # after importing the files that could be read
        raise MonitorError("; ".join(unreadable))
    if readable <= 0:
        raise MonitorError("nothing could be imported: every row was rejected")


def predict(
    ctx: typer.Context,
    input: Path = typer.Argument(..., metavar="INPUT", help="CSV, JSONL (X API v2 / twarc2 too) or Parquet file."),
    output: Path = typer.Option(..., "--out", help="Where to write the rows with predictions (csv, jsonl, parquet)."),
    text_col: str | None = typer.Option(None, "--text-col", help="The column holding the post text (default text)."),
    model: Path | None = typer.Option(None, "--model", help="A model directory (default: the shipped model)."),
    lang_col: str | None = typer.Option(
        None, "--lang-col", help="A column with each row's language code, used where present (else detected)."),
    preset: str | None = typer.Option(None, "--preset", metavar="NAME", help=PRESET_HELP),
    mapping: str | None = typer.Option(None, "--map", metavar="FIELD=COLUMN,...", help=MAP_HELP),
) -> None:
    """Classify a file without storing it; adds lang, relevant, stance, stance_confidence, safety_concern,
    aspects, sentiment and sentiment_score to each row.

    Reads what `stance import` reads. Rows of X API payloads (twarc2 JSONL) become one row per post with
    id, created_at, lang, text, likes, reposts, replies, quotes and a handle-free url.

    Example: stance predict posts.csv --out labelled.csv --text-col body
    """
    from monitor.predict import predict_file

    columns = _column_map(preset, mapping, text_column=text_col, lang_column=lang_col)
    with progress(ctx) as bar:
        task = bar.add_task("predicting", total=None)
        n = predict_file(input, output, model=model, languages=settings(ctx).topic.languages, mapping=columns,
                         on_batch=lambda done, total: bar.update(task, completed=done, total=total))
    out.print(f"wrote {plural(n, 'row')} to {output}", markup=False)


def export(
    ctx: typer.Context,
    output: Path = typer.Argument(..., metavar="OUTPUT", help="Output file (.csv, .jsonl or .parquet)."),
    fmt: str | None = typer.Option(None, "--format", help="csv, jsonl or parquet (default: from the suffix)."),
    date_from: str | None = typer.Option(None, "--from", help="First day (UTC), YYYY-MM-DD."),
    date_to: str | None = typer.Option(None, "--to", help="Last day (UTC), YYYY-MM-DD."),
    lang: str | None = typer.Option(None, "--lang", help="Comma-separated languages, e.g. de,en."),
    source: str | None = typer.Option(None, "--source", help="Comma-separated sources, e.g. x,mastodon."),
    stance: str | None = typer.Option(
        None, "--stance", help="Comma-separated stances of relevant posts: pro_open, pro_closed, neutral."),
    model: str | None = typer.Option(
        None, "--model", help="The classifications of this model version (default: the active one)."),
) -> None:
    """Export posts with their classifications by one model version.

    Timestamps are UTC with a Z; engagement counts (likes, reposts, replies, quotes) come as stored;
    aspects are a list in JSONL and Parquet (typed columns) and ';'-separated in CSV. Cells that a
    spreadsheet would run as a formula are prefixed with an apostrophe in CSV.

    Example: stance export august.parquet --from 2025-08-01 --to 2025-08-31 --lang en --stance pro_open
    """
    stances = parse_list(stance)
    if stances and any(s not in ("pro_open", "pro_closed", "neutral") for s in stances):
        raise typer.BadParameter(f"expected pro_open, pro_closed and/or neutral, got {stance!r}",
                                 param_hint="--stance")
    first, last = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    from monitor import jobs  # after the options are checked: a usage error answers at once
    from monitor.status import ExportFilter
    from monitor.status import export as export_posts

    chosen = ExportFilter(first, last, parse_list(lang),
                          parse_list(source), stances, model)
    with jobs.open_store(settings(ctx), read_only=True, must_exist=True)() as session:
        n = export_posts(session, output, fmt, chosen)
    out.print(f"wrote {plural(n, 'post')} to {output}", markup=False)


def purge(
    ctx: typer.Context,
    source: str | None = typer.Option(None, "--source", help="The source the ids belong to, e.g. x."),
    ids_file: Path | None = typer.Argument(None, metavar="[IDS_FILE]",
                                              help="A file with one source id per line (e.g. X compliance)."),
    author_did: str | None = typer.Option(None, "--author-did",
                                             help="Delete every Bluesky post of this account (did:plc:...)."),
    reason: str = typer.Option("purge on request", "--reason", help="Why, for the audit log."),
) -> None:
    """Delete posts by id, or a Bluesky account's posts, from every table; logged in the audit log.

    Example: stance purge --source x deleted_ids.txt
    """
    from monitor import compliance, jobs
    from monitor.ingest.privacy import load_salt

    if (ids_file is None) == (author_did is None):
        raise typer.BadParameter("give IDS_FILE with --source, or --author-did DID", param_hint="IDS_FILE")
    if author_did is not None:
        if not author_did.startswith("did:"):
            raise typer.BadParameter(f"expected a DID like did:plc:..., got {author_did!r}",
                                     param_hint="--author-did")
        result = compliance.purge_bluesky_account(jobs.open_store(settings(ctx)), author_did, load_salt(), reason)
        out.print(f"deleted {plural(result.deleted, 'post')} of {author_did}", markup=False)
        return
    if source is None:
        raise typer.BadParameter("IDS_FILE needs --source", param_hint="--source")
    assert ids_file is not None
    try:
        ids = [line.strip() for line in ids_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as exc:
        raise MonitorError(f"{ids_file}: cannot read: {exc.strerror}") from None
    result = compliance.purge_ids(jobs.open_store(settings(ctx)), source, ids, reason)
    out.print(f"deleted {plural(result.deleted, 'post')}", markup=False)
    if result.not_found:
        shown = ", ".join(result.not_found[:20]) + (", ..." if len(result.not_found) > 20 else "")
        out.print(f"{len(result.not_found)} not stored: {shown}", markup=False)
