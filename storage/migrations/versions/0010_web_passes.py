"""web passes kept in the database; ids of units, memberships, grants and reports never reused;
a commune's last village code kept

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 09:00:00

SQLite hands a deleted row's id to the next insert unless the table is AUTOINCREMENT, which
only a rebuild can make it; `storage.db.upgrade` turns foreign keys off around the migrations
so that the rebuild does not cascade. PostgreSQL's sequences never go back: nothing to do.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEVER_REUSED = ("unit", "membership", "admin_grant", "report")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in NEVER_REUSED:
            with op.batch_alter_table(
                table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
            ):
                pass
        # Ids deleted before this rebuild were free for reuse: start after every id the
        # audit log names (a `link` entry keeps the unit ids it moved between).
        op.execute(
            "UPDATE sqlite_sequence SET seq = max(seq, (SELECT coalesce(max(n), 0) FROM ("
            " SELECT max(unit_id) AS n FROM audit_entry"
            " UNION ALL SELECT max(CAST(before AS INTEGER)) FROM audit_entry"
            "  WHERE action = 'link' AND before GLOB '[0-9]*'"
            " UNION ALL SELECT max(CAST(after AS INTEGER)) FROM audit_entry"
            "  WHERE action = 'link' AND after GLOB '[0-9]*'))) WHERE name = 'unit'"
        )
    with op.batch_alter_table("unit") as batch_op:
        batch_op.add_column(sa.Column("village_seq", sa.Integer(), nullable=True))
    # Each commune starts after the highest number its villages' codes have now.
    villages = sa.table(
        "unit", sa.column("id", sa.Integer), sa.column("parent_id", sa.Integer),
        sa.column("level", sa.String), sa.column("code", sa.String),
        sa.column("village_seq", sa.Integer),
    )  # fmt: skip
    connection = op.get_bind()
    highest: dict[int, int] = {}
    rows = connection.execute(
        sa.select(villages.c.parent_id, villages.c.code).where(villages.c.level == "village")
    )
    for parent, code in rows:
        tail = str(code).rsplit("-", 1)[-1]
        if parent is not None and tail.isdigit():
            highest[parent] = max(highest.get(parent, 0), int(tail))
    for parent, seq in highest.items():
        connection.execute(
            sa.update(villages).where(villages.c.id == parent).values(village_seq=seq)
        )
    op.create_table(
        "web_pass",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=True),
        sa.Column("chat_id", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("web_pass") as batch_op:
        batch_op.create_index(batch_op.f("ix_web_pass_unit_id"), ["unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_pass_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    op.drop_table("web_pass")
    with op.batch_alter_table("unit") as batch_op:
        batch_op.drop_column("village_seq")
