"""Commerce: the offer in the thread (a yes, a change, a lapse), the sale and what it changes
in the day."""

from __future__ import annotations

import logging
import re

from .actions import match_sku
from .brain import stock_of
from .interface import ActionRefused, Item, Offer, Person, Sale
from .lexicon import say
from .memory import MemoryDraft
from .state import Conversation

log = logging.getLogger("ai.npc.agent")


class Commerce:
    """Part of `agent.ResidentAgent` (its state lives there)."""

    def _changes_offer(self, text: str, offer: Offer, items: list[Item] | None = None) -> bool:
        """'ok, but what about the map?' is not a yes to the lantern, nor is 'ok, I'll take the lantern'
        a yes to the tea."""
        if re.search(r"\b(what about|how much|instead)\b", text, re.I):
            return True
        named = match_sku(text, stock_of(items)) if items else None
        if named is not None and named != offer.sku:
            return True
        qty = re.search(r"\b(\d{1,3}|two|three|four|five|six|seven|eight|nine|ten)\b", text, re.I)
        return bool(qty) and len(text.split()) > 2

    async def _offer_again(self, conv: Conversation, lapsed: Offer, heard: str) -> None:
        """A yes to an offer that expired: say it lapsed and make it afresh (the money still waits)."""
        person, lang = conv.person, self._lang(conv)
        conv.lapsed = None
        try:
            fresh = await self.world.offer(self.id, person.id, lapsed.sku, lapsed.qty)
        except ActionRefused as e:
            line = say("out_of_stock", lang, name=person.name, item=lapsed.name) if e.code == "conflict" else \
                f"Sorry, {person.name}: {e.message}"
            await self._reply_line(conv, await self._in_their_language(conv, line, lang), heard=heard)
            return
        conv.offer = fresh
        phrase = f"{fresh.qty} x {fresh.name}" if fresh.qty > 1 else fresh.name
        line = say("lapsed", lang, item=phrase, name=person.name, total=fresh.total)
        await self._reply_line(conv, await self._in_their_language(conv, line, lang), heard=heard,
                               meta={"event": "said", "topic": fresh.name})

    async def sale_done(self, person: Person, sale: Sale, *, conv: Conversation | None = None,
                        heard: str | None = None) -> None:
        """A purchase it offered was confirmed (here, or through npc:confirm): say so, remember it."""
        conv = conv or self.conversations.get(person.id)
        o = sale.offer
        item = o.name if o else "that"
        lang = self._lang(conv) if conv is not None else self.persona.language
        if sale.ok and o is not None:
            self.figures["sales"] += 1
            line = say("sold", lang, name=person.name, item=f"{o.qty} x {o.name}" if o.qty > 1 else f"1 x {o.name}"
                       if lang != "en" else f"one {o.name}", total=o.total)
            self.remember(MemoryDraft("observation", f"{person.name} bought {o.qty} x {o.name} from me for {o.total} coins.",
                                      subject_id=person.id, subject_name=person.name,
                                      meta={"event": "purchase", "item": o.name, "sku": o.sku, "qty": o.qty,
                                            "total": o.total, "topic": o.name}))
            await self.people.meet(self.id, person.id, person.name, facts={"last_bought": o.name})
            if conv is not None:
                conv.outcomes.append(f"they bought {o.qty} x {o.name}")
            await self._after_sale(o)
            emote = "clap"
        else:
            self.figures["refusals"] += 1
            code = sale.code or ""
            key = ("sale_no_funds" if code == "insufficient_funds" else
                   "sale_ran_out" if code == "conflict" and "stock" in sale.message else
                   "sale_frozen" if code == "frozen" else "sale_lapsed" if code == "not_found" else "sale_failed")
            line = say(key, lang, name=person.name, total=o.total if o else "?", item=item)
            emote = "shrug"
            if conv is not None:
                conv.outcomes.append(f"the sale of {item} failed ({code})")
        if conv is not None:
            line = await self._in_their_language(conv, line, lang)
            await self._reply_line(conv, line, heard=heard, meta={"event": "said", "topic": item} if heard else None)
        else:
            await self._say(line, to=None)
        await self.world.emote(self.id, emote)

    async def _after_sale(self, o: Offer) -> None:
        """A sale can change the day: a shelf running low means restocking, an empty stall closes."""
        items = await self.world.shop(self.id) or []
        if items and all(i.stock <= 0 for i in items):
            self.revise_plan("closing the sold-out stall", "sold out", minutes=24 * 60)
        elif any(i.sku == o.sku and i.stock <= 2 for i in items):
            self.revise_plan(f"restocking {o.name}", f"a sale of {o.name}", minutes=45)

    async def observed_purchase(self, person: Person, item: str, qty: int, total: int) -> None:
        """Someone bought from its shop directly (not through a conversation): it notices."""
        self.remember(MemoryDraft("observation", f"{person.name} bought {qty} x {item} from my stall for {total} coins.",
                                  subject_id=person.id, subject_name=person.name,
                                  meta={"event": "purchase", "item": item, "qty": qty, "total": total, "topic": item}))
        await self.people.meet(self.id, person.id, person.name, facts={"last_bought": item})

    async def declined(self, person_id: str) -> None:
        """The person declined its offer through npc:decline: the thread closes, it says so in their language."""
        conv = self.conversations.get(person_id)
        if conv is None:
            return
        conv.offer = conv.lapsed = None
        line = say("declined", self._lang(conv), name=conv.person.name)
        await self._reply_line(conv, await self._in_their_language(conv, line))
