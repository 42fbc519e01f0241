"""Rooms are Tiled maps: the room's map document (Tiled JSON), null for a room without one,
and its revision (cached parses are kept until it changes).

Revision ID: 0010_room_maps
Revises: 0002_realtime
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_room_maps"
down_revision = "0002_realtime"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rooms", sa.Column("map", postgresql.JSONB(), nullable=True))
    op.add_column("rooms", sa.Column("map_rev", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("rooms", "map_rev")
    op.drop_column("rooms", "map")
