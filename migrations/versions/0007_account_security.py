"""Account security: token versions that revoke sessions, and an abuse-resistant starting grant.

- users.token_version: every token carries the version it was issued at; a token of an older
  version is refused. A role change bumps it (trigger, whoever changes the role: admin console,
  CLI, SQL); so does a world ban (trigger on moderation_sanctions) and a password change (the
  service). Each bump is announced with NOTIFY on `townsquare_sessions`, so every world node drops
  that user's open sockets at once, whichever process made the change.
- users.signup_address: a keyed hash of the address an account signed up from (never the address
  itself), so the starting grant can be capped per address.
- ledger_grant_policy: the daily treasury budget for starting grants and the per-address cap
  (one row; NULL means no limit), read by ledger_grant under the treasury's lock.
- ledger_grant_claims: one row per wallet opening: what it was granted (0 when refused, and why).
  The audit's `grants_recorded` check ties them to the ledger's grant transactions.

Revision ID: 0007_account_security
Revises: 0003_economy, 0004_moderation
"""
from __future__ import annotations

from alembic import op

revision = "0007_account_security"
down_revision = ("0003_economy", "0004_moderation")
branch_labels = None
depends_on = None

NOTIFY_CHANNEL = "townsquare_sessions"


def upgrade() -> None:
    op.execute("ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0")
    op.execute("ALTER TABLE users ADD COLUMN signup_address text")

    # A role change revokes the user's tokens, whoever makes it.
    op.execute("""
        CREATE FUNCTION accounts_role_revokes() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.token_version = OLD.token_version THEN
            NEW.token_version := OLD.token_version + 1;
          END IF;
          RETURN NEW;
        END $$
    """)
    op.execute("CREATE TRIGGER users_role_revokes BEFORE UPDATE ON users FOR EACH ROW "
               "WHEN (OLD.role IS DISTINCT FROM NEW.role) EXECUTE FUNCTION accounts_role_revokes()")
    # Every revocation is announced (delivered at commit) to every node listening.
    op.execute(f"""
        CREATE FUNCTION accounts_sessions_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('{NOTIFY_CHANNEL}', json_build_object(
            'user_id', NEW.id, 'version', NEW.token_version,
            'reason', CASE
              WHEN NEW.role IS DISTINCT FROM OLD.role THEN 'your role changed to ' || NEW.role || ', log in again'
              WHEN NEW.password_hash IS DISTINCT FROM OLD.password_hash THEN 'your password was changed, log in again'
              ELSE coalesce(nullif(current_setting('townsquare.revoke_reason', true), ''),
                            'your session was ended, log in again') END)::text);
          RETURN NULL;
        END $$
    """)
    op.execute("CREATE TRIGGER users_sessions_notify AFTER UPDATE ON users FOR EACH ROW "
               "WHEN (OLD.token_version IS DISTINCT FROM NEW.token_version) EXECUTE FUNCTION accounts_sessions_notify()")
    # A world ban revokes the user's tokens, however it is written (console, automatic, CLI).
    op.execute("""
        CREATE FUNCTION accounts_ban_revokes() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          -- The ban's own reason: the same words moderation's kick sends, whichever reaches the socket first.
          PERFORM set_config('townsquare.revoke_reason', left(coalesce(NEW.reason, ''), 500), true);
          UPDATE users SET token_version = token_version + 1 WHERE id = NEW.user_id;
          PERFORM set_config('townsquare.revoke_reason', '', true);
          RETURN NULL;
        END $$
    """)
    op.execute("CREATE TRIGGER moderation_sanctions_ban_revokes AFTER INSERT ON moderation_sanctions FOR EACH ROW "
               "WHEN (NEW.kind = 'ban' AND NEW.scope = 'world') EXECUTE FUNCTION accounts_ban_revokes()")

    op.execute("""
        CREATE TABLE ledger_grant_policy (
          id                boolean NOT NULL DEFAULT true,
          daily_budget      bigint,
          per_address_daily integer,
          updated_at        timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT pk_ledger_grant_policy PRIMARY KEY (id),
          CONSTRAINT ck_ledger_grant_policy_one_row CHECK (id),
          CONSTRAINT ck_ledger_grant_policy_budget CHECK (daily_budget IS NULL OR daily_budget >= 0),
          CONSTRAINT ck_ledger_grant_policy_per_address CHECK (per_address_daily IS NULL OR per_address_daily >= 0)
        )
    """)
    op.execute("""
        CREATE TABLE ledger_grant_claims (
          user_id        uuid NOT NULL,
          address        text,
          amount         bigint NOT NULL,
          refused        text,
          transaction_id uuid,
          created_at     timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT pk_ledger_grant_claims PRIMARY KEY (user_id),
          CONSTRAINT fk_ledger_grant_claims_user_id_users FOREIGN KEY (user_id) REFERENCES users (id)
            ON DELETE RESTRICT,
          CONSTRAINT fk_ledger_grant_claims_transaction_id FOREIGN KEY (transaction_id)
            REFERENCES ledger_transactions (id),
          CONSTRAINT ck_ledger_grant_claims_amount CHECK (amount >= 0),
          CONSTRAINT ck_ledger_grant_claims_paid CHECK ((amount > 0) = (transaction_id IS NOT NULL)),
          CONSTRAINT ck_ledger_grant_claims_refused CHECK ((amount = 0) = (refused IS NOT NULL))
        )
    """)
    op.execute("CREATE INDEX ix_ledger_grant_claims_created_at ON ledger_grant_claims (created_at)")
    op.execute("CREATE INDEX ix_ledger_grant_claims_address ON ledger_grant_claims (address, created_at) "
               "WHERE address IS NOT NULL")
    op.execute("CREATE TRIGGER ledger_grant_claims_append_only BEFORE UPDATE OR DELETE ON ledger_grant_claims "
               "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()")
    # Grants paid before this revision, so the audit's grants_recorded check holds on old worlds.
    op.execute("""
        INSERT INTO ledger_grant_claims (user_id, amount, transaction_id, created_at)
        SELECT t.initiator_id, e.amount, t.id, t.created_at
          FROM ledger_transactions t
          JOIN ledger_entries e ON e.transaction_id = t.id AND e.amount > 0
         WHERE t.kind = 'grant' AND t.initiator_id IS NOT NULL
        ON CONFLICT (user_id) DO NOTHING
    """)

    # The grant: under the mint's and treasury's locks (which serialize grants), refused when the
    # address has had its share in the last 24 h or the day's budget would be exceeded.
    op.execute("""
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
        END $$
    """)


