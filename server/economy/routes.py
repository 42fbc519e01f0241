"""Admin REST for the economy: mint, burn, freeze, unfreeze, reverse, audit, search.

Every act is written to the audit log (who, what, why) in the same transaction as the act;
the Ledger does that, these handlers only validate and shape.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from server.accounts.auth import CURRENT_USER
from server.economy.ledger import MAX_AMOUNT, MAX_KEY, MAX_REASON
from server.economy.updates import push_updates, wallet_update

TxKind = Literal["grant", "transfer", "purchase", "mint", "burn", "reversal", "npc_sale", "reward"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class IssueIn(_Body):
    """Mint into (or burn from) a user's wallet or a system account; the treasury by default."""

    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT)
    reason: str = Field(min_length=3, max_length=MAX_REASON)
    idempotency_key: str = Field(min_length=1, max_length=MAX_KEY)
    user_id: uuid.UUID | None = None
    account: str | None = Field(None, max_length=64, description="system account key, e.g. treasury, fees, shop:tobin")


class FreezeIn(_Body):
    reason: str = Field(min_length=3, max_length=MAX_REASON)
    user_id: uuid.UUID | None = None
    account: str | None = Field(None, max_length=64)


class ReverseIn(_Body):
    transaction_id: uuid.UUID
    reason: str = Field(min_length=3, max_length=MAX_REASON)
    idempotency_key: str = Field(min_length=1, max_length=MAX_KEY)


class SearchQuery(_Body):
    kind: TxKind | None = None
    user_id: uuid.UUID | None = None
    initiator_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: uuid.UUID | None = Field(None, description="transaction id: the page after it")
    limit: int = Field(50, ge=1, le=500)


class ShopIn(_Body):
    key: str = Field(min_length=1, max_length=48, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1, max_length=80)
    reason: str = Field(min_length=3, max_length=MAX_REASON)


class ShopItemIn(_Body):
    """Add an item (name and price required) or change any of name, price, stock."""

    name: str | None = Field(None, min_length=1, max_length=80)
    price: StrictInt | None = Field(None, gt=0, le=MAX_AMOUNT)
    stock: StrictInt | None = Field(None, ge=0, le=10**9)
    reason: str = Field(min_length=3, max_length=MAX_REASON)


class GrantPolicyIn(_Body):
    """Change the starting grant's limits; a field left out keeps its value, null means no limit."""

    daily_budget: StrictInt | None = Field(None, ge=0, le=MAX_AMOUNT, description="coins of grants per UTC day")
    per_address_per_day: StrictInt | None = Field(None, ge=0, le=10**6, description="grants per signup address in 24 h")
    reason: str = Field(min_length=3, max_length=MAX_REASON)


class PageQuery(_Body):
    before: uuid.UUID | None = None
    limit: int = Field(20, ge=1, le=100)


def posted_updates(posted: dict[str, Any], kind: str, memo: str) -> list[tuple[str, dict[str, Any]]]:
    """wallet:update for every wallet an admin act moved money in."""
    return [(e["user_id"], wallet_update(e["balance"], transaction_id=posted["transaction_id"], kind=kind,
                                         amount=e["amount"], memo=memo, created_at=posted["created_at"]))
            for e in posted["entries"] if e["user_id"]]


