"""The methods pages: which models produced the numbers, how well they validated, the confusion matrices that
corrected their shares, what was collected, and how to read it all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure

from reports.content import ReportContent
from reports.pages import text_page
from reports.text import drawable, shorten, wrapped
from reports.wording import plural

#: Validation metrics worth a line each, as (path in ModelVersion.metrics, label).
HEADLINE_METRICS = (
    (("n",), "n"),
    (("stance", "macro_f1"), "stance macro-F1"),
    (("stance", "accuracy"), "stance accuracy"),
    (("relevant", "f1"), "relevance F1"),
    (("safety_concern", "f1"), "safety-concern F1"),
)

EXPLANATIONS = (
    "Corrected shares. A stance classifier makes systematic errors (e.g. it calls some neutral posts "
    "pro-open), so the share of posts it labels pro-open is a biased estimate of the true share. When the "
    "model's cross-validated confusion matrix is stored, shares are corrected by inverting it (how often each "
    "true stance is decided as each label): each platform's posts with the matrix of the labelled community "
    "they resemble (the model errs more on Reddit comments than on news passages), then combined by their "
    "number. The interval covers every mix of true shares that the counts "
    "and the uncertain error rates do not rule out; otherwise the charts say 'raw counts, uncorrected' and the "
    "interval is a Wilson score interval. The share as classified is always drawn beside the corrected one.",
    "The share voicing a safety concern is corrected the same way, with the model's safety-concern confusion: "
    "a concern is rare, so even a few percent of other posts flagged by mistake would otherwise be reported "
    "as a share several times the true one. The share as flagged is drawn beside it.",
    "When to doubt the correction. It assumes the model errs on your posts as it erred on the labelled posts "
    "the matrix was measured on. If the classified share of a stance is no larger than the rate at which the "
    "matrix says other posts are mistaken for it, the correction puts that stance at 0%; when the corrected "
    "and the classified share differ a lot, label a sample of your own posts (stance label) and retrain, so "
    "that the matrix is measured on posts like yours.",
    "Only classifications of one model version are counted, so a model change never mixes two models in one "
    "number; M-markers on the time axes show when a version was activated.",
    "Sentiment is the mean polarity (-1 to +1) of relevant posts with a sentiment score (languages no scorer "
    "covers have none and are left out, never counted as 0), with a normal 95% interval; the rolling line is "
    "a volume-weighted centred mean. Periods with fewer relevant posts than the minimum are left empty, the "
    "rolling line included.",
    "Distinctive words are log-odds ratios with an informative Dirichlet prior (Monroe et al. 2008) of one "
    "stance vs. the others, computed on an evenly spread sample of relevant posts.",
)


def _metric(metrics: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = metrics
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value if isinstance(value, (int, float)) else None


#: Where training stores its evaluations inside ModelVersion.metrics (classifiers.recipe: one section per
#: evaluation, each with an "all" slice and one per community and language); sections stored without slices,
#: and metrics stored flat at the top level, are read as they are.
METRIC_SECTIONS = (("cross_validated", "cross-validated"), ("held_out", "held-out real posts"))


def _headline(metrics: Mapping[str, Any]) -> str:
    parts = []
    for path, label in HEADLINE_METRICS:
        value = _metric(metrics, path)
        if value is not None:
            parts.append(f"{label} {value:.3f}" if isinstance(value, float) else f"{label} {value}")
    return ", ".join(parts)


def metrics_lines(metrics: Mapping[str, Any] | None) -> list[str]:
    """One line per evaluation (cross-validated, held-out real posts), each with its headline metrics."""
    metrics = metrics or {}
    sections = [
        f"{label}: {text}"
        for key, label in METRIC_SECTIONS
        if isinstance(section := metrics.get(key), Mapping)
        and (text := _headline(section["all"] if isinstance(section.get("all"), Mapping) else section))
    ]
    return sections or [_headline(metrics) or "no validation metrics stored"]


def metrics_text(metrics: Mapping[str, Any] | None) -> str:
    return "; ".join(metrics_lines(metrics))


def confusion_lines(metrics: Mapping[str, Any] | None,
                    used: Mapping[str, list[tuple[str, str]]] | None = None) -> list[str]:
    """The confusion matrices the correction inverts, as rows of counts and rates, one block per matrix.

    With ``used`` (matrix name -> the (platform, language) cells it corrected), only those matrices, each
    headed by the posts it corrected; without, every stance matrix stored. The safety-concern matrix last.
    """
    from reports.shares import Confusions, safety_confusion_from_metrics

    confusions = Confusions.from_metrics(metrics)
    stored = {"all real posts": confusions.pooled, **dict(sorted(confusions.by_community.items()))}
    lines = []
    for name, rows in stored.items():
        if rows is None or (used is not None and name not in used):
            continue
        posts = f"; corrects {', '.join(f'{s} {lang}' for s, lang in used[name])}" if used is not None else ""
        lines += _count_rows(f"{name}{posts} (rows: true stance; columns: decided pro-open / pro-closed / neutral)",
                             ("pro-open", "pro-closed", "neutral"), rows)
    concern = safety_confusion_from_metrics(metrics)
    if concern is not None:
        lines += _count_rows("safety concern, all languages (rows: truly voices one; columns: decided no / yes)",
                             ("no", "yes"), concern)
    return lines


def _count_rows(header: str, truths: tuple[str, ...], rows: list[list[int]]) -> list[str]:
    """A confusion matrix under ``header``: one line per true label, each count with its share of the row."""
    lines = [header]
    for truth, row in zip(truths, rows):
        cells = " / ".join(f"{count} ({count / (sum(row) or 1):.0%})" for count in row)
        lines.append(f"   true {truth:<10} {cells}")
    return lines


def corrections_page(content: ReportContent) -> Figure:
    """The confusion matrices that corrected this report's shares, each with the posts it corrected."""
    figure = text_page(content, "Correction matrices of the model used")
    metrics = content.model_version.metrics if content.model_version else None
    lines = confusion_lines(metrics, content.correction_matrices)
    y = 0.85
    if not content.shares_corrected:
        figure.text(0.06, y, "No stance confusion stored: stance shares are raw counts.", fontsize=9, va="top",
                    color="#666666")
        y -= 0.04
    note = ("Measured out of fold on real labelled posts, among the posts the model decided relevant (an "
            "off-topic post let through counts as a true neutral). The model errs at different rates on different "
            "communities, so each platform's posts are corrected with the matrix of the labelled community they "
            "resemble: Reddit with Reddit comments; Hacker News and news feeds with web passages (news, blogs, "
            "forums); X, Mastodon, Bluesky and imported files with all real posts. A platform whose posts you "
            "labelled (stance label, then stance train; at least 10 of every stance) is corrected with the matrix "
            "of your labels. The corrected shares of the groups are then combined, weighted by their posts. Rows "
            "with few real posts borrow 30 posts' worth of the rates measured on all training posts.")
    note = wrapped(note, width=170)
    figure.text(0.06, y, note, fontsize=8.5, va="top", color="#444444", linespacing=1.3)
    y -= 0.0195 * (note.count("\n") + 1) + 0.02
    for line in lines:
        text = wrapped(line, width=150) if not line.startswith("   ") else line
        figure.text(0.06, y, text, fontsize=8, va="top", family="monospace", linespacing=1.25)
        y -= 0.022 * (text.count("\n") + 1) + (0.012 if line.startswith("   true neutral") else 0)
    return figure


