"""Residents: NPCs, their memory streams (pgvector, HNSW cosine index), acquaintances, offers.

Revision ID: 0006_residents
Revises: 0001_foundation
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql

revision = "0006_residents"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "residents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False, server_default="resident"),
        sa.Column("home", sa.Text(), nullable=False),
        sa.Column("persona", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("routine", postgresql.JSONB(), nullable=False, server_default="[]"),
        sa.Column("appearance", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("position", postgresql.JSONB(), nullable=True),
        sa.Column("shop_key", sa.Text(), nullable=True),
        sa.Column("brain", sa.Text(), nullable=False, server_default="auto"),
        sa.Column("status", sa.Text(), nullable=False, server_default="active"),
        sa.Column("reflected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('active', 'retired')", name=op.f("ck_residents_status")),
        sa.CheckConstraint("brain IN ('auto', 'llm', 'retrieval')", name=op.f("ck_residents_brain")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_residents")),
        sa.UniqueConstraint("key", name=op.f("uq_residents_key")),
    )
    op.create_table(
        "resident_memories",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.Text(), nullable=True),
        sa.Column("subject_name", sa.Text(), nullable=True),
        sa.Column("importance", sa.Float(), nullable=False),
        sa.Column("embedding", Vector(384), nullable=True),
        sa.Column("evidence", postgresql.ARRAY(sa.BigInteger()), nullable=False, server_default="{}"),
        sa.Column("meta", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_accessed", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("kind IN ('observation', 'conversation', 'reflection', 'digest')",
                           name=op.f("ck_resident_memories_kind")),
        sa.CheckConstraint("importance >= 0 AND importance <= 10", name=op.f("ck_resident_memories_importance")),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], name=op.f("fk_resident_memories_resident_id_residents"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_memories")),
    )
    # Touching last_accessed (not indexed) should be a HOT update that rewrites no index (above
    # all not the HNSW one): vectors (1.5 kB) go out of line, so rows are small and each page
    # keeps room for their new versions.
    op.execute("ALTER TABLE resident_memories ALTER COLUMN embedding SET STORAGE EXTERNAL")
    op.execute("ALTER TABLE resident_memories SET (fillfactor = 85, toast_tuple_target = 128)")
    op.create_index("ix_resident_memories_created", "resident_memories", ["resident_id", "created_at"])
    op.execute("CREATE INDEX ix_resident_memories_subject ON resident_memories (resident_id, subject_id, created_at DESC)")
    # Approximate nearest neighbours by cosine distance; queries filter by resident with
    # hnsw.iterative_scan (pgvector >= 0.8) so a filtered search still returns K rows.
    op.execute("CREATE INDEX ix_resident_memories_embedding ON resident_memories "
               "USING hnsw (embedding vector_cosine_ops)")
    op.create_table(
        "resident_people",
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("times_met", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("facts", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("first_met", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], name=op.f("fk_resident_people_resident_id_residents"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("resident_id", "person_id", name=op.f("pk_resident_people")),
    )
    op.create_table(
        "resident_offers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("shop_key", sa.Text(), nullable=False),
        sa.Column("sku", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, server_default="open"),
        sa.Column("transaction_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('open', 'sold', 'declined', 'expired', 'failed')",
                           name=op.f("ck_resident_offers_status")),
        sa.CheckConstraint("qty > 0 AND price > 0", name=op.f("ck_resident_offers_amounts")),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], name=op.f("fk_resident_offers_resident_id_residents"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_resident_offers_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_offers")),
    )
    op.create_index("ix_resident_offers_user", "resident_offers", ["user_id", "status"])


def downgrade() -> None:
    op.drop_table("resident_offers")
    op.drop_table("resident_people")
    op.drop_index("ix_resident_memories_embedding", table_name="resident_memories")
    op.drop_index("ix_resident_memories_subject", table_name="resident_memories")
    op.drop_index("ix_resident_memories_created", table_name="resident_memories")
    op.drop_table("resident_memories")
    op.drop_table("residents")
