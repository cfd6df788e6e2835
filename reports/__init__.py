"""Reports: charts and a PDF of how the debate develops, from the classified posts in the database.

    from reports import ReportRequest, build_report
    result = build_report(session, ReportRequest(out_dir=Path("reports"), topic=settings.topic))
"""

from reports.lookups import NoModelVersion
from reports.render import build_report
from reports.request import ReportRequest, ReportResult

__all__ = ["NoModelVersion", "ReportRequest", "ReportResult", "build_report"]
