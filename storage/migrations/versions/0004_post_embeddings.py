"""post embeddings: one sentence embedding per post and encoder

Revision ID: 0004_post_embeddings
Revises: 0003_report_index
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_post_embeddings"
down_revision = "0003_report_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "post_embeddings",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("encoder", sa.String(length=32), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name=op.f("fk_post_embeddings_post_id_posts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("post_id", "encoder", name=op.f("pk_post_embeddings")),
    )


def downgrade() -> None:
    op.drop_table("post_embeddings")
