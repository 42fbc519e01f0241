"""The assistant's rules: a person's words become one of the declared tools, run for that person
only, through the same services and checks as the client's own events. Acts that move money or
touch another person wait as a pending action until the person confirms it (once: the id is the
idempotency key). Every act goes to the person's assistant history and to the audit log. Only the
asker's words are read as a request: names, places and chat lines are data."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from ai.assistant import TOOLS, Intent, Planner, Vocabulary
from ai.assistant import replies as R
from ai.assistant.tools import BY_NAME
from server.accounts.auth import has_role
from server.assistant.models import AssistantAction
from server.audit import record
from server.db.base import utcnow
from server.protocol import ProtocolError
from server.realtime.hub import Connection

log = logging.getLogger(__name__)

PENDING_TTL = timedelta(minutes=2)
DEFAULT_MUTE_MINUTES = 10
CATCH_UP_LINES = 8

# (the transfer, the sender's name) -> tell both wallets; (user id, purchase result, shop, sku, qty) -> tell the buyer
AfterTransfer = Callable[[Any, str], Awaitable[None]]
AfterPurchase = Callable[[uuid.UUID, dict, str, str, int], Awaitable[None]]


def _quote(text: str, limit: int = 120) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def action_json(a: AssistantAction) -> dict[str, Any]:
    return {"id": str(a.id), "tool": a.tool, "args": a.args, "status": a.status, "summary": a.summary,
            "request": a.request, "source": a.source, "result": a.result,
            "confirm": BY_NAME[a.tool].confirm if a.tool in BY_NAME else False,
            "created_at": a.created_at.isoformat(),
            "expires_at": a.expires_at.isoformat() if a.expires_at else None,
            "done_at": a.done_at.isoformat() if a.done_at else None}


class Assistant:
    def __init__(self, ctx, planner: Planner, *, after_transfer: AfterTransfer, after_purchase: AfterPurchase):
        self.ctx = ctx
        self.db = ctx.db
        self.planner = planner
        self.after_transfer = after_transfer
        self.after_purchase = after_purchase

    @staticmethod
    def tools() -> list[dict[str, Any]]:
        return [t.public() for t in TOOLS]

    # == asking ================================================================================
    async def vocabulary(self, conn: Connection) -> Vocabulary:
        """The names this person may use: rooms they can see, their places, people in their room, residents, goods."""
        rooms_svc = self.ctx.rooms
        visible = await rooms_svc.list_rooms(conn)
        rooms = {r["slug"]: r["name"] for r in visible}
        places = {slug: list(dict.fromkeys(a["name"] for a in rooms_svc.areas(slug))) for slug in rooms}
        people = [p["name"] for p in rooms_svc.occupants(conn.room)] if conn.room else []
        people += [r.get("name", "") for r in (self.ctx.world or {}).get("residents", [])]
        items = {i["sku"]: i["name"] for r in (self.ctx.world or {}).get("residents", []) for i in r.get("shop") or []}
        return Vocabulary(rooms=rooms, places=places, people=list(dict.fromkeys(p for p in people if p)),
                          items=items, here=conn.room, me=conn.display_name)

    async def ask(self, conn: Connection, text: str, lang: str | None = None) -> dict[str, Any]:
        """Read the request; run it now, or hold it for confirmation; or say what was not understood."""
        vocab = await self.vocabulary(conn)
        intent = await self.planner.plan(text, vocab, lang or conn.language)
        lg = intent.lang
        if intent.tool is None:
            reply = R.missing(intent.missing, lg) if intent.missing else R.say("not_understood", lg)
            return {"understood": False, "reply": reply, "heard": intent.heard, "lang": lg}
        tool = BY_NAME[intent.tool]
        if tool.confirm:
            return await self._hold(conn, text, intent)
        action = AssistantAction(id=uuid.uuid4(), user_id=conn.user_id, request=text, tool=tool.name,
                                 args=intent.args, status="running", source=intent.source, created_at=utcnow())
        return await self._execute(conn, action, lg, fresh=True)

    async def _hold(self, conn: Connection, text: str, intent: Intent) -> dict[str, Any]:
        """Check what can be checked now, then keep it pending with what the person will see."""
        args, summary = await self._prepare(conn, intent.tool, dict(intent.args), intent.lang)
        now = utcnow()
        action = AssistantAction(id=uuid.uuid4(), user_id=conn.user_id, request=text, tool=intent.tool, args=args,
                                 status="pending", summary=summary, result={"lang": intent.lang},
                                 source=intent.source, created_at=now, expires_at=now + PENDING_TTL)
        async with self.db.session() as s:
            s.add(action)
        return {"understood": True, "reply": summary, "pending": action_json(action), "lang": intent.lang}

    # == confirming ============================================================================
    async def confirm(self, conn: Connection, action_id: uuid.UUID) -> dict[str, Any]:
        """Run a pending action of this person, once; confirming it again returns the first outcome."""
        now = utcnow()
        async with self.db.session() as s:
            claimed = await s.scalar(
                update(AssistantAction)
                .where(AssistantAction.id == action_id, AssistantAction.user_id == conn.user_id,
                       AssistantAction.status == "pending", AssistantAction.expires_at > now)
                .values(status="running").returning(AssistantAction))
        if claimed is None:
            return await self._not_runnable(conn, action_id)
        return await self._execute(conn, claimed, (claimed.result or {}).get("lang", "en"), fresh=False)

    async def _not_runnable(self, conn: Connection, action_id: uuid.UUID) -> dict[str, Any]:
        async with self.db.session() as s:
            row = await s.get(AssistantAction, action_id)
            if row is None or row.user_id != conn.user_id:  # someone else's action is nobody's business
                raise ProtocolError("not_found", "no such pending action")
            if row.status == "pending":  # past its time
                row.status = "expired"
                row.done_at = utcnow()
        if row.status == "done":
            return {"action": action_json(row), "reply": row.result.get("reply", ""), "replayed": True}
        raise ProtocolError("conflict", f"that action is {row.status}, not waiting for a confirmation")

    async def cancel(self, conn: Connection, action_id: uuid.UUID) -> dict[str, Any]:
        async with self.db.session() as s:
            row = await s.scalar(
                update(AssistantAction)
                .where(AssistantAction.id == action_id, AssistantAction.user_id == conn.user_id,
                       AssistantAction.status == "pending")
                .values(status="cancelled", done_at=utcnow()).returning(AssistantAction))
        if row is None:
            await self._not_runnable(conn, action_id)  # raises not_found or conflict
        lang = (row.result or {}).get("lang", "en")
        return {"action": action_json(row), "reply": R.say("cancelled", lang)}

    async def history(self, user_id: uuid.UUID, limit: int = 20) -> list[dict[str, Any]]:
        async with self.db.session() as s:
            rows = (await s.execute(select(AssistantAction).where(AssistantAction.user_id == user_id)
                                    .order_by(AssistantAction.created_at.desc()).limit(limit))).scalars().all()
        return [action_json(r) for r in rows]

    # == running ===============================================================================
    async def _execute(self, conn: Connection, action: AssistantAction, lang: str, *, fresh: bool) -> dict[str, Any]:
        """Run it, then store the outcome and its audit entry together (a failure is stored too)."""
        try:
            reply, result, client = await self._run(conn, action, lang)
        except ProtocolError as e:
            await self._finish(action, "failed", {"lang": lang, "error": e.to_dict()}, fresh)
            raise
        await self._finish(action, "done", {"lang": lang, "reply": reply, **result}, fresh)
        return {"understood": True, "reply": reply, "action": action_json(action), "lang": lang, **client}

    async def _finish(self, action: AssistantAction, status: str, result: dict[str, Any], fresh: bool) -> None:
        action.status, action.result, action.done_at = status, result, utcnow()
        async with self.db.session() as s:
            if fresh:
                s.add(action)
            else:
                await s.execute(update(AssistantAction).where(AssistantAction.id == action.id)
                                .values(status=status, result=result, done_at=action.done_at))
            target = action.args.get("user_id") or action.args.get("room") or ""
            await record(s, actor_id=action.user_id, action=f"assistant.{action.tool}",
                         target_type="user" if action.args.get("user_id") else "room" if target else "",
                         target_id=target, reason=_quote(action.request, 200),
                         details={"action_id": str(action.id), "status": status, "args": action.args,
                                  "source": action.source, "error": result.get("error")})

    async def _run(self, conn: Connection, a: AssistantAction, lang: str) -> tuple[str, dict, dict]:
        """(reply, what to store, what the client gets besides) for one tool call."""
        run = getattr(self, f"_run_{a.tool}")
        return await run(conn, a, dict(a.args), lang)

    async def _run_go_to(self, conn, a, args, lang):
        snapshot = await self.ctx.rooms.join(conn, args["room"])
        return R.say("went", lang, room=snapshot["room"]["name"]), {"room": args["room"]}, {"join": snapshot}

    async def _run_walk_to(self, conn, a, args, lang):
        rooms, client = self.ctx.rooms, {}
        slug = args.get("room") or conn.require_room()
        if conn.room != slug:
            client["join"] = await rooms.join(conn, slug)
        place = rooms.area(slug, args["place"])
        if place is None:
            raise ProtocolError("not_found", f"there is no {args['place']!r} in {slug}")
        x, y = await rooms.move(conn, *place["center"])
        client["walk"] = {"room": slug, "place": place["name"], "x": x, "y": y}
        return R.say("walking", lang, place=place["name"]), {"room": slug, "x": x, "y": y}, client

    async def _run_tip(self, conn, a, args, lang):
        t = await self.ctx.ledger.transfer(conn.user_id, args["user_id"], args["amount"], memo=args.get("memo", ""),
                                           idempotency_key=f"assistant:{a.id}")
        if not t.replayed:
            await self.after_transfer(t, conn.display_name)
        reply = R.say("tipped", lang, amount=t.amount, person=args["person"], balance=t.balance)
        out = {"transaction_id": str(t.transaction_id), "balance": t.balance}
        return reply, out, {}

    async def _run_buy(self, conn, a, args, lang):
        r = await self.ctx.shops.buy(conn.user_id, args["shop"], args["item"], args["qty"], f"assistant:{a.id}")
        if not r["replayed"]:
            await self.after_purchase(conn.user_id, r, args["shop"], args["item"], args["qty"])
        reply = R.say("bought", lang, qty=args["qty"], item=args["name"], balance=r["balance"])
        return reply, {"transaction_id": r["transaction_id"], "balance": r["balance"]}, {}

    async def _run_shop(self, conn, a, args, lang):
        slug = args.get("room") or conn.require_room()
        name, shops = await self._room_name(conn, slug), []
        for p in self.ctx.rooms.occupants(slug):
            key = await self.ctx.shops.resolve_npc(p["id"]) if p["kind"] == "npc" else None
            if key is not None:
                shops.append({"npc": p["id"], "name": p["name"], "items": await self.ctx.shops.items(key)})
        if not shops:
            return R.say("no_shop", lang, room=name), {"room": slug}, {"shops": []}
        items = "; ".join(f"{s['name']}: " + ", ".join(f"{i['name']} ({i['price']})" for i in s["items"])
                          for s in shops)
        return R.say("shop", lang, room=name, items=items), {"room": slug}, {"shops": shops}

    async def _run_who_is_in(self, conn, a, args, lang):
        slug = args.get("room") or conn.require_room()
        room = next((r for r in await self.ctx.rooms.list_rooms(conn) if r["slug"] == slug), None)
        if room is None:
            raise ProtocolError("not_found", f"no room {slug!r} you can see")
        people = [{"name": p["name"], "kind": p["kind"]} for p in self.ctx.rooms.occupants(slug)] or room["inside"]
        if not people:
            return R.say("nobody", lang, room=room["name"]), {"room": slug}, {"people": []}
        names = ", ".join(p["name"] for p in people)
        return R.say("who", lang, room=room["name"], names=names), {"room": slug}, {"people": people}

    async def _run_catch_up(self, conn, a, args, lang):
        parts, lines = [], []
        if conn.room and self.ctx.chat is not None:
            # Others' lines are quoted as data, never read as requests.
            lines = [{"from": m["from"]["name"], "text": _quote(m["text"])}
                     for m in (await self.ctx.chat.history(conn.room, conn))[-CATCH_UP_LINES:]]
            if lines:
                quoted = " ".join(f"{ln['from']}: “{ln['text']}”" for ln in lines)
                parts.append(R.say("catch_up", lang, room=await self._room_name(conn, conn.room), lines=quoted))
        wallet = [e for e in await self.ctx.ledger.history(conn.user_id, limit=5) if e["kind"] != "grant"][:3]
        if wallet:
            parts.append(R.say("wallet_news", lang, entries=", ".join(
                f"{e['amount']:+d} ({(e['counterparty'] or {}).get('name') or e['kind']})" for e in wallet)))
        reply = " ".join(parts) or R.say("nothing_new", lang)
        return reply, {"room": conn.room}, {"lines": lines, "wallet": wallet}

    async def _run_balance(self, conn, a, args, lang):
        balance = await self.ctx.ledger.balance(conn.user_id)
        return R.say("balance", lang, balance=balance), {"balance": balance}, {"balance": balance}

    async def _run_mute(self, conn, a, args, lang):
        actor = await self.ctx.accounts.get(conn.user_id)
        if actor is None:
            raise ProtocolError("unauthorized", "account no longer exists")
        # The moderation policy checks the rank again: the assistant has the person's rights, no more.
        await self.ctx.moderation.policy.act(actor, args["user_id"], "mute", minutes=args["minutes"],
                                             reason=f"through the assistant: {_quote(a.request, 400)}")
        return R.say("muted", lang, person=args["person"], minutes=args["minutes"]), {}, {}

    async def _run_report(self, conn, a, args, lang):
        reason = args.get("reason") or f"through the assistant: {_quote(a.request, 400)}"
        rid = await self.ctx.moderation.reviews.report(conn.user_id, conn.role, reason=reason,
                                                       message_id=args.get("message_id"),
                                                       user_id=None if args.get("message_id") else args["user_id"])
        return R.say("reported", lang), {"report_id": rid}, {"report_id": rid}

    # == checks before holding an action =======================================================
    async def _prepare(self, conn: Connection, tool: str, args: dict[str, Any], lang: str) -> tuple[dict, str]:
        if tool == "tip":
            args["user_id"], args["person"] = await self._person(conn, args["person"])
            if args.get("memo"):  # a memo is text another person reads
                args["memo"] = await self.ctx.check_public_text(args["memo"], kind="memo")
            return args, R.say("confirm_tip", lang, amount=args["amount"], person=args["person"],
                               memo=R.memo(args.get("memo"), lang))
        if tool == "buy":
            slug = conn.require_room()
            for p in self.ctx.rooms.occupants(slug):
                key = await self.ctx.shops.resolve_npc(p["id"]) if p["kind"] == "npc" else None
                item = next((i for i in await self.ctx.shops.items(key) if i["sku"] == args["item"]), None) if key else None
                if item is not None:
                    args.update(shop=key, name=item["name"], qty=args.get("qty", 1),
                                total=item["price"] * args.get("qty", 1))
                    return args, R.say("confirm_buy", lang, qty=args["qty"], item=item["name"], total=args["total"])
            raise ProtocolError("not_found", f"nobody in this room sells {args['item']}")
        if tool == "mute":
            if not has_role(conn.role, "moderator"):
                raise ProtocolError("forbidden", "only moderators can mute people; you can report them instead")
            args["user_id"], args["person"] = await self._person(conn, args["person"])
            args["minutes"] = args.get("minutes", DEFAULT_MUTE_MINUTES)
            return args, R.say("confirm_mute", lang, person=args["person"], minutes=args["minutes"])
        if tool == "report":
            if args.get("what") == "line":
                line = await self._last_line(conn, args["person"])
                args.update(message_id=line["id"], person=line["from"]["name"], line=_quote(line["text"]))
                if line["from"].get("kind") == "user":
                    args["user_id"] = line["from"]["id"]
                return args, R.say("confirm_report_line", lang, person=args["person"], line=args["line"])
            args["user_id"], args["person"] = await self._person(conn, args["person"])
            return args, R.say("confirm_report_person", lang, person=args["person"])
        raise ProtocolError("internal", f"{tool} needs no confirmation")

    async def _person(self, conn: Connection, name: str) -> tuple[str, str]:
        """(user id, name) of a person named by their display name in your room, or by their username."""
        want = name.casefold()
        occupants = self.ctx.rooms.occupants(conn.room) if conn.room else []
        here = [p for p in occupants if p["kind"] == "user" and p["name"].casefold() == want]
        if not here and any(p["kind"] == "npc" and p["name"].casefold() == want for p in occupants):
            # residents keep no wallet and cannot be reported: say so rather than "nobody called Mira"
            raise ProtocolError("invalid_payload", f"{name} is a resident: tips and reports are for people")
        if len(here) > 1:
            raise ProtocolError("conflict", f"{len(here)} people here are called {name}: tip them from the people list")
        if here:
            uid, shown = here[0]["id"], here[0]["name"]
        else:
            user = await self.ctx.accounts.by_name(name.lower())
            if user is None:
                raise ProtocolError("not_found", f"nobody called {name!r}")
            uid, shown = str(user.id), user.username
        if uid == conn.uid:
            raise ProtocolError("invalid_payload", "that is you")
        return uid, shown

    async def _last_line(self, conn: Connection, name: str) -> dict[str, Any]:
        room = conn.require_room()
        want = name.casefold()
        for m in reversed(await self.ctx.chat.history(room, conn)):
            if m["from"]["name"].casefold() == want and m["from"]["id"] != conn.uid:
                return m
        raise ProtocolError("not_found", f"no recent line from {name} in this room")

    async def _room_name(self, conn: Connection, slug: str) -> str:
        info = await self.ctx.rooms.get_room(slug)
        if info is None:
            raise ProtocolError("not_found", f"no room {slug!r}")
        return info.name
