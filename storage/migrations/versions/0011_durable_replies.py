"""replies in the outbox: what a reply quotes and asks of the platform, attempts whose outcome
is unknown, each chat's oldest pending message by index

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("reply_to", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("extra", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("sending_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("doubt", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index("ix_outbox_lane", ["state", "chat_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index("ix_outbox_lane")
        batch_op.drop_column("doubt")
        batch_op.drop_column("sending_at")
        batch_op.drop_column("extra")
        batch_op.drop_column("reply_to")
