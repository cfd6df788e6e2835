"""Time buckets (periods): a day, an ISO week starting Monday, or a calendar month, all in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta


def as_date(value) -> date:
    """A bucket or timestamp value from either dialect as a date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def bucket_start(day: date, freq: str) -> date:
    if freq == "day":
        return day
    if freq == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_bucket(start: date, freq: str) -> date:
    if freq == "day":
        return start + timedelta(days=1)
    if freq == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def buckets_between(first: date, last: date, freq: str) -> list[date]:
    """Every bucket start from the one holding ``first`` to the one holding ``last``, gaps included."""
    starts, current = [], bucket_start(first, freq)
    while current <= last:
        starts.append(current)
        current = next_bucket(current, freq)
    return starts


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def previous_window(first: date, last: date) -> tuple[date, date]:
    """The window of the same length that ends the day before ``first``."""
    length = (last - first).days + 1
    return first - timedelta(days=length), first - timedelta(days=1)
