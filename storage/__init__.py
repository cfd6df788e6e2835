"""Storage: typed SQLAlchemy 2 tables, query functions that take the caller's session, Alembic migrations.

Importing the package registers every table on ``storage.base.Base.metadata`` (the collection tables and the
scheduler's), so migrations and schema checks always see the whole schema.
"""

from storage import models, scheduling_models  # noqa: F401
