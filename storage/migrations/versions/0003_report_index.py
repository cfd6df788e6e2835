"""covering index for report aggregation

Revision ID: 0003_report_index
Revises: 0002_scheduling
"""

from alembic import op

revision = "0003_report_index"
down_revision = "0002_scheduling"
branch_labels = None
depends_on = None

REPORT_COLUMNS = [
    "model_version_id", "post_id", "relevant", "stance", "safety", "competition", "governance", "local_ai",
    "safety_concern", "sentiment_score",
]


def upgrade() -> None:
    # The new index starts with model_version_id, so the old single-column one is redundant.
    op.drop_index("ix_classifications_model_version_id", table_name="classifications")
    op.create_index("ix_classifications_report", "classifications", REPORT_COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_classifications_report", table_name="classifications")
    op.create_index("ix_classifications_model_version_id", "classifications", ["model_version_id"])
