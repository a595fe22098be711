"""guided reports: a report asked one question at a time, kept until it is recorded,
cancelled or expired; buttons under scheduled posts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("open_key", sa.String(length=130), nullable=True),
        sa.Column("codes", sa.String(), nullable=False),
        sa.Column("answers", sa.String(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("card_id", sa.String(length=32), nullable=True),
        sa.Column("ask_id", sa.String(length=32), nullable=True),
        sa.Column("asks", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["chat_id"], ["chat.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_flow_open_key", "flow", ["open_key"], unique=True)
    # The sweep for flows gone silent reads only the open ones.
    op.create_index("ix_flow_open", "flow", ["ended_at", "touched_at"])
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buttons", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("edit_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("delete_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("delete_id")
        batch_op.drop_column("edit_id")
        batch_op.drop_column("buttons")
    op.drop_index("ix_flow_open", table_name="flow")
    op.drop_index("ix_flow_open_key", table_name="flow")
    op.drop_table("flow")
