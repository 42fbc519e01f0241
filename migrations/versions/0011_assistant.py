"""The assistant's actions per person: requests acted on, pending confirmations, outcomes.

Revision ID: 0011_assistant
Revises: 0001_foundation
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011_assistant"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assistant_actions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("tool", sa.String(32), nullable=False),
        sa.Column("args", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("result", postgresql.JSONB(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'running', 'done', 'failed', 'cancelled', 'expired')",
                           name=op.f("ck_assistant_actions_status")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_assistant_actions_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_actions")),
    )
    op.create_index("ix_assistant_actions_user_created", "assistant_actions", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_assistant_actions_user_created", table_name="assistant_actions")
    op.drop_table("assistant_actions")
