"""Ledger and shop tables, mirrored from migration 0003_economy (which also holds the SQL
functions and triggers that enforce the rules; see that revision's docstring)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base

ACCOUNT_KINDS = ("user", "system", "sink", "issuance")
TX_KINDS = ("grant", "transfer", "purchase", "mint", "burn", "reversal", "npc_sale", "reward")  # reward: 0012_events


class LedgerAccount(Base):
    """A wallet (kind user, one per user) or a system account named by `key`: the mint
    (issuance: its balance is minus the money supply), the treasury, sinks (fees, shop:<key>)."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("kind IN ('user', 'system', 'sink', 'issuance')", name="kind"),
        CheckConstraint("(kind = 'user') = (owner_id IS NOT NULL)", name="owner"),
        CheckConstraint("(kind = 'user') = (key IS NULL)", name="key"),
        CheckConstraint("kind <> 'user' OR balance >= 0", name="wallet_nonnegative"),
        CheckConstraint("kind IN ('user', 'issuance') OR balance >= 0", name="system_nonnegative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), unique=True)
    key: Mapped[str | None] = mapped_column(Text, unique=True)
    balance: Mapped[int] = mapped_column(BigInteger, server_default="0")
    frozen: Mapped[bool] = mapped_column(Boolean, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"
    __table_args__ = (
        UniqueConstraint("initiator_id", "idempotency_key", name="uq_ledger_transactions_initiator_id"),
        Index("uq_ledger_transactions_reverses", "reverses", unique=True, postgresql_where=text("reverses IS NOT NULL")),
        CheckConstraint(f"kind IN {TX_KINDS!r}", name="kind"),
        CheckConstraint("idempotency_key IS NULL OR initiator_id IS NOT NULL", name="key_has_initiator"),
        CheckConstraint("(kind = 'reversal') = (reverses IS NOT NULL)", name="reversal"),
        CheckConstraint("length(memo) <= 500", name="memo"),
        CheckConstraint("length(idempotency_key) <= 128", name="key_len"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, server_default=text("ledger_new_id()"))
    kind: Mapped[str] = mapped_column(Text)
    initiator_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary)
    memo: Mapped[str] = mapped_column(Text, server_default="")
    reverses: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)


class LedgerEntry(Base):
    """One leg of a transaction; `balance_after` is set by the database when it applies."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        PrimaryKeyConstraint("transaction_id", "account_id", name="pk_ledger_entries"),
        Index("ix_ledger_entries_account_id", "account_id", "id"),
        CheckConstraint("amount <> 0", name="amount_nonzero"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True))
    transaction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_transactions.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger, server_default="0")


class Shop(Base):
    __tablename__ = "shops"

    key: Mapped[str] = mapped_column(Text, primary_key=True)  # the resident key in world.yaml
    name: Mapped[str] = mapped_column(Text)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ShopItem(Base):
    __tablename__ = "shop_items"
    __table_args__ = (
        CheckConstraint("price > 0 AND price <= 1000000000000", name="price"),
        CheckConstraint("stock >= 0", name="stock"),
    )

    shop_key: Mapped[str] = mapped_column(ForeignKey("shops.key"), primary_key=True)
    sku: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    price: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(Integer)


class InventoryItem(Base):
    __tablename__ = "inventory_items"
    __table_args__ = (
        ForeignKeyConstraint(["shop_key", "sku"], ["shop_items.shop_key", "shop_items.sku"],
                             name="fk_inventory_items_shop_key_shop_items"),
        CheckConstraint("qty >= 0", name="qty"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    shop_key: Mapped[str] = mapped_column(Text, primary_key=True)
    sku: Mapped[str] = mapped_column(Text, primary_key=True)
    qty: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ShopPurchase(Base):
    """What a purchase transaction bought (append-only, like the ledger): used to reverse it."""

    __tablename__ = "shop_purchases"
    __table_args__ = (
        ForeignKeyConstraint(["shop_key", "sku"], ["shop_items.shop_key", "shop_items.sku"],
                             name="fk_shop_purchases_shop_key_shop_items"),
        CheckConstraint("qty > 0", name="qty"),
        CheckConstraint("unit_price > 0", name="unit_price"),
    )

    transaction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_transactions.id"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    shop_key: Mapped[str] = mapped_column(Text)
    sku: Mapped[str] = mapped_column(Text)
    qty: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)
