"""Economy: a double-entry ledger enforced by the database, shops and inventories.

The rules live in the database, not only in Python:
- a user wallet (and any non-issuance account) never goes below zero (CHECK);
- entries and transactions are append-only (triggers refuse UPDATE, DELETE, TRUNCATE);
- every transaction's entries sum to zero, checked at COMMIT (deferred constraint trigger);
- an account's balance changes only through an entry (BEFORE INSERT trigger on entries applies
  it and records balance_after; a direct UPDATE of balance is refused);
- a transaction is reversed at most once (unique index on reverses).

The money-moving operations are PL/pgSQL functions, so one transfer is one round trip:
idempotency claim, row locks in account-id order, checks, entries and balances.
Errors use our own SQLSTATEs, mapped to protocol codes by server/economy/errors.py:
TS001 insufficient_funds, TS002 frozen, TS003 conflict, TS004 not_found, TS005 invalid_payload;
TS006 a guard refused raw SQL; TS007 (internal) a transfer found a wallet not yet open.

Revision ID: 0003_economy
Revises: 0001_foundation
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_economy"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

TX_KINDS = ("grant", "transfer", "purchase", "mint", "burn", "reversal", "npc_sale")
MAX_AMOUNT = 10**12


def _functions(new_id: str) -> list[str]:
    """The SQL functions and triggers; `new_id` is uuidv7() on PostgreSQL 18+, else gen_random_uuid()."""
    return [
        # -- identity for transactions: time-ordered where the server has it (index locality)
        f"""
        CREATE FUNCTION ledger_new_id() RETURNS uuid LANGUAGE sql VOLATILE AS $$ SELECT {new_id} $$
        """,
        # -- append-only tables
        """
        CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '% is append-only: % refused (undo money with a reversing transaction)',
            TG_TABLE_NAME, TG_OP USING ERRCODE = 'TS006';
        END $$
        """,
        # -- an entry applies itself to its account's cached balance, under the row lock
        """
        CREATE FUNCTION ledger_entry_apply() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          UPDATE ledger_accounts SET balance = balance + NEW.amount
           WHERE id = NEW.account_id
          RETURNING balance INTO NEW.balance_after;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'no ledger account %', NEW.account_id USING ERRCODE = 'TS004';
          END IF;
          RETURN NEW;
        END $$
        """,
        # -- balances move only through entries; an account's identity never changes. The triggers
        # calling this are gated by WHEN clauses, so the hot path runs no PL/pgSQL for them.
        """
        CREATE FUNCTION ledger_accounts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            RAISE EXCEPTION 'a ledger account opens at balance 0; money enters only through entries'
              USING ERRCODE = 'TS006';
          ELSIF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'ledger accounts are never deleted (freeze it instead)' USING ERRCODE = 'TS006';
          ELSIF NEW.balance IS DISTINCT FROM OLD.balance THEN
            RAISE EXCEPTION 'a balance changes only through ledger entries' USING ERRCODE = 'TS006';
          END IF;
          RAISE EXCEPTION 'a ledger account''s identity never changes' USING ERRCODE = 'TS006';
        END $$
        """,
        # -- deferred to COMMIT: every transaction's entries sum to zero
        """
        CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE s numeric;
        BEGIN
          SELECT coalesce(sum(amount), 0) INTO s FROM ledger_entries WHERE transaction_id = NEW.transaction_id;
          IF s <> 0 THEN
            RAISE EXCEPTION 'ledger transaction % is unbalanced: its entries sum to %, not 0',
              NEW.transaction_id, s USING ERRCODE = '23514', CONSTRAINT = 'ledger_entries_balanced';
          END IF;
          RETURN NULL;
        END $$
        """,
        # -- a readable name for an account in error messages
        """
        CREATE FUNCTION ledger_account_label(p_kind text, p_owner uuid, p_key text, p_initiator uuid)
        RETURNS text LANGUAGE sql IMMUTABLE AS $$
          SELECT CASE WHEN p_owner IS NOT NULL AND p_owner = p_initiator THEN 'your wallet'
                      WHEN p_owner IS NOT NULL THEN 'the wallet of user ' || p_owner
                      ELSE 'the ' || p_key || ' account' END
        $$
        """,
        # -- the one posting primitive: idempotency claim, ordered locks, checks, entries
        """
        CREATE FUNCTION ledger_post(p_kind text, p_initiator uuid, p_key text, p_fp bytea, p_memo text,
                                    p_accounts bigint[], p_amounts bigint[], p_reverses uuid DEFAULT NULL,
                                    OUT tx_id uuid, OUT was_replayed boolean, OUT tx_created_at timestamptz)
        LANGUAGE plpgsql AS $$
        DECLARE
          r record;
          n int := 0;
          v_fp bytea;
        BEGIN
          was_replayed := false;
          tx_id := ledger_new_id();
          -- The key is claimed first: a concurrent request with the same key waits here for the
          -- first to commit, then sees it and replays its result.
          INSERT INTO ledger_transactions (id, kind, initiator_id, idempotency_key, fingerprint, memo, reverses)
          VALUES (tx_id, p_kind, p_initiator, p_key, p_fp, coalesce(p_memo, ''), p_reverses)
          ON CONFLICT (initiator_id, idempotency_key) DO NOTHING
          RETURNING created_at INTO tx_created_at;
          IF NOT FOUND THEN
            SELECT t.id, t.fingerprint, t.created_at INTO tx_id, v_fp, tx_created_at
              FROM ledger_transactions t
             WHERE t.initiator_id = p_initiator AND t.idempotency_key = p_key;
            IF v_fp IS DISTINCT FROM p_fp THEN
              RAISE EXCEPTION 'idempotency key "%" was already used for a different request', p_key
                USING ERRCODE = 'TS003';
            END IF;
            was_replayed := true;
            RETURN;
          END IF;
          -- Row locks in account-id order: opposite transfers cannot deadlock.
          FOR r IN
            SELECT a.id, a.kind, a.owner_id, a.key, a.balance, a.frozen, d.amount
              FROM ledger_accounts a
              JOIN unnest(p_accounts, p_amounts) AS d(account_id, amount) ON d.account_id = a.id
             ORDER BY a.id
               FOR UPDATE OF a
          LOOP
            n := n + 1;
            IF r.frozen THEN
              RAISE EXCEPTION '% is frozen', ledger_account_label(r.kind, r.owner_id, r.key, p_initiator)
                USING ERRCODE = 'TS002';
            END IF;
            IF r.kind <> 'issuance' AND r.balance + r.amount < 0 THEN
              RAISE EXCEPTION 'insufficient funds: % holds %, this needs %',
                ledger_account_label(r.kind, r.owner_id, r.key, p_initiator), r.balance, -r.amount
                USING ERRCODE = 'TS001';
            END IF;
          END LOOP;
          IF n <> cardinality(p_accounts) THEN
            RAISE EXCEPTION 'unknown ledger account' USING ERRCODE = 'TS004';
          END IF;
          INSERT INTO ledger_entries (transaction_id, account_id, amount)
          SELECT tx_id, d.account_id, d.amount FROM unnest(p_accounts, p_amounts) AS d(account_id, amount);
        END $$
        """,
        # -- the starting grant: from the treasury, which the mint tops up when it runs short
        """
        CREATE FUNCTION ledger_grant(p_user uuid, p_wallet bigint, p_amount bigint) RETURNS uuid
        LANGUAGE plpgsql AS $$
        DECLARE
          v_mint bigint; v_treasury bigint; v_balance bigint; v_topup bigint; v_tx uuid;
        BEGIN
          SELECT id INTO v_mint FROM ledger_accounts WHERE key = 'mint';
          SELECT id INTO v_treasury FROM ledger_accounts WHERE key = 'treasury';
          PERFORM 1 FROM ledger_accounts WHERE id IN (v_mint, v_treasury) ORDER BY id FOR UPDATE;
          SELECT balance INTO v_balance FROM ledger_accounts WHERE id = v_treasury;
          IF v_balance < p_amount THEN
            -- a hundred grants' worth at a time, recorded as an ordinary mint
            v_topup := p_amount * 100;
            PERFORM ledger_post('mint', NULL, NULL, NULL, 'treasury top-up for starting grants',
                                ARRAY[v_mint, v_treasury], ARRAY[-v_topup, v_topup]);
          END IF;
          SELECT tx_id INTO v_tx FROM ledger_post('grant', p_user, 'starting-grant',
                 sha256(convert_to('grant|' || p_amount, 'UTF8')), 'starting grant',
                 ARRAY[v_treasury, p_wallet], ARRAY[-p_amount, p_amount]);
          RETURN v_tx;
        END $$
        """,
        # -- a user's wallet, opened (with the starting grant) the first time it is needed
        """
        CREATE FUNCTION ledger_wallet(p_user uuid, p_grant bigint) RETURNS bigint
        LANGUAGE plpgsql AS $$
        DECLARE v bigint;
        BEGIN
          SELECT id INTO v FROM ledger_accounts WHERE owner_id = p_user;
          IF FOUND THEN
            RETURN v;
          END IF;
          PERFORM 1 FROM users WHERE id = p_user;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'no user %', p_user USING ERRCODE = 'TS004';
          END IF;
          IF p_grant > 0 THEN
            -- The grant's locks come first, before the new wallet row exists: concurrent openers
            -- queue here instead of holding a wallet row while waiting for the treasury.
            PERFORM 1 FROM ledger_accounts WHERE key IN ('mint', 'treasury') ORDER BY id FOR UPDATE;
          END IF;
          INSERT INTO ledger_accounts (kind, owner_id) VALUES ('user', p_user)
          ON CONFLICT (owner_id) DO NOTHING RETURNING id INTO v;
          IF v IS NULL THEN  -- opened concurrently; that opener granted
            SELECT id INTO v FROM ledger_accounts WHERE owner_id = p_user;
            RETURN v;
          END IF;
          IF p_grant > 0 THEN
            PERFORM ledger_grant(p_user, v, p_grant);
          END IF;
          RETURN v;
        END $$
        """,
        # -- user to user, one round trip. The hot path is inlined (one claim, one ordered lock,
        # one entries insert; balances computed under the lock).
        """
        CREATE FUNCTION ledger_transfer(p_from uuid, p_to uuid, p_amount bigint, p_memo text, p_key text,
                                        p_fp bytea, p_grant bigint,
                                        OUT tx_id uuid, OUT from_balance bigint, OUT to_balance bigint,
                                        OUT was_replayed boolean, OUT tx_created_at timestamptz)
        LANGUAGE plpgsql AS $$
        DECLARE
          r record; n int; v_fp bytea; a_from bigint; a_to bigint;
        BEGIN
          IF p_from = p_to THEN
            RAISE EXCEPTION 'you cannot send money to yourself' USING ERRCODE = 'TS005';
          END IF;
          IF p_amount IS NULL OR p_amount <= 0 OR p_amount > 1000000000000 THEN
            RAISE EXCEPTION 'amount must be a whole number from 1 to 1000000000000' USING ERRCODE = 'TS005';
          END IF;
          was_replayed := false;
          tx_id := ledger_new_id();
          INSERT INTO ledger_transactions (id, kind, initiator_id, idempotency_key, fingerprint, memo)
          VALUES (tx_id, 'transfer', p_from, p_key, p_fp, coalesce(p_memo, ''))
          ON CONFLICT (initiator_id, idempotency_key) DO NOTHING
          RETURNING created_at INTO tx_created_at;
          IF NOT FOUND THEN
            SELECT t.id, t.fingerprint, t.created_at INTO tx_id, v_fp, tx_created_at
              FROM ledger_transactions t WHERE t.initiator_id = p_from AND t.idempotency_key = p_key;
            IF v_fp IS DISTINCT FROM p_fp THEN
              RAISE EXCEPTION 'idempotency key "%" was already used for a different request', p_key
                USING ERRCODE = 'TS003';
            END IF;
            was_replayed := true;
            SELECT e.balance_after INTO from_balance FROM ledger_entries e
              JOIN ledger_accounts a ON a.id = e.account_id AND a.owner_id = p_from WHERE e.transaction_id = tx_id;
            SELECT e.balance_after INTO to_balance FROM ledger_entries e
              JOIN ledger_accounts a ON a.id = e.account_id AND a.owner_id = p_to WHERE e.transaction_id = tx_id;
            RETURN;
          END IF;
          n := 0;
          -- Row locks in account-id order: opposite transfers cannot deadlock.
          FOR r IN SELECT a.id, a.owner_id, a.balance, a.frozen FROM ledger_accounts a
                    WHERE a.owner_id = ANY(ARRAY[p_from, p_to]) ORDER BY a.id FOR UPDATE
          LOOP
            n := n + 1;
            IF r.frozen THEN
              RAISE EXCEPTION '%', CASE WHEN r.owner_id = p_from THEN 'your wallet is frozen'
                                        ELSE 'the recipient''s wallet is frozen' END USING ERRCODE = 'TS002';
            END IF;
            IF r.owner_id = p_from THEN
              a_from := r.id;
              IF r.balance < p_amount THEN
                RAISE EXCEPTION 'insufficient funds: your wallet holds %, this needs %', r.balance, p_amount
                  USING ERRCODE = 'TS001';
              END IF;
              from_balance := r.balance - p_amount;
            ELSE
              a_to := r.id;
              to_balance := r.balance + p_amount;
            END IF;
          END LOOP;
          IF n < 2 THEN
            -- A first touch of the economy: opening a wallet takes the treasury's lock, which must
            -- not be taken while a wallet is locked (lock order). Roll back; the caller opens the
            -- wallet(s) in their own transaction and calls again.
            RAISE EXCEPTION 'a wallet is not open yet' USING ERRCODE = 'TS007';
          END IF;
          INSERT INTO ledger_entries (transaction_id, account_id, amount)
          VALUES (tx_id, a_from, -p_amount), (tx_id, a_to, p_amount);
        END $$
        """,
        # -- a shop purchase: money, stock and inventory in one transaction
        """
        CREATE FUNCTION shop_buy(p_user uuid, p_shop text, p_sku text, p_qty integer, p_key text, p_fp bytea,
                                 p_kind text, p_grant bigint,
                                 OUT tx_id uuid, OUT wallet_balance bigint, OUT was_replayed boolean,
                                 OUT tx_created_at timestamptz, OUT total bigint)
        LANGUAGE plpgsql AS $$
        DECLARE
          v_wallet bigint; v_shop_account bigint; v_price bigint; v_name text; v_stock integer;
        BEGIN
          IF p_qty IS NULL OR p_qty <= 0 OR p_qty > 1000 THEN
            RAISE EXCEPTION 'qty must be a whole number from 1 to 1000' USING ERRCODE = 'TS005';
          END IF;
          SELECT s.account_id INTO v_shop_account FROM shops s WHERE s.key = p_shop;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'no shop "%"', p_shop USING ERRCODE = 'TS004';
          END IF;
          SELECT i.price, i.name INTO v_price, v_name FROM shop_items i WHERE i.shop_key = p_shop AND i.sku = p_sku;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'the shop "%" does not sell "%"', p_shop, p_sku USING ERRCODE = 'TS004';
          END IF;
          v_wallet := ledger_wallet(p_user, p_grant);
          total := v_price * p_qty;
          SELECT p.tx_id, p.was_replayed, p.tx_created_at INTO tx_id, was_replayed, tx_created_at
            FROM ledger_post(p_kind, p_user, p_key, p_fp, p_qty || ' x ' || v_name || ' from ' || p_shop,
                             ARRAY[v_wallet, v_shop_account], ARRAY[-total, total]) p;
          IF NOT was_replayed THEN
            UPDATE shop_items SET stock = stock - p_qty
             WHERE shop_key = p_shop AND sku = p_sku AND price = v_price AND stock >= p_qty
            RETURNING stock INTO v_stock;
            IF NOT FOUND THEN
              SELECT i.stock, i.price INTO v_stock, total FROM shop_items i WHERE i.shop_key = p_shop AND i.sku = p_sku;
              IF total <> v_price THEN
                RAISE EXCEPTION 'the price of "%" changed to %, try again', p_sku, total USING ERRCODE = 'TS003';
              END IF;
              RAISE EXCEPTION 'out of stock: "%" has % left, you asked for %', p_sku, v_stock, p_qty
                USING ERRCODE = 'TS003';
            END IF;
            INSERT INTO inventory_items (user_id, shop_key, sku, qty) VALUES (p_user, p_shop, p_sku, p_qty)
            ON CONFLICT (user_id, shop_key, sku) DO UPDATE SET qty = inventory_items.qty + EXCLUDED.qty,
                                                               updated_at = now();
            INSERT INTO shop_purchases (transaction_id, user_id, shop_key, sku, qty, unit_price)
            VALUES (tx_id, p_user, p_shop, p_sku, p_qty, v_price);
          ELSE
            SELECT sp.qty * sp.unit_price INTO total FROM shop_purchases sp WHERE sp.transaction_id = tx_id;
          END IF;
          SELECT e.balance_after INTO wallet_balance FROM ledger_entries e
           WHERE e.transaction_id = tx_id AND e.account_id = v_wallet;
        END $$
        """,
        # -- undo a transaction with a compensating one (and return purchased goods)
        """
        CREATE FUNCTION ledger_reverse(p_tx uuid, p_initiator uuid, p_key text, p_fp bytea, p_memo text,
                                       OUT tx_id uuid, OUT was_replayed boolean, OUT tx_created_at timestamptz)
        LANGUAGE plpgsql AS $$
        DECLARE
          t record; p record; v_fp bytea; v_by uuid; v_accounts bigint[]; v_amounts bigint[];
        BEGIN
          was_replayed := false;
          IF p_key IS NOT NULL THEN
            SELECT x.id, x.fingerprint, x.created_at INTO tx_id, v_fp, tx_created_at FROM ledger_transactions x
             WHERE x.initiator_id = p_initiator AND x.idempotency_key = p_key;
            IF FOUND THEN
              IF v_fp IS DISTINCT FROM p_fp THEN
                RAISE EXCEPTION 'idempotency key "%" was already used for a different request', p_key
                  USING ERRCODE = 'TS003';
              END IF;
              was_replayed := true;
              RETURN;
            END IF;
          END IF;
          SELECT * INTO t FROM ledger_transactions WHERE id = p_tx;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'no transaction %', p_tx USING ERRCODE = 'TS004';
          END IF;
          IF t.kind = 'reversal' THEN
            RAISE EXCEPTION 'transaction % is itself a reversal and cannot be reversed', p_tx USING ERRCODE = 'TS003';
          END IF;
          SELECT x.id INTO v_by FROM ledger_transactions x WHERE x.reverses = p_tx;
          IF FOUND THEN
            RAISE EXCEPTION 'transaction % was already reversed by %', p_tx, v_by USING ERRCODE = 'TS003';
          END IF;
          SELECT array_agg(e.account_id ORDER BY e.account_id), array_agg(-e.amount ORDER BY e.account_id)
            INTO v_accounts, v_amounts FROM ledger_entries e WHERE e.transaction_id = p_tx;
          SELECT x.tx_id, x.was_replayed, x.tx_created_at INTO tx_id, was_replayed, tx_created_at
            FROM ledger_post('reversal', p_initiator, p_key, p_fp, p_memo, v_accounts, v_amounts, p_tx) x;
          IF t.kind IN ('purchase', 'npc_sale') THEN
            FOR p IN SELECT * FROM shop_purchases WHERE transaction_id = p_tx LOOP
              UPDATE shop_items SET stock = stock + p.qty WHERE shop_key = p.shop_key AND sku = p.sku;
              UPDATE inventory_items SET qty = qty - p.qty, updated_at = now()
               WHERE user_id = p.user_id AND shop_key = p.shop_key AND sku = p.sku AND qty >= p.qty;
              IF NOT FOUND THEN
                RAISE EXCEPTION 'the buyer no longer holds % x "%" from this purchase', p.qty, p.sku
                  USING ERRCODE = 'TS003';
              END IF;
              DELETE FROM inventory_items WHERE user_id = p.user_id AND shop_key = p.shop_key AND sku = p.sku
                                           AND qty = 0;
            END LOOP;
          END IF;
        END $$
        """,
    ]


def upgrade() -> None:
    bind = op.get_bind()
    version_num = int(bind.execute(sa.text("SHOW server_version_num")).scalar())
    new_id = "uuidv7()" if version_num >= 180000 else "gen_random_uuid()"

    op.execute("""
        CREATE TABLE ledger_accounts (
          id         bigint GENERATED ALWAYS AS IDENTITY,
          kind       text NOT NULL,
          owner_id   uuid,
          key        text,
          balance    bigint NOT NULL DEFAULT 0,
          frozen     boolean NOT NULL DEFAULT false,
          created_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT pk_ledger_accounts PRIMARY KEY (id),
          CONSTRAINT fk_ledger_accounts_owner_id_users FOREIGN KEY (owner_id) REFERENCES users (id)
            ON DELETE RESTRICT,
          CONSTRAINT uq_ledger_accounts_owner_id UNIQUE (owner_id),
          CONSTRAINT uq_ledger_accounts_key UNIQUE (key),
          CONSTRAINT ck_ledger_accounts_kind CHECK (kind IN ('user', 'system', 'sink', 'issuance')),
          CONSTRAINT ck_ledger_accounts_owner CHECK ((kind = 'user') = (owner_id IS NOT NULL)),
          CONSTRAINT ck_ledger_accounts_key CHECK ((kind = 'user') = (key IS NULL)),
          CONSTRAINT ck_ledger_accounts_wallet_nonnegative CHECK (kind <> 'user' OR balance >= 0),
          CONSTRAINT ck_ledger_accounts_system_nonnegative CHECK (kind IN ('user', 'issuance') OR balance >= 0)
        )
    """)
    op.execute(f"""
        CREATE TABLE ledger_transactions (
          id              uuid NOT NULL DEFAULT {new_id},
          kind            text NOT NULL,
          initiator_id    uuid,
          idempotency_key text,
          fingerprint     bytea,
          memo            text NOT NULL DEFAULT '',
          reverses        uuid,
          created_at      timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT pk_ledger_transactions PRIMARY KEY (id),
          CONSTRAINT uq_ledger_transactions_initiator_id UNIQUE (initiator_id, idempotency_key),
          CONSTRAINT fk_ledger_transactions_reverses_ledger_transactions FOREIGN KEY (reverses)
            REFERENCES ledger_transactions (id),
          CONSTRAINT ck_ledger_transactions_kind CHECK (kind IN {TX_KINDS!r}),
          CONSTRAINT ck_ledger_transactions_key_has_initiator CHECK (idempotency_key IS NULL OR initiator_id IS NOT NULL),
          CONSTRAINT ck_ledger_transactions_reversal CHECK ((kind = 'reversal') = (reverses IS NOT NULL)),
          CONSTRAINT ck_ledger_transactions_memo CHECK (length(memo) <= 500),
          CONSTRAINT ck_ledger_transactions_key_len CHECK (length(idempotency_key) <= 128)
        )
    """)
    # A transaction is reversed at most once (partial: most rows reverse nothing).
    op.execute("CREATE UNIQUE INDEX uq_ledger_transactions_reverses ON ledger_transactions (reverses) "
               "WHERE reverses IS NOT NULL")
    op.execute("CREATE INDEX ix_ledger_transactions_created_at ON ledger_transactions (created_at)")
    op.execute("""
        CREATE TABLE ledger_entries (
          id             bigint GENERATED ALWAYS AS IDENTITY,
          transaction_id uuid NOT NULL,
          account_id     bigint NOT NULL,
          amount         bigint NOT NULL,
          balance_after  bigint NOT NULL DEFAULT 0,
          CONSTRAINT pk_ledger_entries PRIMARY KEY (transaction_id, account_id),
          CONSTRAINT fk_ledger_entries_transaction_id_ledger_transactions FOREIGN KEY (transaction_id)
            REFERENCES ledger_transactions (id),
          CONSTRAINT fk_ledger_entries_account_id_ledger_accounts FOREIGN KEY (account_id)
            REFERENCES ledger_accounts (id),
          CONSTRAINT ck_ledger_entries_amount_nonzero CHECK (amount <> 0)
        )
    """)
    # An account's history, newest first.
    op.execute("CREATE INDEX ix_ledger_entries_account_id ON ledger_entries (account_id, id)")

    op.execute("""
        CREATE TABLE shops (
          key        text NOT NULL,
          name       text NOT NULL,
          account_id bigint NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT pk_shops PRIMARY KEY (key),
          CONSTRAINT uq_shops_account_id UNIQUE (account_id),
          CONSTRAINT fk_shops_account_id_ledger_accounts FOREIGN KEY (account_id) REFERENCES ledger_accounts (id)
        )
    """)
    op.execute(f"""
        CREATE TABLE shop_items (
          shop_key text NOT NULL,
          sku      text NOT NULL,
          name     text NOT NULL,
          price    bigint NOT NULL,
          stock    integer NOT NULL,
          CONSTRAINT pk_shop_items PRIMARY KEY (shop_key, sku),
          CONSTRAINT fk_shop_items_shop_key_shops FOREIGN KEY (shop_key) REFERENCES shops (key),
          CONSTRAINT ck_shop_items_price CHECK (price > 0 AND price <= {MAX_AMOUNT}),
          CONSTRAINT ck_shop_items_stock CHECK (stock >= 0)
        )
    """)
    op.execute("""
        CREATE TABLE inventory_items (
          user_id    uuid NOT NULL,
          shop_key   text NOT NULL,
          sku        text NOT NULL,
          qty        integer NOT NULL,
          updated_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT pk_inventory_items PRIMARY KEY (user_id, shop_key, sku),
          CONSTRAINT fk_inventory_items_user_id_users FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
          CONSTRAINT fk_inventory_items_shop_key_shop_items FOREIGN KEY (shop_key, sku)
            REFERENCES shop_items (shop_key, sku),
          CONSTRAINT ck_inventory_items_qty CHECK (qty >= 0)
        )
    """)
    op.execute("""
        CREATE TABLE shop_purchases (
          transaction_id uuid NOT NULL,
          user_id        uuid NOT NULL,
          shop_key       text NOT NULL,
          sku            text NOT NULL,
          qty            integer NOT NULL,
          unit_price     bigint NOT NULL,
          CONSTRAINT pk_shop_purchases PRIMARY KEY (transaction_id),
          CONSTRAINT fk_shop_purchases_transaction_id_ledger_transactions FOREIGN KEY (transaction_id)
            REFERENCES ledger_transactions (id),
          CONSTRAINT fk_shop_purchases_shop_key_shop_items FOREIGN KEY (shop_key, sku)
            REFERENCES shop_items (shop_key, sku),
          CONSTRAINT ck_shop_purchases_qty CHECK (qty > 0),
          CONSTRAINT ck_shop_purchases_unit_price CHECK (unit_price > 0)
        )
    """)
    op.execute("CREATE INDEX ix_shop_purchases_user_id ON shop_purchases (user_id)")

    for stmt in _functions(new_id):
        op.execute(stmt)

    # Triggers: append-only, balances through entries only, balanced at commit.
    for table in ("ledger_entries", "ledger_transactions", "shop_purchases"):
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION ledger_append_only()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()")
    op.execute("CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts "
               "FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()")
    op.execute("CREATE TRIGGER ledger_entries_apply BEFORE INSERT ON ledger_entries "
               "FOR EACH ROW EXECUTE FUNCTION ledger_entry_apply()")
    # Balance only from inside the entries trigger (depth 1), never by a direct UPDATE (depth 0).
    op.execute("CREATE TRIGGER ledger_accounts_guard_balance BEFORE UPDATE ON ledger_accounts FOR EACH ROW "
               "WHEN (OLD.balance IS DISTINCT FROM NEW.balance AND pg_trigger_depth() = 0) "
               "EXECUTE FUNCTION ledger_accounts_guard()")
    op.execute("CREATE TRIGGER ledger_accounts_guard_identity BEFORE UPDATE ON ledger_accounts FOR EACH ROW "
               "WHEN (OLD.id <> NEW.id OR OLD.kind <> NEW.kind OR OLD.owner_id IS DISTINCT FROM NEW.owner_id "
               "OR OLD.key IS DISTINCT FROM NEW.key) EXECUTE FUNCTION ledger_accounts_guard()")
    op.execute("CREATE TRIGGER ledger_accounts_guard_insert BEFORE INSERT ON ledger_accounts FOR EACH ROW "
               "WHEN (NEW.balance <> 0) EXECUTE FUNCTION ledger_accounts_guard()")
    op.execute("CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts FOR EACH ROW "
               "EXECUTE FUNCTION ledger_accounts_guard()")
    op.execute("CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries "
               "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced()")

    # The system accounts: the mint issues (its balance is minus the supply), the treasury pays
    # starting grants, the fees sink collects fees. Shops get theirs when seeded.
    op.execute("INSERT INTO ledger_accounts (kind, key) VALUES "
               "('issuance', 'mint'), ('system', 'treasury'), ('sink', 'fees')")


def downgrade() -> None:
    for table in ("shop_purchases", "inventory_items", "shop_items", "shops",
                  "ledger_entries", "ledger_transactions", "ledger_accounts"):
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    for fn in ("ledger_reverse(uuid, uuid, text, bytea, text)",
               "shop_buy(uuid, text, text, integer, text, bytea, text, bigint)",
               "ledger_transfer(uuid, uuid, bigint, text, text, bytea, bigint)",
               "ledger_wallet(uuid, bigint)", "ledger_grant(uuid, bigint, bigint)",
               "ledger_post(text, uuid, text, bytea, text, bigint[], bigint[], uuid)",
               "ledger_account_label(text, uuid, text, uuid)", "ledger_check_balanced()",
               "ledger_accounts_guard()", "ledger_entry_apply()", "ledger_append_only()", "ledger_new_id()"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
