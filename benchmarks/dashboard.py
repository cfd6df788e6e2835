"""Server time of the dashboard's overview on N synthetic classified posts, on SQLite or PostgreSQL.

    PYTHONPATH=. python benchmarks/dashboard.py --posts 1000000
    PYTHONPATH=. python benchmarks/dashboard.py --posts 1000000 --db-url postgresql+psycopg://postgres@127.0.0.1:5432/test

The database is the one benchmarks/reports.py builds (cached SQLite file, or a PostgreSQL schema of its own).
Each view is asked for through the real app (``monitor.web.create_app``) in this process, and timed by the
app itself (its ``Server-Timing`` header), so the numbers are server time without the network:

- cold: the first request for a view, with nothing cached (each view is asked for by a fresh app);
- warm: the same view again while the data is unchanged (the app caches per data version);
- the reports' ``collect`` alone, the aggregation both the PDF and the dashboard call, for comparison.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from fastapi.testclient import TestClient  # noqa: E402

from monitor.config import load_settings  # noqa: E402
from monitor.web import create_app  # noqa: E402
from monitor.web.filters import parse_filters  # noqa: E402
from monitor.web.overview import report_request  # noqa: E402
from reports.content import collect  # noqa: E402
from storage.engine import open_database  # noqa: E402

TARGET_SECONDS = 1.0
VIEWS = {
    "overview (week)": "/overview.json",
    "overview page (HTML)": "/overview",
    "overview, month": "/overview.json?freq=month",
    "overview, German, day": "/overview.json?lang=de&freq=day",
    "overview, one month, mastodon": "/overview.json?from=2025-08-01&to=2025-08-31&source=mastodon",
    "API shares": "/api/shares",
}


def _bench_reports():
    spec = importlib.util.spec_from_file_location("bench_reports", _HERE / "reports.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def server_ms(response) -> float:
    assert response.status_code == 200, response.text[:300]
    return float(response.headers["server-timing"].split("dur=")[1])


def measure(url: str, repeat: int) -> list[tuple[str, float, float]]:
    bench = _bench_reports()
    settings = replace(load_settings(None, {"STANCE_DATABASE_URL": url}), topic=bench.TOPIC)
    rows = []
    for name, path in VIEWS.items():
        colds, warms = [], []
        for _ in range(repeat):
            with TestClient(create_app(settings), base_url="http://127.0.0.1:8050") as http:
                colds.append(server_ms(http.get(path)))
                warms.append(min(server_ms(http.get(path)) for _ in range(3)))
        rows.append((name, min(colds), statistics.median(warms)))
    engine, sessions = open_database(url)
    timings = []
    for _ in range(repeat):
        with sessions() as session:
            started = time.perf_counter()
            collect(session, report_request(session, settings, parse_filters({})))
            timings.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    rows.append(("reports.content.collect alone", min(timings), float("nan")))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--db-url", default=None, help="PostgreSQL URL; default: the cached SQLite file")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL benchmark schema")
    parser.add_argument("--repeat", type=int, default=3, help="best (cold) or median (warm) of this many")
    args = parser.parse_args(argv)
    bench = _bench_reports()
    if args.db_url:
        url, schema = bench.postgres_schema(args.db_url, args.posts)
    else:
        url, schema = bench.sqlite_url(args.posts), None
    try:
        rows = measure(url, args.repeat)
    finally:
        if schema and not args.keep:
            bench.drop_schema(args.db_url, schema)
    backend = "postgresql" if args.db_url else "sqlite"
    print(f"[{backend}] {args.posts:,} classified posts; server time in ms (target: {TARGET_SECONDS * 1000:.0f})")
    print(f"{'view':<34}{'cold':>10}{'warm':>10}")
    for name, cold, warm in rows:
        warm_text = "" if warm != warm else f"{warm:10.1f}"
        print(f"{name:<34}{cold:10.1f}{warm_text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
