"""suppression: indexed by the address hash alone, which every lookup names (it covers the
channel too)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 00:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suppression", schema=None) as batch_op:
        batch_op.drop_index("ix_suppression_channel_address_hash")
        batch_op.create_index("ix_suppression_address_hash", ["address_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("suppression", schema=None) as batch_op:
        batch_op.drop_index("ix_suppression_address_hash")
        batch_op.create_index(
            "ix_suppression_channel_address_hash", ["channel", "address_hash"], unique=False
        )
