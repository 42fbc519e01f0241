"""Realtime world: room bans and invites, chat messages.

Revision ID: 0002_realtime
Revises: 0001_foundation
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_realtime"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "room_bans",
        sa.Column("room_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("banned_by", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_room_bans_room_id_rooms"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_room_bans_user_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["banned_by"], ["users.id"], name=op.f("fk_room_bans_banned_by_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("room_id", "user_id", name=op.f("pk_room_bans")),
    )
    op.create_table(
        "room_invites",
        sa.Column("room_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_room_invites_room_id_rooms"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_room_invites_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["invited_by"], ["users.id"], name=op.f("fk_room_invites_invited_by_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("room_id", "user_id", name=op.f("pk_room_invites")),
    )
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("room_id", sa.Uuid(), nullable=False),
        sa.Column("sender_kind", sa.String(8), nullable=False),
        sa.Column("sender_user_id", sa.Uuid(), nullable=True),
        sa.Column("sender_npc_id", sa.String(64), nullable=True),
        sa.Column("sender_name", sa.String(64), nullable=False),
        sa.Column("to_user_id", sa.Uuid(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("original_text", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(16), nullable=True),
        sa.Column("action", sa.String(8), nullable=False, server_default="allow"),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("moderation", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("held", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("meta", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("sender_kind IN ('user', 'npc')", name=op.f("ck_chat_messages_sender_kind")),
        sa.CheckConstraint("action IN ('allow', 'mask', 'block', 'flag')", name=op.f("ck_chat_messages_action")),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_chat_messages_room_id_rooms"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sender_user_id"], ["users.id"], name=op.f("fk_chat_messages_sender_user_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["to_user_id"], ["users.id"], name=op.f("fk_chat_messages_to_user_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
    )
    op.create_index("ix_chat_messages_room_created", "chat_messages", ["room_id", "created_at"])
    op.create_index(op.f("ix_chat_messages_sender_user_id"), "chat_messages", ["sender_user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_chat_messages_sender_user_id"), table_name="chat_messages")
    op.drop_index("ix_chat_messages_room_created", table_name="chat_messages")
    op.drop_table("chat_messages")
    op.drop_table("room_invites")
    op.drop_table("room_bans")
