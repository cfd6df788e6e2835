"""The ``[schedule]`` table of stance.toml, validated into ``ScheduleSettings`` (see docs/operations.md).

Cron expressions are standard five-field crontab lines read in the schedule's time zone. APScheduler 3 counts
weekdays from Monday = 0 while crontab counts from Sunday = 0; numeric weekdays are therefore rewritten to
names before APScheduler sees them, so ``0 7 * * 1`` means Monday, as it does in crontab.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from monitor.errors import ConfigError

KINDS = ("collect", "classify", "retrain", "alerts", "report", "compliance", "expire")
#: Sources with a platform compliance check (``run = "compliance"``).
COMPLIANCE_SOURCES = ("x", "reddit")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_OPTIONS = {
    "collect": {"source"},
    "classify": set(),
    "report": {"freq", "days"},
    "retrain": {"min_new_labels", "activate"},
    "alerts": set(),
    "compliance": {"source"},
    "expire": set(),
}
_COMMON = {"run", "cron", "after"}


@dataclass(frozen=True)
class JobSpec:
    """One configured job: what it runs (``kind``), when (``cron`` and/or ``after`` other jobs), options."""

    name: str
    kind: str
    cron: str | None = None
    after: tuple[str, ...] = ()
    source: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def lease_name(self) -> str:
        """What two schedulers must not do at once: collect one source, classify, retrain; else the job."""
        if self.kind == "collect":
            return f"collect:{self.source}"
        if self.kind in ("classify", "retrain"):
            return self.kind
        return f"job:{self.name}"


@dataclass(frozen=True)
class ScheduleSettings:
    timezone: str = "UTC"
    #: A lease not renewed for this long is taken over by another scheduler (a dead process's lock).
    lease_seconds: int = 600
    #: How often `stance schedule` checks each job for being due.
    poll_seconds: int = 30
    jobs: tuple[JobSpec, ...] = ()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def job(self, name: str) -> JobSpec:
        for spec in self.jobs:
            if spec.name == name:
                return spec
        known = ", ".join(spec.name for spec in self.jobs) or "none configured"
        raise ConfigError(f"no job named {name!r} in [schedule.jobs] (jobs: {known})")

    def ordered(self) -> list[JobSpec]:
        """Jobs in the order one pass runs them: collection first, reports last; config order within a kind."""
        return sorted(self.jobs, key=lambda spec: KINDS.index(spec.kind))


def crontab_weekdays(value: str) -> str:
    """A crontab day-of-week field (Sunday = 0 or 7, names allowed) as APScheduler 3 weekday names."""
    if value == "*":
        return value
    days: set[int] = set()
    for part in value.lower().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            low, high = 0, 6
        elif "-" in base:
            low, high = (_weekday(x) for x in base.split("-", 1))
        else:
            low = _weekday(base)
            high = 6 if step_text else low
        if high < low:  # 5-0 or fri-sun: wraps past Saturday
            high += 7
        days.update(day % 7 for day in range(low, high + 1, step))
    return ",".join(_DAYS[day] for day in sorted(days))


def _weekday(text: str) -> int:
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text) % 7
    if text[:3] in _DAYS:
        return _DAYS.index(text[:3])
    raise ValueError(f"bad day of week {text!r}")


def cron_trigger(expression: str, tz: ZoneInfo) -> CronTrigger:
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    fields[4] = crontab_weekdays(fields[4])
    return CronTrigger.from_crontab(" ".join(fields), timezone=tz)


def next_fire(spec: JobSpec, tz: ZoneInfo, after: datetime) -> datetime | None:
    """The first cron fire time strictly after ``after`` (None for jobs that only run ``after`` others)."""
    if not spec.cron:
        return None
    return cron_trigger(spec.cron, tz).get_next_fire_time(None, after + timedelta(microseconds=1))


def interval_seconds(spec: JobSpec, tz: ZoneInfo, now: datetime) -> int | None:
    """Seconds between the next two fire times: what "on time" means for this job in status output."""
    first = next_fire(spec, tz, now)
    second = next_fire(spec, tz, first) if first else None
    return int((second - first).total_seconds()) if first and second else None


def parse_schedule(raw: Mapping[str, Any], sources: Iterable[str], file: str = "stance.toml") -> ScheduleSettings:
    """Validate the raw ``[schedule]`` table; every mistake is a ConfigError naming the key."""
    where = f"{file}: [schedule]"
    _only(raw, {"timezone", "lease_seconds", "poll_seconds", "jobs"}, where)
    timezone = _typed(raw, "timezone", str, "UTC", where, "a time zone name like Europe/Berlin")
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where} timezone: unknown time zone {timezone!r}") from None
    lease = _typed(raw, "lease_seconds", int, 600, where, "a number of seconds >= 30")
    poll = _typed(raw, "poll_seconds", int, 30, where, "a number of seconds >= 1")
    if lease < 30 or poll < 1:
        raise ConfigError(f"{where}: lease_seconds must be >= 30 and poll_seconds >= 1")
    tables = _typed(raw, "jobs", dict, {}, where, "a table of jobs")
    specs = [_job(name, table, set(sources), tz, file) for name, table in tables.items()]
    names = {spec.name for spec in specs}
    for spec in specs:
        missing = [name for name in spec.after if name not in names]
        if missing:
            raise ConfigError(f"{file}: [schedule.jobs.{spec.name}] after: no job named {missing[0]!r}")
    _check_cycles(specs, file)
    return ScheduleSettings(timezone, lease, poll, tuple(specs))


def _job(name: str, table: Any, sources: set[str], tz: ZoneInfo, file: str) -> JobSpec:
    where = f"{file}: [schedule.jobs.{name}]"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: expected a table")
    kind = _typed(table, "run", str, name if name in KINDS else "", where, f"one of {', '.join(KINDS)}")
    if kind not in KINDS:
        raise ConfigError(f"{where} run: expected one of {', '.join(KINDS)}, got {kind!r}")
    _only(table, _COMMON | _OPTIONS[kind], where)
    cron = _typed(table, "cron", str, None, where, "a crontab expression like '*/15 * * * *'")
    if cron is not None:
        try:
            cron_trigger(cron, tz)
        except ValueError as exc:
            raise ConfigError(f"{where} cron: {cron!r}: {exc}") from None
    after = _typed(table, "after", list, [], where, "a list of job names")
    if not all(isinstance(item, str) for item in after) or name in after:
        raise ConfigError(f"{where} after: expected a list of other jobs' names")
    if cron is None and not after:
        raise ConfigError(f"{where}: needs cron, after, or both")
    source = None
    if kind == "collect":
        source = _typed(table, "source", str, None, where, "a source name")
        if source not in sources:
            raise ConfigError(f"{where} source: expected one of {', '.join(sorted(sources))}, got {source!r}")
    if kind == "compliance":
        source = _typed(table, "source", str, None, where, "a source name")
        if source not in COMPLIANCE_SOURCES:
            raise ConfigError(f"{where} source: expected one of {', '.join(COMPLIANCE_SOURCES)}, got {source!r}")
    options = {key: table[key] for key in _OPTIONS[kind] - {"source"} if key in table}
    _check_options(options, where)
    return JobSpec(name, kind, cron, tuple(after), source, options)


def _check_options(options: Mapping[str, Any], where: str) -> None:
    if "freq" in options and options["freq"] not in ("day", "week", "month"):
        raise ConfigError(f"{where} freq: expected day, week or month, got {options['freq']!r}")
    for key in ("days", "min_new_labels"):
        value = options.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"{where} {key}: expected a positive integer, got {value!r}")
    if not isinstance(options.get("activate", False), bool):
        raise ConfigError(f"{where} activate: expected true or false, got {options['activate']!r}")


def _check_cycles(specs: list[JobSpec], file: str) -> None:
    after = {spec.name: spec.after for spec in specs}

    def visit(name: str, path: tuple[str, ...]) -> None:
        for before in after[name]:
            if before in path:
                raise ConfigError(f"{file}: [schedule.jobs] after: cycle {' -> '.join((*path, before))}")
            visit(before, (*path, before))

    for spec in specs:
        visit(spec.name, (spec.name,))


def _only(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{where} {unknown[0]}: unknown key; expected one of {', '.join(sorted(allowed))}")


def _typed(table: Mapping[str, Any], key: str, kind: type, default: Any, where: str, expected: str) -> Any:
    if key not in table:
        return default
    value = table[key]
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise ConfigError(f"{where} {key}: expected {expected}, got {value!r}")
    return value
