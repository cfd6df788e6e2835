"""cluster: rollups kept by triggers, and dead letters for poison task batches

Revision ID: 0006_cluster
Revises: 0005_compliance

``rollups`` holds what a report's GROUP BY over ``classifications`` joined to ``posts`` would give, per (model
version, UTC day, source, language, label). Triggers keep it so in the transaction that writes classifications,
whichever code path writes or deletes them (bulk classification, re-scoring, purges, cascades from deleted posts
or model versions). Triggers rather than bookkeeping in ``storage.queries``: deletions come from several places,
some of them cascades the application never sees, and a trigger cannot be forgotten by the next one.

- SQLite: row triggers with an UPSERT per classification.
- PostgreSQL: statement triggers over transition tables: one aggregated UPSERT per statement, in key order (so
  concurrent workers lock rollup rows in the same order and cannot deadlock).
- Deleting a post first deletes its classifications (a BEFORE DELETE trigger on posts), so that the rollup
  triggers still see the post's day, source and language.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_cluster"
down_revision = "0005_compliance"
branch_labels = None
depends_on = None

# A frozen copy of reports.aggregate.DEMO_URL_PREFIX as of this revision (migrations never import app code).
_DEMO = "https://demo.stance-monitor.invalid/"
KEYS = ("model_version_id", "day", "source", "lang", "label")
SUMS = ("posts", "aspect_safety", "aspect_competition", "aspect_governance", "aspect_local_ai", "safety_concern",
        "sentiment_n", "sentiment_sum", "sentiment_sq", "demo", "p_pro_open", "p_pro_closed", "p_neutral")


def _flag(expression: str) -> str:
    return f"CASE WHEN {expression} THEN 1 ELSE 0 END"


def _values(c: str, p: str, day: str) -> list[str]:
    """The key and summed expressions of one classification ``c`` of post ``p``, in KEYS + SUMS order."""
    return [
        f"{c}.model_version_id", day, f"{p}.source", f"coalesce({p}.lang, 'und')",
        f"CASE WHEN {c}.relevant THEN {c}.stance ELSE '' END",
        "1", _flag(f"{c}.safety OR {c}.safety_concern"), _flag(f"{c}.competition"), _flag(f"{c}.governance"),
        _flag(f"{c}.local_ai"), _flag(f"{c}.safety_concern"), _flag(f"{c}.sentiment_score IS NOT NULL"),
        f"coalesce({c}.sentiment_score, 0.0)", f"coalesce({c}.sentiment_score * {c}.sentiment_score, 0.0)",
        _flag(f"substr({p}.url, 1, {len(_DEMO)}) = '{_DEMO}'"),
        f"{c}.p_pro_open", f"{c}.p_pro_closed", f"{c}.p_neutral",
    ]


def _upsert(table: str = "rollups") -> str:
    updates = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in SUMS)
    return f"ON CONFLICT ({', '.join(KEYS)}) DO UPDATE SET {updates}"


def _columns() -> str:
    return ", ".join(KEYS + SUMS)


# --- SQLite -----------------------------------------------------------------------------------------------

_SQLITE_DAY = "substr(p.created_at, 1, 10)"


def _sqlite_apply(row: str, sign: int) -> str:
    values = _values(row, "p", _SQLITE_DAY)
    signed = values[: len(KEYS)] + [v if sign > 0 else f"-({v})" for v in values[len(KEYS):]]
    keys = " AND ".join(f"rollups.{k} = {v}" for k, v in zip(KEYS, values))
    statement = (f"INSERT INTO rollups ({_columns()}) SELECT {', '.join(signed)} FROM posts p"
                 f" WHERE p.id = {row}.post_id {_upsert()};")
    if sign < 0:
        statement += f"\n  DELETE FROM rollups WHERE posts = 0 AND EXISTS (SELECT 1 FROM posts p" \
                     f" WHERE p.id = {row}.post_id AND {keys});"
    return statement


def _sqlite_triggers() -> list[str]:
    return [
        f"CREATE TRIGGER rollups_insert AFTER INSERT ON classifications BEGIN\n  {_sqlite_apply('NEW', 1)}\nEND",
        f"CREATE TRIGGER rollups_delete AFTER DELETE ON classifications BEGIN\n  {_sqlite_apply('OLD', -1)}\nEND",
        f"CREATE TRIGGER rollups_update AFTER UPDATE ON classifications BEGIN\n  {_sqlite_apply('OLD', -1)}\n"
        f"  {_sqlite_apply('NEW', 1)}\nEND",
        "CREATE TRIGGER rollups_post_delete BEFORE DELETE ON posts BEGIN\n"
        "  DELETE FROM classifications WHERE post_id = OLD.id;\nEND",
    ]


# --- PostgreSQL -------------------------------------------------------------------------------------------

_PG_DAY = "CAST(timezone('UTC', p.created_at) AS DATE)"


def _pg_apply(rows: str, sign: int) -> str:
    values = _values("c", "p", _PG_DAY)
    keys, sums = values[: len(KEYS)], values[len(KEYS):]
    summed = [f"{'' if sign > 0 else '-'}sum({v})" for v in sums]
    order = ", ".join(str(i + 1) for i in range(len(KEYS)))
    statement = (f"INSERT INTO rollups ({_columns()}) SELECT {', '.join(keys + summed)}"
                 f" FROM {rows} c JOIN posts p ON p.id = c.post_id GROUP BY {order} ORDER BY {order} {_upsert()};")
    if sign < 0:
        matched = " AND ".join(f"r.{k} = t.{k}" for k in KEYS)
        named = ", ".join(f"{v} AS {k}" for k, v in zip(KEYS, keys))
        statement += (f"\n  DELETE FROM rollups r USING (SELECT DISTINCT {named} FROM {rows} c JOIN posts p"
                      f" ON p.id = c.post_id) t WHERE r.posts = 0 AND {matched};")
    return statement


def _pg_function(name: str, body: str) -> str:
    return (f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  {body}\n"
            f"  RETURN NULL;\nEND $$")


def _pg_triggers() -> list[str]:
    return [
        _pg_function("rollups_insert", _pg_apply("new_rows", 1)),
        _pg_function("rollups_delete", _pg_apply("old_rows", -1)),
        _pg_function("rollups_update", _pg_apply("old_rows", -1) + "\n  " + _pg_apply("new_rows", 1)),
        "CREATE FUNCTION rollups_post_delete() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        "  DELETE FROM classifications WHERE post_id = OLD.id;\n  RETURN OLD;\nEND $$",
        "CREATE TRIGGER rollups_insert AFTER INSERT ON classifications REFERENCING NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION rollups_insert()",
        "CREATE TRIGGER rollups_delete AFTER DELETE ON classifications REFERENCING OLD TABLE AS old_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION rollups_delete()",
        "CREATE TRIGGER rollups_update AFTER UPDATE ON classifications REFERENCING OLD TABLE AS old_rows"
        " NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollups_update()",
        "CREATE TRIGGER rollups_post_delete BEFORE DELETE ON posts FOR EACH ROW"
        " EXECUTE FUNCTION rollups_post_delete()",
    ]


def _backfill(day: str) -> str:
    values = _values("c", "p", day)
    keys, sums = values[: len(KEYS)], values[len(KEYS):]
    order = ", ".join(str(i + 1) for i in range(len(KEYS)))
    return (f"INSERT INTO rollups ({_columns()}) SELECT {', '.join(keys)}, {', '.join(f'sum({v})' for v in sums)}"
            f" FROM classifications c JOIN posts p ON p.id = c.post_id WHERE true GROUP BY {order}")


def upgrade() -> None:
    op.create_table(
        "rollups",
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        *(sa.Column(name, sa.Float() if name.startswith(("p_", "sentiment_s")) else sa.Integer(), nullable=False)
          for name in SUMS),
        sa.PrimaryKeyConstraint(*KEYS, name=op.f("pk_rollups")),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=128), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=True),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute(_backfill(_PG_DAY if postgres else _SQLITE_DAY))
    for statement in _pg_triggers() if postgres else _sqlite_triggers():
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in ("rollups_insert", "rollups_delete", "rollups_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON classifications" if postgres
                   else f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TRIGGER IF EXISTS rollups_post_delete ON posts" if postgres
               else "DROP TRIGGER IF EXISTS rollups_post_delete")
    if postgres:
        for name in ("rollups_insert", "rollups_delete", "rollups_update", "rollups_post_delete"):
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_table("dead_letters")
    op.drop_table("rollups")