def downgrade() -> None:
    op.execute("""
        CREATE OR REPLACE FUNCTION ledger_grant(p_user uuid, p_wallet bigint, p_amount bigint) RETURNS uuid
        LANGUAGE plpgsql AS $$
        DECLARE
          v_mint bigint; v_treasury bigint; v_balance bigint; v_topup bigint; v_tx uuid;
        BEGIN
          SELECT id INTO v_mint FROM ledger_accounts WHERE key = 'mint';
          SELECT id INTO v_treasury FROM ledger_accounts WHERE key = 'treasury';
          PERFORM 1 FROM ledger_accounts WHERE id IN (v_mint, v_treasury) ORDER BY id FOR UPDATE;
          SELECT balance INTO v_balance FROM ledger_accounts WHERE id = v_treasury;
          IF v_balance < p_amount THEN
            v_topup := p_amount * 100;
            PERFORM ledger_post('mint', NULL, NULL, NULL, 'treasury top-up for starting grants',
                                ARRAY[v_mint, v_treasury], ARRAY[-v_topup, v_topup]);
          END IF;
          SELECT tx_id INTO v_tx FROM ledger_post('grant', p_user, 'starting-grant',
                 sha256(convert_to('grant|' || p_amount, 'UTF8')), 'starting grant',
                 ARRAY[v_treasury, p_wallet], ARRAY[-p_amount, p_amount]);
          RETURN v_tx;
        END $$
    """)
    op.execute("DROP TABLE IF EXISTS ledger_grant_claims")
    op.execute("DROP TABLE IF EXISTS ledger_grant_policy")
    op.execute("DROP TRIGGER IF EXISTS moderation_sanctions_ban_revokes ON moderation_sanctions")
    op.execute("DROP TRIGGER IF EXISTS users_sessions_notify ON users")
    op.execute("DROP TRIGGER IF EXISTS users_role_revokes ON users")
    op.execute("DROP FUNCTION IF EXISTS accounts_ban_revokes()")
    op.execute("DROP FUNCTION IF EXISTS accounts_sessions_notify()")
    op.execute("DROP FUNCTION IF EXISTS accounts_role_revokes()")
    op.execute("ALTER TABLE users DROP COLUMN IF EXISTS signup_address")
    op.execute("ALTER TABLE users DROP COLUMN IF EXISTS token_version")
