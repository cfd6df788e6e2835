"""compliance: an audit log of deletions, the posts a run's keyword filter dropped, and handle-free ids and URLs

Posts stored before this revision get what collection now stores: X URLs without the handle
(``https://x.com/i/web/status/<id>``), Bluesky URLs by DID instead of handle, Mastodon ids without the account
name (``https://<host>/statuses/<id>``) and no Mastodon URL (every status URL names its account).

Revision ID: 0005_compliance
Revises: 0004_post_embeddings
"""

import re

import sqlalchemy as sa
from alembic import op

_STATUS_URI = re.compile(r"^(?P<origin>https?://[^/]+)/(?:users/[^/]+/statuses|@[^/]+)/(?P<id>[^/?#]+)$")

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
    _remove_handles()


def _remove_handles() -> None:
    posts = sa.table("posts", sa.column("id", sa.Integer), sa.column("source", sa.String),
                     sa.column("source_id", sa.String), sa.column("url", sa.String))
    connection = op.get_bind()
    connection.execute(posts.update().where(posts.c.source == "x").values(
        url=sa.literal("https://x.com/i/web/status/") + posts.c.source_id))
    rows = connection.execute(sa.select(posts.c.id, posts.c.source_id).where(posts.c.source == "mastodon")).all()
    for row in rows:
        match = _STATUS_URI.match(row.source_id)
        source_id = f"{match['origin']}/statuses/{match['id']}" if match else row.source_id
        connection.execute(posts.update().where(posts.c.id == row.id).values(source_id=source_id, url=None))
    for row in connection.execute(sa.select(posts.c.id, posts.c.source_id).where(posts.c.source == "bluesky")).all():
        did, _, rest = row.source_id.removeprefix("at://").partition("/")
        url = f"https://bsky.app/profile/{did}/post/{rest.rsplit('/', 1)[-1]}" if rest else None
        connection.execute(posts.update().where(posts.c.id == row.id).values(url=url))


def downgrade() -> None:
    with op.batch_alter_table("collection_runs") as batch:
        batch.drop_column("skipped")
    op.drop_index("ix_deletion_log_at", table_name="deletion_log")
    op.drop_table("deletion_log")
