"""Translation: translations stored with their chat line.

Revision ID: 0005_translation
Revises: 0002_realtime
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_translation"
down_revision = "0002_realtime"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_translations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["chat_messages.id"],
                                name=op.f("fk_message_translations_message_id_chat_messages"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_translations")),
        sa.UniqueConstraint("message_id", "target", name="uq_message_translations_message_target"),
    )
    op.create_index("ix_message_translations_lookup", "message_translations", ["text_hash", "source", "target"])


def downgrade() -> None:
    op.drop_index("ix_message_translations_lookup", table_name="message_translations")
    op.drop_table("message_translations")
