"""Reports: charts and a PDF of how the debate develops, from the classified posts in the database.

    from reports import ReportRequest, build_report
    result = build_report(session, ReportRequest(out_dir=Path("stance-reports"), topic=settings.topic))

Names are imported on first use, so that importing the report vocabulary (``reports.request``) or
``reports.wording`` does not load matplotlib.
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "EmptyReport": "reports.render",
    "NoModelVersion": "reports.lookups",
    "ReportRequest": "reports.request",
    "ReportResult": "reports.request",
    "build_report": "reports.render",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'reports' has no attribute {name!r}")
