"""What every brain shares: the interface, the reply context, the intents (rules and examples),
and the plain-language helpers (first and second person, remembered facts, rule-based summaries
and reflections). The brains themselves are one module each in `ai/npc/brains/`:

- `brains.retrieval.RetrievalBrain`: no generative model; answers from facts with the bundled embedder.
- `brains.llm.LLMBrain`: an instruct model through the inference queue (tools with a local model,
  one JSON object with a remote one), with the retrieval brain behind it.

Both return `actions.Reply`; the world validates and executes the actions.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .actions import NUMBER_WORDS, Reply
from .interface import Happening, Item, Offer, Person, RoomFact, Stall
from .lexicon import speaks
from .memory import Embedder, Memory, MemoryDraft, heuristic_importance
from .persona import Persona

log = logging.getLogger("ai.npc.brain")


@dataclass
class Acquaintance:
    """What a resident knows of a person at a glance (kept per resident and person)."""

    id: str
    name: str
    times_met: int = 0
    first_met: datetime | None = None
    last_seen: datetime | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def returning(self) -> bool:
        return self.times_met > 1 or bool(self.facts)


@dataclass
class ReplyContext:
    persona: Persona
    speaker: Person
    text: str = ""
    whisper: bool = False
    lines: list[tuple[str, str]] = field(default_factory=list)  # (who, text), oldest first; who = name
    memories: list[Memory] = field(default_factory=list)
    acquaintance: Acquaintance | None = None
    here: RoomFact | None = None
    rooms: list[RoomFact] = field(default_factory=list)
    items: list[Item] | None = None
    people: list[str] = field(default_factory=list)
    residents: list[tuple[str, str, str]] = field(default_factory=list)  # (name, role, room slug) of others
    clock: str = ""
    part_of_day: str = ""
    offer: Offer | None = None
    first_turn: bool = False
    embed: Embedder | None = None  # bound to this resident's budget
    query_vector: list[float] | None = None
    deadline: float = 5.0
    lang: str | None = None  # the language of the speaker's line (None: the resident's own)
    translated: bool = False  # `text` is already a model's translation into the resident's language
    topic_item: str | None = None  # the sku this conversation is about (the open thread)
    stalls: list[Stall] = field(default_factory=list)  # the other residents' shops (for one who keeps none)
    topic_seller: str | None = None  # the seller this conversation pointed to ("what do they have?")
    happenings: list[Happening] = field(default_factory=list)  # the world's events, now and next
    doing: tuple[str, str, str] | None = None  # its day plan's step now: (activity, room slug, until "HH:MM")

    @property
    def reply_lang(self) -> str:
        """The language to answer in: the speaker's, where the lexicon speaks it and no model
        translated the line (then the answer is translated back instead)."""
        if self.lang and not self.translated and speaks(self.lang):
            return self.lang
        return self.persona.language

    @property
    def room_names(self) -> dict[str, str]:
        return {r.slug: r.name for r in self.rooms}

    @property
    def stock(self) -> dict[str, dict] | None:
        return stock_of(self.items) if self.items is not None else None


def stock_of(items: list[Item]) -> dict[str, dict]:
    """Wares as the sku map `match_sku` and `validate` read: {sku: {name, price, stock}}."""
    return {i.sku: {"name": i.name, "price": i.price, "stock": i.stock} for i in items}


def cheapest(items: list[Item]) -> Item | None:
    """The cheapest item in stock (by price, then sku), or None when nothing is left."""
    return min((i for i in items if i.stock > 0), key=lambda i: (i.price, i.sku), default=None)


def dearest(items: list[Item]) -> Item | None:
    """The priciest item in stock (by price, then sku), or None when nothing is left."""
    return max((i for i in items if i.stock > 0), key=lambda i: (i.price, i.sku), default=None)


class Brain:
    """The interface; `kind` is "llm" or "retrieval"."""

    kind = "brain"

    async def reply(self, ctx: ReplyContext) -> Reply:
        raise NotImplementedError

    async def greet(self, ctx: ReplyContext) -> Reply:
        raise NotImplementedError

    async def reflect(self, persona: Persona, memories: list[Memory], embed: Embedder | None = None) -> list[tuple[str, list[int], dict]]:
        return heuristic_reflections(persona, memories)

    async def summarize(self, persona: Persona, who: Person, lines: list[tuple[str, str]], topics: list[str],
                        outcomes: list[str]) -> str:
        return heuristic_summary(persona, who, lines, topics, outcomes)

    async def importance(self, drafts: list[MemoryDraft]) -> list[float]:
        return [heuristic_importance(d) for d in drafts]

    async def chatter(self, persona: Persona, other: str, ctx: ReplyContext) -> str:
        return heuristic_chatter(persona, other, ctx)

    async def holding_line(self, persona: Persona, who: str) -> str:
        return holding_line(persona, who)


# == intent ======================================================================================
RULES: list[tuple[str, re.Pattern]] = [
    ("farewell", re.compile(r"\b(bye|goodbye|good-bye|see you|see ya|farewell|good night|gotta go|take care|adios|ciao)\b", re.I)),
    ("thanks", re.compile(r"\b(thanks|thank you|thank u|cheers|ty|much appreciated|grateful)\b", re.I)),
    ("guide", re.compile(r"\b(take me|show me the way|lead me|walk me|guide me|come with me|follow me)\b", re.I)),
    ("self", re.compile(r"\b(what do you (know|remember) about me|what do i do|what('?s| is) my (job|work|trade|profession|name)|who am i|where am i from|"
                        r"where do i (live|come from)|what do i like|do you know what i do|what i do for a living)\b", re.I)),
    ("rules", re.compile(r"\b(rules?|allowed to|forbidden|how does (this|the) world work)\b", re.I)),
    ("remember", re.compile(r"\b(remember me|do you know me|know who i am|remember my|remember what|have we met|"
                            r"what did i (buy|get|ask)|last time)\b", re.I)),
    ("introduce", re.compile(r"\b(my name is|i am called|i'm called|call me|i'?m an? |i am an? |i work as|i'?m from|i am from|"
                            r"i (really )?(like|love|enjoy) )\b", re.I)),
    ("recommend", re.compile(r"\b(recommend|recommendation|suggest|suggestion|what should i (get|buy|try|have|order)|"
                             r"what'?s good|what is good|what'?s best|what is best|(the )?best (thing|item|one|buy)|"
                             r"your favou?rite(?! (place|room|spot|part|corner))|what else (do|does|can|would) (you|they|he|she) (have|sell|recommend|suggest))\b",
                             re.I)),
    ("haggle", re.compile(r"\b(discount|cheaper|lower (the|your) prices?|better price|haggle|bargain|come down|knock off|"
                          r"special price|give me a deal)\b", re.I)),
    ("buy", re.compile(r"\b(buy|purchase|i'?ll take|i will take|i'?d like|i would like|can i (get|have)|give me|gimme|"
                       r"sell me|i want|i need|get me|one more|another)\b", re.I)),
    ("shop", re.compile(r"\b(sell|sells|selling|for sale|wares|shop|stock|price|prices|cost|costs|how much|what do you have|"
                        r"goods|items|offer|menu|buy)\b", re.I)),
    ("time", re.compile(r"\b(what time is it|what'?s the time|what is the time|do you know the time|time is it)\b", re.I)),
    ("doing", re.compile(r"\b(what are you (doing|up to|reading|working on|making)|why are you (here|at|in)|what('?s| is) your plan|"
                         r"what do you do (all day|today)|where will you be)\b", re.I)),
    ("events", re.compile(r"\b(happening|happenings|going on|events?|anything on|what'?s on(?! (sale|offer|the menu))|activities|festival|"
                          r"story hour|market day|treasure hunt)\b", re.I)),
    ("directions", re.compile(r"\b(what (is there|can i|could i|should i) (to )?do\b(?! with)|things to do|where|how do i get|how to get|how can i get|way to|directions|which way|where to go|"
                              r"go to|find the|rooms?|places?|explore|visit|go next|around here|in town)\b", re.I)),
    ("residents", re.compile(r"\b(who (else )?(lives|is there|works) (here|in town|around)|who else|who lives|"
                             r"which residents|who are the (residents|locals|people here))\b", re.I)),
    ("about", re.compile(r"\b(who are you|what do you do|your name|about you|yourself|what is your job|your role)\b", re.I)),
    ("tour", re.compile(r"\b(show me around|give me a tour|a tour|show me the town|show me the sights|look around)\b", re.I)),
    ("wellbeing", re.compile(r"\b(how are you|how'?re you|how are things|how'?s it going|how do you do|how have you been|"
                             r"are you (well|ok|okay))\b", re.I)),
    ("greet", re.compile(r"^\W*(hi|hello|hey|hiya|howdy|greetings|good (morning|afternoon|evening|day)|hola|bonjour|"
                         r"hallo|ola|olá|yo|sup)\b", re.I)),
]
EXAMPLES: dict[str, list[str]] = {
    "greet": ["hello there", "hi, nice to meet you", "good morning!", "hey, how are you?"],
    "shop": ["what do you sell?", "what's for sale here?", "how much does it cost?", "what wares do you have?",
             "show me your goods"],
    "buy": ["I would like to buy one", "I'll take it", "can I buy two of those?", "sell me one please"],
    "directions": ["where is the market?", "how do I get to the library?", "where should I go?",
                   "what places are there in town?", "which rooms can I visit?"],
    "recommend": ["what do you recommend?", "what would you suggest I get?", "what's good here?",
                  "which one should I buy?"],
    "about": ["who are you?", "what do you do here?", "tell me about yourself"],
    "remember": ["do you remember me?", "have we met before?", "what did I buy last time?"],
    "thanks": ["thank you so much", "thanks a lot"],
    "farewell": ["goodbye, see you later", "I have to go now, bye"],
    "rules": ["what are the rules here?", "how does this world work?", "how do I talk privately?",
              "what can I do with coins?", "how do I report someone?"],
}
AFFIRM = re.compile(r"^\W*((fine|alright|all right|right|well|then|okay|ok)[,.!]?\s+)?"  # "fine, yes"
                    r"(y|yes|yeah|yep|yup|sure|ok|okay|confirm|confirmed|deal|do it|please do|i'?ll take it|"
                    r"sounds good|go ahead|absolutely|of course|why not|fine|alright|si|sí|oui|ja|sim)\b", re.I)
DECLINE = re.compile(r"^\W*((actually|um+|hmm+|oh|well|sorry|ah|erm|fine|alright|ok|okay)[,.!]?\s+)?"
                     r"(n|no|nope|nah|cancel|never ?mind|not now|no thanks|maybe later|forget it|don'?t)\b", re.I)
TOO_MUCH = re.compile(r"\b(too expensive|too much|too pricey|can'?t afford|cannot afford|out of my budget)\b", re.I)


def affirmative(text: str) -> bool:
    return bool(AFFIRM.match(text)) and not DECLINE.match(text)


def negative(text: str) -> bool:
    return bool(DECLINE.match(text) or TOO_MUCH.search(text))


def rule_intents(text: str) -> list[str]:
    return [name for name, rx in RULES if rx.search(text)]


def dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b))


def first_person(persona: Persona, sentence: str) -> str:
    """'Mira is the town's greeter ...' -> 'I am the town's greeter ...' (a light touch)."""
    s = sentence.strip()
    n = re.escape(persona.name)
    # its pronouns are its own only in a sentence about it ("Market day: Tobin gives ... he sells" is
    # Tobin's "he", even when Mira tells it)
    if not (re.match(rf"^({n}|he|she|they|his|her|their)\b", s, re.I) or re.search(rf"\b{n}\b", s)):
        return s
    s = re.sub(rf"(?<=\band ){n} (\w+)s\b", lambda m: f"I {m.group(1)}", s)  # "... and Tobin gives" -> "... and I give"
    s = re.sub(rf"^{n} is\b", "I am", s)
    if re.match(rf"^{n} (\w+)s\b", s):
        s = re.sub(rf"^{n} (\w+)s\b", lambda m: f"I {m.group(1)}", s)
        s = re.sub(r"\b(and|but) (\w+[^s])s\b", r"\1 \2", s)
    s = re.sub(rf"^{n}'s\b", "My", s)
    s = re.sub(r"^(His|Her|Their) ", "My ", s)
    s = re.sub(r"\b(his|her|their) ", "my ", s)
    s = re.sub(r"\b([Hh]e|[Ss]he) (knows|keeps|runs|sells|has)\b", lambda m: f"I {m.group(2)[:-1] if m.group(2) != 'has' else 'have'}", s)
    return s


def join_words(items: list[str], conj: str = "and") -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conj} " + items[-1]


def qty_in(text: str) -> int:
    """The quantity a line asks for; one when it states none."""
    return qty_stated(text) or 1


def qty_stated(text: str) -> int | None:
    """A quantity the line states ("two", "3"), else None ("one" and "a" state nothing beyond the default)."""
    t = text.lower()
    m = re.search(r"\b(\d{1,3})\b(?!\s*coins?\b)", t)  # "for 20 coins" is a budget, not twenty of it
    if m:
        return max(1, int(m.group(1)))
    for phrase, n in sorted(NUMBER_WORDS.items(), key=lambda kv: -len(kv[0])):
        if phrase in ("a", "an", "one"):
            continue
        if re.search(rf"\b{re.escape(phrase)}\b", t):
            return n
    return None


def item_phrase(item: Item | dict, qty: int, lang: str = "en") -> str:
    name = item.name if isinstance(item, Item) else item["name"]
    if lang != "en":  # no English article inside another language's sentence
        return f"{qty} x {name}" if qty > 1 else name
    return f"{qty} x {name}" if qty > 1 else f"a {name}" if not name.lower().startswith(("a ", "an ")) else name


def second_person(text: str, name: str) -> str:
    """A memory about a person, said to that person: 'ben likes ...' -> 'you like ...'."""
    if not name:
        return text
    n = re.escape(name)
    s = re.sub(rf"\b{n} told me they are\b", "you told me you're", text, flags=re.I)
    s = re.sub(rf"\b{n} told me they\b", "you told me you", s, flags=re.I)
    s = re.sub(rf"\b{n} is\b", "you are", s, flags=re.I)
    s = re.sub(rf"\b{n} was\b", "you were", s, flags=re.I)
    s = re.sub(rf"\b{n} has\b", "you have", s, flags=re.I)
    s = re.sub(rf"\b{n}'s\b", "your", s, flags=re.I)
    s = re.sub(rf"\b{n} (\w+?)(ies)\b", lambda m: f"you {m.group(1)}y", s, flags=re.I)
    s = re.sub(rf"\b{n} (\w+?[^s])s\b(?! )", lambda m: f"you {m.group(1)}", s, flags=re.I)
    s = re.sub(rf"\b{n} (\w+?[^s])s\b", lambda m: f"you {m.group(1)}", s, flags=re.I)
    s = re.sub(r"\b(and|but) (cares|likes|loves|wants|asks|buys)\b", lambda m: f"{m.group(1)} {m.group(2)[:-1]}", s)
    s = re.sub(rf"\b{n}\b", "you", s, flags=re.I)
    s = re.sub(r"\bthem\b", "you", s)
    return s[:1].upper() + s[1:] if s else s


def personal_facts(text: str) -> dict[str, str]:
    """What a person says about themselves: their work ("I'm a painter"), where they are from, what they like."""
    out: dict[str, str] = {}
    m = re.search(r"\b(?:i'?m an?|i am an?|i work as an?|i work as|i'?m working as an?)\s+([a-z][a-z\-]{2,20}(?: [a-z\-]{2,20})?)",
                  text, re.I)
    if m:
        words = m.group(1).lower().split()
        if len(words) > 1 and words[1] in FILLER:
            words = words[:1]
        what = " ".join(w for w in words if w not in FILLER)
        if what:
            out["is"] = what
    m = re.search(r"\bi(?:'m| am)(?: an? [a-z\-]{2,20}(?: [a-z\-]{2,20})?)? from ([A-Za-z][\w\- ]{1,30}?)(?:[.,!?]|$| and )", text, re.I)
    if m:
        out["from"] = m.group(1).strip()
    m = re.search(r"\bi (?:really )?(?:like|love|enjoy) ([a-z][\w\- ]{2,30}?)(?:[.,!?]|$| and )", text, re.I)
    if m:
        out["likes"] = m.group(1).strip()
    return out


FILLER = frozenset({"by", "the", "way", "and", "but", "so", "too", "here", "now", "who", "from", "in", "at", "of",
                    "really", "actually", "btw"})


def first_sentence(text: str) -> str:
    text = " ".join((text or "").split())
    m = re.match(r"(.+?[.!?])(\s|$)", text)
    return m.group(1) if m else text


def short_desc(text: str) -> str:
    s = first_sentence(text).rstrip(".!?")
    s = re.sub(r"^(The|A|An) ", lambda m: m.group(1).lower() + " ", s)
    return s if len(s) <= 60 else s[:57].rsplit(" ", 1)[0] + "…"


def memory_as_speech(m: Memory) -> str:
    return m.text.rstrip(".") + "."


def help_line(ctx: ReplyContext) -> str:
    p = ctx.persona
    if ctx.items:
        return "Ask me what I sell."
    if p.role in ("librarian",) or any("room" in k.lower() for k in p.knowledge):
        return "Ask me where to go or how things work here."
    if p.role in ("guide",):
        return "Ask me about the town, I know every corner."
    return "What brings you here?"


def fact_line(a: Acquaintance, memories: list[Memory], *, ask: bool) -> str:
    """A remembered fact about the person, as a question (greeting) or a statement."""
    f = a.facts
    if f.get("last_bought"):
        item = f["last_bought"]
        return f"Did the {item} serve you well?" if ask else f"You bought a {item} from me."
    if f.get("is"):
        return f"How is life as a {f['is']}?" if ask else f"You told me you're a {f['is']}."
    if f.get("last_topic"):
        t = f["last_topic"]
        return f"Last time you asked me about {t}. Did that work out?" if ask else f"Last time we talked about {t}."
    mem = next((m for m in memories if m.subject_id == a.id and m.kind in ("conversation", "reflection")), None)
    if mem is not None:
        said = second_person(memory_as_speech(mem), a.name)
        return f"I remember: {said}" if not ask else f"Good to see you again. {said}"
    return "Good to see you again." if ask else "We've met before."


def holding_line(persona: Persona, who: str) -> str:
    lines = {
        "shopkeeper": f"One moment, {who}, let me check my shelves…",
        "librarian": f"One moment, {who}. Let me look that up.",
        "guide": f"Hmm, one moment, {who}, let me think…",
    }
    return lines.get(persona.role, f"One moment, {who}…")


def heuristic_chatter(persona: Persona, other: str, ctx: ReplyContext) -> str:
    if persona.knowledge:
        idx = (len(ctx.clock) + len(other) + int(ctx.clock.replace(":", "") or 0)) % len(persona.knowledge)
        return f"{other}, did you know? {first_person(persona, persona.knowledge[idx])}"
    return f"Quiet {ctx.part_of_day or 'day'}, isn't it, {other}?"


def heuristic_summary(persona: Persona, who: Person, lines: list[tuple[str, str]], topics: list[str],
                      outcomes: list[str]) -> str:
    said = sum(1 for w, _ in lines if w == who.name)
    parts = [f"Talked with {who.name} ({said} lines)"]
    if topics:
        parts.append(f"about {join_words(list(dict.fromkeys(topics))[:4])}")
    text = " ".join(parts)
    if outcomes:
        text += "; " + "; ".join(outcomes[:3])
    return text + "."


def heuristic_reflections(persona: Persona, memories: list[Memory]) -> list[tuple[str, list[int], dict]]:
    """Higher-level memories without a model: regulars and what they care about, what people ask
    about most, what sells. Each cites the memories it rests on."""
    out: list[tuple[str, list[int], dict]] = []
    by_person: dict[str, list[Memory]] = defaultdict(list)
    for m in memories:
        if m.subject_id and m.kind != "reflection":
            by_person[m.subject_id].append(m)
    people = sorted(by_person.items(), key=lambda kv: (-sum(m.importance for m in kv[1]), kv[0]))
    for pid, ms in people[:2]:
        if len(ms) < 2:
            continue
        name = next((m.subject_name for m in ms if m.subject_name), "Someone")
        topics = Counter(str(m.meta["topic"]) for m in ms if m.meta.get("topic"))
        bought = [str(m.meta["item"]) for m in ms if m.meta.get("event") == "purchase" and m.meta.get("item")]
        bits = []
        if bought:
            bits.append(f"bought {join_words(list(dict.fromkeys(bought))[:3])} from me")
        if topics:
            bits.append(f"cares about {join_words([t for t, _ in topics.most_common(3)])}")
        if not bits:
            bits.append("likes to stop and talk with me")
        out.append((f"{name} {' and '.join(bits)}.", [m.id for m in ms][:20],
                    {"importance": 7.0, "subject_id": pid, "subject_name": name}))
    topics = Counter()
    evidence: dict[str, list[int]] = defaultdict(list)
    for m in memories:
        t = m.meta.get("topic")
        if t:
            topics[str(t)] += 1
            evidence[str(t)].append(m.id)
    common = [t for t, n in topics.most_common(2) if n >= 2]
    if common:
        ids = [i for t in common for i in evidence[t]][:20]
        out.append((f"Lately people ask me most about {join_words(common)}.", ids, {"importance": 6.0, "topic": common[0]}))
    sales = [m for m in memories if m.meta.get("event") == "purchase"]
    if len(sales) >= 2:
        items = Counter(str(m.meta.get("item")) for m in sales)
        out.append((f"{join_words([i for i, _ in items.most_common(2)])} sell best lately.", [m.id for m in sales][:20],
                    {"importance": 6.0, "topic": "sales"}))
    return out[:3]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(x * x for x in b)) or 1.0
    return dot(a, b) / (na * nb)