def setup(ctx) -> None:
    api, ledger = ctx.api, ctx.ledger

    async def pushed(posted: dict[str, Any], kind: str, memo: str) -> dict[str, Any]:
        if not posted["replayed"]:
            await push_updates(ctx.realtime, posted_updates(posted, kind, memo))
        return posted

    @api.route("POST", "/api/admin/economy/mint", body=IssueIn, auth="admin", tag="economy")
    async def economy_mint(request, body: IssueIn):
        """Create money into a wallet or system account (default: the treasury)."""
        out = await ledger.mint(body.amount, actor_id=request[CURRENT_USER].id, reason=body.reason,
                                idempotency_key=body.idempotency_key, user_id=body.user_id, account=body.account)
        return await pushed(out, "mint", body.reason)

    @api.route("POST", "/api/admin/economy/burn", body=IssueIn, auth="admin", tag="economy")
    async def economy_burn(request, body: IssueIn):
        """Destroy money from a wallet or system account (default: the treasury)."""
        out = await ledger.burn(body.amount, actor_id=request[CURRENT_USER].id, reason=body.reason,
                                idempotency_key=body.idempotency_key, user_id=body.user_id, account=body.account)
        return await pushed(out, "burn", body.reason)

    @api.route("POST", "/api/admin/economy/freeze", body=FreezeIn, auth="admin", tag="economy")
    async def economy_freeze(request, body: FreezeIn):
        """Freeze an account: every movement touching it is refused with `frozen`."""
        return await ledger.freeze(actor_id=request[CURRENT_USER].id, reason=body.reason, user_id=body.user_id,
                                   account=body.account)

    @api.route("POST", "/api/admin/economy/unfreeze", body=FreezeIn, auth="admin", tag="economy")
    async def economy_unfreeze(request, body: FreezeIn):
        """Unfreeze an account."""
        return await ledger.unfreeze(actor_id=request[CURRENT_USER].id, reason=body.reason, user_id=body.user_id,
                                     account=body.account)

    @api.route("POST", "/api/admin/economy/reverse", body=ReverseIn, auth="admin", tag="economy")
    async def economy_reverse(request, body: ReverseIn):
        """Undo a transaction with a compensating one (goods of a purchase go back to the shop)."""
        out = await ledger.reverse(body.transaction_id, actor_id=request[CURRENT_USER].id, reason=body.reason,
                                   idempotency_key=body.idempotency_key)
        return await pushed(out, "reversal", body.reason)

    @api.route("GET", "/api/admin/economy/audit", auth="admin", tag="economy")
    async def economy_audit(request):
        """Check every ledger invariant now; `ok` is false and the offending rows are listed when one fails."""
        return (await ledger.audit()).to_dict()

    @api.route("GET", "/api/admin/economy/grants", auth="admin", tag="economy")
    async def economy_grants(request):
        """The starting grant: amount, daily treasury budget, per-address cap and today's use."""
        return await ledger.grant_policy()

    @api.route("PUT", "/api/admin/economy/grants", body=GrantPolicyIn, auth="admin", tag="economy")
    async def economy_grants_set(request, body: GrantPolicyIn):
        """Set the daily budget for starting grants and/or the per-address cap (audited)."""
        changes = {k: getattr(body, k) for k in ("daily_budget", "per_address_per_day") if k in body.model_fields_set}
        return await ledger.set_grant_policy(actor_id=request[CURRENT_USER].id, reason=body.reason, **changes)

    @api.route("GET", "/api/admin/economy/accounts", auth="admin", tag="economy")
    async def economy_accounts(request):
        """The system accounts (mint, treasury, sinks) with their balances."""
        return {"accounts": await ledger.system_accounts()}

    @api.route("GET", "/api/admin/economy/transactions", query=SearchQuery, auth="admin", tag="economy")
    async def economy_transactions(request, q: SearchQuery):
        """Search transactions (newest first) by kind, user, initiator and time, with their entries."""
        return {"transactions": await ledger.search(kind=q.kind, user_id=q.user_id, initiator_id=q.initiator_id,
                                                    since=q.since, until=q.until, before=q.before, limit=q.limit)}

    @api.route("GET", "/api/admin/economy/transactions/{transaction_id}", auth="admin", tag="economy")
    async def economy_transaction(request):
        """One transaction with its entries."""
        from server.economy.ledger import as_uuid

        return await ledger.transaction(as_uuid(request.match_info["transaction_id"], "transaction id"))

    @api.route("GET", "/api/admin/economy/users/{user_id}", query=PageQuery, auth="admin", tag="economy")
    async def economy_user(request, q: PageQuery):
        """A user's balance, frozen flag and history (paged with before/limit)."""
        from server.economy.ledger import as_uuid
        from server.protocol import ProtocolError

        uid = as_uuid(request.match_info["user_id"])
        if await ctx.accounts.get(uid) is None:
            raise ProtocolError("not_found", f"no user {uid}")
        wallet = await ledger.wallet(uid)
        return {"user_id": str(uid), "balance": wallet["balance"], "frozen": wallet["frozen"],
                "currency": ledger.currency, "history": await ledger.history(uid, before=q.before, limit=q.limit)}

    @api.route("GET", "/api/admin/economy/shops", auth="admin", tag="economy")
    async def economy_shops(request):
        """Every shop with its revenue account balance and its items (price, stock)."""
        return {"shops": await ctx.shops.all_shops()}

    @api.route("POST", "/api/admin/economy/shops", body=ShopIn, auth="admin", tag="economy")
    async def economy_shop_create(request, body: ShopIn):
        """Open a shop (with its revenue account); assign it to a resident with PATCH /api/admin/residents/{id}."""
        return await ctx.shops.create_shop(body.key, body.name, actor_id=request[CURRENT_USER].id, reason=body.reason)

    @api.route("PUT", "/api/admin/economy/shops/{shop}/items/{sku}", body=ShopItemIn, auth="admin", tag="economy")
    async def economy_shop_item(request, body: ShopItemIn):
        """Add an item to a shop, or change its name, price or stock (audited, with before and after)."""
        sku = request.match_info["sku"]
        if not 1 <= len(sku) <= 48:
            from server.protocol import ProtocolError

            raise ProtocolError("invalid_payload", "sku must be 1 to 48 characters")
        return await ctx.shops.set_item(request.match_info["shop"], sku, actor_id=request[CURRENT_USER].id,
                                        reason=body.reason, name=body.name, price=body.price, stock=body.stock)
