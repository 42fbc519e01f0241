"""Moderation: automatic actions (blocks, masks, automatic mutes) in the review queue (kind "auto").

Revision ID: 0008_moderation_actions
Revises: 0004_moderation
"""
from __future__ import annotations

from alembic import op

revision = "0008_moderation_actions"
down_revision = "0004_moderation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint(op.f("ck_moderation_reviews_kind"), "moderation_reviews", type_="check")
    op.create_check_constraint(op.f("ck_moderation_reviews_kind"), "moderation_reviews",
                               "kind IN ('flag', 'report', 'auto')")


def downgrade() -> None:
    op.execute("DELETE FROM moderation_reviews WHERE kind = 'auto'")
    op.drop_constraint(op.f("ck_moderation_reviews_kind"), "moderation_reviews", type_="check")
    op.create_check_constraint(op.f("ck_moderation_reviews_kind"), "moderation_reviews", "kind IN ('flag', 'report')")
