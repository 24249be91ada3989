"""portal sign-in: browser sessions and magic links

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 18:21:22.502959
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_link",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_sign_in_link")),
    )
    op.create_index(
        op.f("ix_sign_in_link_customer_id"), "sign_in_link", ["customer_id"], unique=False
    )
    op.create_table(
        "web_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("limited", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_web_session")),
    )
    op.create_index(op.f("ix_web_session_subject_id"), "web_session", ["subject_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_web_session_subject_id"), table_name="web_session")
    op.drop_table("web_session")
    op.drop_index(op.f("ix_sign_in_link_customer_id"), table_name="sign_in_link")
    op.drop_table("sign_in_link")
