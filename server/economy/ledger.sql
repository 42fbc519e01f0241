-- The ledger's SQL functions as they are now: the current truth of the money rules.
--
-- Loaded by migrations/versions/0013_ledger_sql.py (`load_ledger_sql`); the migrations before it
-- stay the history (0003 made these functions, 0007 changed ledger_grant). Change a rule here and
-- add a migration that calls load_ledger_sql again; tests/economy/test_ledger_sql.py checks that
-- the database's definitions after `upgrade heads` are the ones in this file.
-- ledger_new_id() is not here: its body depends on the server's version (0003 picks it).
-- One statement per function, each `CREATE OR REPLACE FUNCTION ... AS $$ ... $$;`.
-- Errors use our own SQLSTATEs (server/economy/errors.py): TS001 insufficient_funds, TS002 frozen,
-- TS003 conflict, TS004 not_found, TS005 invalid_payload, TS006 a guard refused raw SQL,
-- TS007 (internal) a transfer found a wallet not yet open.

-- append-only tables
CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused (undo money with a reversing transaction)',
    TG_TABLE_NAME, TG_OP USING ERRCODE = 'TS006';
END $$;

-- an entry applies itself to its account's cached balance, under the row lock
CREATE OR REPLACE FUNCTION ledger_entry_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE ledger_accounts SET balance = balance + NEW.amount
   WHERE id = NEW.account_id
  RETURNING balance INTO NEW.balance_after;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no ledger account %', NEW.account_id USING ERRCODE = 'TS004';
  END IF;
  RETURN NEW;
END $$;

-- balances move only through entries; an account's identity never changes. The triggers calling
-- this are gated by WHEN clauses, so the hot path runs no PL/pgSQL for them.
CREATE OR REPLACE FUNCTION ledger_accounts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
END $$;

-- deferred to COMMIT: every transaction's entries sum to zero
CREATE OR REPLACE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE s numeric;
BEGIN
  SELECT coalesce(sum(amount), 0) INTO s FROM ledger_entries WHERE transaction_id = NEW.transaction_id;
  IF s <> 0 THEN
    RAISE EXCEPTION 'ledger transaction % is unbalanced: its entries sum to %, not 0',
      NEW.transaction_id, s USING ERRCODE = '23514', CONSTRAINT = 'ledger_entries_balanced';
  END IF;
  RETURN NULL;
END $$;

-- a readable name for an account in error messages
CREATE OR REPLACE FUNCTION ledger_account_label(p_kind text, p_owner uuid, p_key text, p_initiator uuid)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_owner IS NOT NULL AND p_owner = p_initiator THEN 'your wallet'
              WHEN p_owner IS NOT NULL THEN 'the wallet of user ' || p_owner
              ELSE 'the ' || p_key || ' account' END
$$;

-- the one posting primitive: idempotency claim, ordered locks, checks, entries
CREATE OR REPLACE FUNCTION ledger_post(p_kind text, p_initiator uuid, p_key text, p_fp bytea, p_memo text,
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
END $$;

-- the starting grant, under the mint's and treasury's locks (which serialize grants): refused when
-- the address has had its share in the last 24 h or the day's budget would be exceeded (0007); the
-- treasury is topped up by the mint when it runs short
CREATE OR REPLACE FUNCTION ledger_grant(p_user uuid, p_wallet bigint, p_amount bigint) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
  v_mint bigint; v_treasury bigint; v_balance bigint; v_topup bigint; v_tx uuid;
  v_budget bigint; v_cap integer; v_addr text; v_used bigint; v_refused text;
BEGIN
  SELECT id INTO v_mint FROM ledger_accounts WHERE key = 'mint';
  SELECT id INTO v_treasury FROM ledger_accounts WHERE key = 'treasury';
  PERFORM 1 FROM ledger_accounts WHERE id IN (v_mint, v_treasury) ORDER BY id FOR UPDATE;
  SELECT daily_budget, per_address_daily INTO v_budget, v_cap FROM ledger_grant_policy WHERE id;
  SELECT signup_address INTO v_addr FROM users WHERE id = p_user;
  IF v_cap IS NOT NULL AND v_addr IS NOT NULL THEN
    SELECT count(*) INTO v_used FROM ledger_grant_claims
     WHERE address = v_addr AND amount > 0 AND created_at > now() - interval '1 day';
    IF v_used >= v_cap THEN
      v_refused := 'address_cap';
    END IF;
  END IF;
  IF v_refused IS NULL AND v_budget IS NOT NULL THEN
    SELECT coalesce(sum(amount), 0) INTO v_used FROM ledger_grant_claims
     WHERE created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    IF v_used + p_amount > v_budget THEN
      v_refused := 'budget';
    END IF;
  END IF;
  IF v_refused IS NOT NULL THEN
    INSERT INTO ledger_grant_claims (user_id, address, amount, refused)
    VALUES (p_user, v_addr, 0, v_refused) ON CONFLICT (user_id) DO NOTHING;
    RETURN NULL;
  END IF;
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
  INSERT INTO ledger_grant_claims (user_id, address, amount, transaction_id)
  VALUES (p_user, v_addr, p_amount, v_tx);
  RETURN v_tx;
END $$;

-- a user's wallet, opened (with the starting grant) the first time it is needed
CREATE OR REPLACE FUNCTION ledger_wallet(p_user uuid, p_grant bigint) RETURNS bigint
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
END $$;

-- user to user, one round trip. The hot path is inlined (one claim, one ordered lock, one entries
-- insert; balances computed under the lock).
CREATE OR REPLACE FUNCTION ledger_transfer(p_from uuid, p_to uuid, p_amount bigint, p_memo text, p_key text,
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
END $$;

-- a shop purchase: money, stock and inventory in one transaction
CREATE OR REPLACE FUNCTION shop_buy(p_user uuid, p_shop text, p_sku text, p_qty integer, p_key text, p_fp bytea,
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
END $$;

-- undo a transaction with a compensating one (and return purchased goods)
CREATE OR REPLACE FUNCTION ledger_reverse(p_tx uuid, p_initiator uuid, p_key text, p_fp bytea, p_memo text,
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
END $$;