def methods_page(content: ReportContent) -> Figure:
    figure = text_page(content, "Methods and coverage")
    y = 0.85
    figure.text(0.05, y, "Stance model versions", fontsize=12, fontweight="bold", va="top")
    y -= 0.04
    for version in content.all_versions[-4:]:
        used = " (used in this report)" if content.model_version and version.id == content.model_version.id else ""
        active = "active" if version.active else "inactive"
        when = f"activated {version.activated_at:%Y-%m-%d}" if version.activated_at else "never activated"
        figure.text(0.06, y, shorten(f"{version.name}{used}: {active}, {when}", 160), fontsize=8.5, va="top",
                    fontweight="bold" if used else "normal")
        y -= 0.022
        for line in metrics_lines(version.metrics):
            text = wrapped(line, 175)
            figure.text(0.08, y, text, fontsize=8, va="top", color="#333333", linespacing=1.25)
            y -= 0.018 * (text.count("\n") + 1) + 0.002
        y -= 0.008
    y -= 0.02
    figure.text(0.05, y, "Collection coverage per source (all runs)", fontsize=12, fontweight="bold", va="top")
    y -= 0.04
    if not content.coverage:
        figure.text(0.06, y, "no collection runs recorded (e.g. posts imported from a file)", fontsize=8.5,
                    va="top", color="#666666")
        y -= 0.03
    for row in content.coverage:
        counted = (f", platform counted {row.counted:,} ({row.fetched / row.counted:.0%} fetched)"
                   if row.counted else "")
        line = (f"{row.source}: {plural(row.runs, 'run')} ({row.failed_runs} failed or interrupted), "
                f"{row.fetched:,} fetched, {row.new:,} new{counted}; {plural(row.runs_with_gaps, 'run')} "
                f"recorded gaps; last run {str(row.last_run)[:16]}")
        figure.text(0.06, y, drawable(line), fontsize=8.5, va="top")
        y -= 0.03
    return figure


def reading_page(content: ReportContent) -> Figure:
    """How to read the numbers: what the corrections, intervals and gaps mean."""
    figure = text_page(content, "How to read the numbers")
    y = 0.85
    for paragraph in EXPLANATIONS:
        text = wrapped(paragraph, width=150)
        figure.text(0.06, y, text, fontsize=9.5, va="top", linespacing=1.35)
        y -= 0.0235 * (text.count("\n") + 1) + 0.025
    return figure
