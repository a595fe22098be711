"""inbox lanes and the configuration version: the chat of each update, so that each chat's
updates keep their order while different chats are processed side by side; and one row that
counts configuration changes, for the caches of every process

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chat_id", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_inbox_lane", ["state", "chat_id", "id"], unique=False)
    version = op.create_table(
        "config_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(version, [{"id": 1, "n": 0}])
    # One name per scheduled job: units' own times were stored under the singular.
    for old, new in (("reminder", "reminders"), ("summary", "summaries"),
                     ("leaderboard", "leaderboards")):  # fmt: skip
        op.execute(sa.text("UPDATE schedule SET job = :new WHERE job = :old").bindparams(new=new, old=old))


def downgrade() -> None:
    for old, new in (("reminder", "reminders"), ("summary", "summaries"),
                     ("leaderboard", "leaderboards")):  # fmt: skip
        op.execute(sa.text("UPDATE schedule SET job = :old WHERE job = :new").bindparams(new=new, old=old))
    op.drop_table("config_version")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_lane")
        batch_op.drop_column("chat_id")
