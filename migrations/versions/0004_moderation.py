"""Moderation: world and room rules, strikes, sanctions, the review queue, appeals.

Revision ID: 0004_moderation
Revises: 0002_realtime
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_moderation"
down_revision = "0002_realtime"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"),
                                   ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "moderation_rules",
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("room_id", sa.Uuid(), nullable=True),
        sa.Column("rules", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        _fk("moderation_rules", "room_id", "rooms", "CASCADE"),
        _fk("moderation_rules", "updated_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_moderation_rules")),
    )
    op.create_table(
        "moderation_sanctions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False, server_default="world"),
        sa.Column("room_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("source", sa.String(16), nullable=False, server_default="manual"),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.Uuid(), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.Column("details", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.CheckConstraint("kind IN ('warn', 'mute', 'kick', 'ban')", name=op.f("ck_moderation_sanctions_kind")),
        sa.CheckConstraint("scope IN ('world', 'room')", name=op.f("ck_moderation_sanctions_scope")),
        _fk("moderation_sanctions", "user_id", "users", "CASCADE"),
        _fk("moderation_sanctions", "room_id", "rooms", "CASCADE"),
        _fk("moderation_sanctions", "created_by", "users", "SET NULL"),
        _fk("moderation_sanctions", "lifted_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_sanctions")),
    )
    op.create_index("ix_moderation_sanctions_user_kind", "moderation_sanctions", ["user_id", "kind"])
    op.create_table(
        "moderation_reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("room_id", sa.Uuid(), nullable=True),
        sa.Column("target_user_id", sa.Uuid(), nullable=True),
        sa.Column("target_npc_id", sa.String(64), nullable=True),
        sa.Column("reporter_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("categories", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("severity", sa.Float(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("resolved_by", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("details", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.CheckConstraint("kind IN ('flag', 'report')", name=op.f("ck_moderation_reviews_kind")),
        sa.CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name=op.f("ck_moderation_reviews_status")),
        sa.ForeignKeyConstraint(["message_id"], ["chat_messages.id"],
                                name=op.f("fk_moderation_reviews_message_id_chat_messages"), ondelete="SET NULL"),
        _fk("moderation_reviews", "room_id", "rooms", "SET NULL"),
        _fk("moderation_reviews", "target_user_id", "users", "CASCADE"),
        _fk("moderation_reviews", "reporter_id", "users", "SET NULL"),
        _fk("moderation_reviews", "resolved_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_reviews")),
    )
    op.create_index("ix_moderation_reviews_status_severity", "moderation_reviews", ["status", "severity", "created_at"])
    op.create_index(op.f("ix_moderation_reviews_message_id"), "moderation_reviews", ["message_id"])
    op.create_index(op.f("ix_moderation_reviews_target_user_id"), "moderation_reviews", ["target_user_id"])
    op.create_table(
        "moderation_strikes",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("review_id", sa.Uuid(), nullable=True),
        sa.Column("voided", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        _fk("moderation_strikes", "user_id", "users", "CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["chat_messages.id"],
                                name=op.f("fk_moderation_strikes_message_id_chat_messages"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["review_id"], ["moderation_reviews.id"],
                                name=op.f("fk_moderation_strikes_review_id_moderation_reviews"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_strikes")),
    )
    op.create_index("ix_moderation_strikes_user_created", "moderation_strikes", ["user_id", "created_at"])
    op.create_table(
        "moderation_appeals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("sanction_id", sa.Uuid(), nullable=True),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("resolved_by", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'granted', 'denied')", name=op.f("ck_moderation_appeals_status")),
        _fk("moderation_appeals", "user_id", "users", "CASCADE"),
        sa.ForeignKeyConstraint(["sanction_id"], ["moderation_sanctions.id"],
                                name=op.f("fk_moderation_appeals_sanction_id_moderation_sanctions"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["chat_messages.id"],
                                name=op.f("fk_moderation_appeals_message_id_chat_messages"), ondelete="SET NULL"),
        _fk("moderation_appeals", "resolved_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_appeals")),
    )
    op.create_index(op.f("ix_moderation_appeals_user_id"), "moderation_appeals", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_moderation_appeals_user_id"), table_name="moderation_appeals")
    op.drop_table("moderation_appeals")
    op.drop_index("ix_moderation_strikes_user_created", table_name="moderation_strikes")
    op.drop_table("moderation_strikes")
    op.drop_index(op.f("ix_moderation_reviews_target_user_id"), table_name="moderation_reviews")
    op.drop_index(op.f("ix_moderation_reviews_message_id"), table_name="moderation_reviews")
    op.drop_index("ix_moderation_reviews_status_severity", table_name="moderation_reviews")
    op.drop_table("moderation_reviews")
    op.drop_index("ix_moderation_sanctions_user_kind", table_name="moderation_sanctions")
    op.drop_table("moderation_sanctions")
    op.drop_table("moderation_rules")
