"""compliance: an audit log of deletions, and the posts a run's keyword filter dropped

Revision ID: 0005_compliance
Revises: 0004_post_embeddings
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_compliance"
down_revision = "0004_post_embeddings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deletion_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("job", sa.String(length=128), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=True),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("not_found", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deletion_log")),
    )
    op.create_index("ix_deletion_log_at", "deletion_log", ["at"])
    with op.batch_alter_table("collection_runs") as batch:
        batch.add_column(sa.Column("skipped", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("collection_runs") as batch:
        batch.drop_column("skipped")
    op.drop_index("ix_deletion_log_at", table_name="deletion_log")
    op.drop_table("deletion_log")
