"""The declarative base every table shares (one metadata, one Alembic history) and its naming convention."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, CursorResult, DateTime, MetaData, Result
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched (``Session.execute`` is typed as returning a plain Result)."""
    return cast(CursorResult[Any], result).rowcount or 0
