"""decision_tally: decisions per hour, outcome and reason, for the console's dashboard

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 21:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_tally",
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "outcome", "reason", name=op.f("pk_decision_tally")),
    )


def downgrade() -> None:
    op.drop_table("decision_tally")
