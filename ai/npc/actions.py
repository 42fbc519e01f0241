"""Structured actions a resident's reply may carry, parsed robustly and validated before the
world executes them.

The LLM brain asks for one JSON object:

    {"say": "A Brass lantern is 120 coins. Shall I wrap one?", "actions": [{"type": "sell", "sku": "lantern", "qty": 1}]}

`parse_reply` accepts that object and the usual ways small models get it slightly wrong (code
fences, text around it, single quotes, trailing commas, `action` instead of `actions`, a cut-off
end); when there is no object at all the text itself is the reply. `validate` then keeps only
what the world allows: real items in stock, real rooms, known emotes. The resident never sells
what is not in stock and never names a room that does not exist.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

KINDS = ("sell", "give_directions", "move_to", "emote")
EMOTES = ("wave", "dance", "laugh", "cheer", "clap", "sit", "nod", "shrug", "bow", "think")
MAX_QTY = 20
MAX_SAY = 400
ALIASES = {
    "sell": "sell", "offer": "sell", "sale": "sell", "buy": "sell", "trade": "sell",
    "give_directions": "give_directions", "directions": "give_directions", "direct": "give_directions",
    "point": "give_directions", "point_to": "give_directions",
    "move_to": "move_to", "move": "move_to", "go": "move_to", "go_to": "move_to", "walk": "move_to", "walk_to": "move_to",
    "emote": "emote", "gesture": "emote",
}


@dataclass
class Action:
    kind: str
    args: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, **self.args}


@dataclass
class Reply:
    """What a brain decided: the line to say, actions, and whether the conversation ends."""

    text: str
    actions: list[Action] = field(default_factory=list)
    end: bool = False
    meta: dict[str, Any] = field(default_factory=dict)  # brain, intent, topic, parse notes


@dataclass
class Rejected:
    action: Action
    reason: str


# -- parsing ------------------------------------------------------------------------------------
FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)
ROLE_PREFIX = re.compile(r"^\s*(?:assistant|resident|npc|[A-Z][a-z]{1,20})\s*:\s+")


def parse_reply(raw: str, *, speaker_names: Iterable[str] = ()) -> Reply:
    """The reply in a model's output; never raises. meta["parsed"] says how it was read:
    "json", "repaired", "salvaged" (a cut-off object) or "text" (no object at all)."""
    text = (raw or "").strip()
    obj, how = _find_object(text)
    if obj is not None:
        say = _say_of(obj)
        actions = _actions_of(obj)
        end = bool(obj.get("end") or obj.get("end_conversation") or obj.get("bye"))
        return Reply(_clean_say(say, speaker_names), actions, end, {"parsed": how})
    salvaged = _salvage_say(text)
    if salvaged is not None:
        return Reply(_clean_say(salvaged, speaker_names), _salvage_actions(text), False, {"parsed": "salvaged"})
    # No object: the text is the line, minus anything that looks like a stray JSON fragment.
    plain = re.sub(r"[{}\[\]]", "", text.split("\n\n")[0]) if text.lstrip().startswith("{") else text
    return Reply(_clean_say(plain, speaker_names), [], False, {"parsed": "text"})


def _find_object(text: str) -> tuple[dict | None, str]:
    candidates: list[str] = [m.group(1).strip() for m in FENCE.finditer(text)]
    candidates += _balanced_objects(text)
    for c in candidates:
        try:
            obj = json.loads(c)
        except (ValueError, TypeError):
            obj = None
        if isinstance(obj, dict) and _looks_like_reply(obj):
            return obj, "json"
        for attempt in (c, _repair(c)):
            obj = _loads(attempt)
            if isinstance(obj, dict) and _looks_like_reply(obj):
                return obj, "repaired"
    return None, ""


def _looks_like_reply(obj: dict) -> bool:
    return any(k in obj for k in ("say", "reply", "text", "message", "response", "answer", "actions", "action"))


def _balanced_objects(text: str) -> list[str]:
    """Every top-level {...} span, outermost first, honouring strings."""
    out = []
    depth, start, quote, esc = 0, -1, "", False
    for i, ch in enumerate(text):
        if quote:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == quote:
                quote = ""
            continue
        if ch in "\"'" and depth > 0:
            # an apostrophe inside words ("I'll") is not a quote
            prev = text[i - 1] if i else " "
            if ch == "'" and prev.isalnum():
                continue
            quote = ch
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0 and start >= 0:
                out.append(text[start:i + 1])
    return out


def _loads(s: str) -> Any:
    try:
        return json.loads(s)
    except (ValueError, TypeError):
        pass
    try:  # Python-style dicts: single quotes, True/False/None
        return ast.literal_eval(s)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _repair(s: str) -> str:
    s = re.sub(r",\s*([}\]])", r"\1", s)  # trailing commas
    s = re.sub(r"\btrue\b", "true", s, flags=re.I)
    s = re.sub(r"\bfalse\b", "false", s, flags=re.I)
    s = re.sub(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:", r'\1"\2":', s)  # unquoted keys
    return s


def _say_of(obj: dict) -> str:
    for k in ("say", "reply", "text", "message", "response", "answer"):
        v = obj.get(k)
        if isinstance(v, str):
            return v
    return ""


def _actions_of(obj: dict) -> list[Action]:
    raw = obj.get("actions", obj.get("action"))
    if raw is None:
        return []
    if isinstance(raw, (dict, str)):
        raw = [raw]
    if not isinstance(raw, list):
        return []
    out = []
    for a in raw[:5]:
        act = _action_of(a)
        if act is not None:
            out.append(act)
    return out


def _action_of(a: Any) -> Action | None:
    if isinstance(a, str):  # "emote:wave" or "sell lantern"
        parts = re.split(r"[:\s]+", a.strip(), maxsplit=1)
        kind = ALIASES.get(parts[0].lower())
        if kind is None:
            return None
        arg = parts[1].strip() if len(parts) > 1 else ""
        key = {"sell": "sku", "give_directions": "room", "move_to": "room", "emote": "name"}[kind]
        return Action(kind, {key: arg} if arg else {})
    if not isinstance(a, dict):
        return None
    name = a.get("type") or a.get("action") or a.get("kind")
    if name is None and isinstance(a.get("name"), str) and a["name"].lower() in ALIASES:
        name = a["name"]
        a = {k: v for k, v in a.items() if k != "name"}
    if not isinstance(name, str):
        # {"sell": {"sku": "map"}}
        if len(a) == 1:
            (k, v), = a.items()
            kind = ALIASES.get(str(k).lower())
            if kind is not None:
                return Action(kind, dict(v) if isinstance(v, dict) else {})
        return None
    kind = ALIASES.get(name.strip().lower())
    if kind is None:
        return None
    args = {k: v for k, v in a.items() if k not in ("type", "action", "kind")}
    if kind == "emote" and "name" not in args:
        for k in ("emote", "gesture", "value"):
            if k in args:
                args["name"] = args.pop(k)
    if kind == "sell":
        for k in ("item", "product", "what"):
            if k in args and "sku" not in args:
                args["sku"] = args.pop(k)
        if "quantity" in args and "qty" not in args:
            args["qty"] = args.pop("quantity")
    if kind in ("give_directions", "move_to"):
        for k in ("to", "destination", "where", "place", "target"):
            if k in args and "room" not in args:
                args["room"] = args.pop(k)
    return Action(kind, args)


SAY_FIELD = re.compile(r"[\"']?(?:say|reply|text|message|response|answer)[\"']?\s*:\s*([\"'])(.*?)(?:(?<!\\)\1|$)", re.S)


def _salvage_say(text: str) -> str | None:
    """The say field of an object that was cut off (finish_reason "length")."""
    m = SAY_FIELD.search(text)
    if not m:
        return None
    return m.group(2).encode("utf-8", "ignore").decode("unicode_escape", "ignore") if "\\" in m.group(2) else m.group(2)


def _salvage_actions(text: str) -> list[Action]:
    out = []
    for m in re.finditer(r"\{[^{}]*\}", text):
        obj = _loads(m.group(0)) or _loads(_repair(m.group(0)))
        if isinstance(obj, dict) and not _say_of(obj):
            act = _action_of(obj)
            if act is not None:
                out.append(act)
    return out


def _clean_say(say: str, names: Iterable[str]) -> str:
    s = (say or "").strip()
    s = ROLE_PREFIX.sub("", s, count=1) if ROLE_PREFIX.match(s) and s.split(":")[0].strip().lower() in (
        {"assistant", "resident", "npc"} | {n.lower() for n in names}) else s
    s = re.sub(r"\s+", " ", s).strip().strip('"').strip()
    if len(s) > MAX_SAY:
        cut = s[:MAX_SAY]
        end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
        s = cut[: end + 1] if end > 40 else cut.rstrip() + "…"
    return s


# -- validation ---------------------------------------------------------------------------------
def validate(actions: list[Action], *, stock: dict[str, dict] | None, rooms: dict[str, str],
             here: str | None = None) -> tuple[list[Action], list[Rejected]]:
    """Keep what the world allows. `stock`: {sku: {"name", "price", "stock"}} of this resident's
    shop (None: it keeps no shop); `rooms`: {slug: name} of real rooms. Room arguments may be a
    slug or a room's name; they come back as the slug."""
    ok: list[Action] = []
    bad: list[Rejected] = []
    seen: set[str] = set()
    for a in actions:
        if a.kind not in KINDS:
            bad.append(Rejected(a, f"unknown action {a.kind!r}"))
            continue
        if a.kind in seen and a.kind != "emote":
            bad.append(Rejected(a, f"only one {a.kind} per reply"))
            continue
        if a.kind == "sell":
            if not stock:
                bad.append(Rejected(a, "keeps no shop"))
                continue
            sku = match_sku(str(a.args.get("sku") or ""), stock)
            if sku is None:
                bad.append(Rejected(a, f"does not sell {a.args.get('sku')!r}"))
                continue
            qty = _int(a.args.get("qty", 1))
            if qty is None or not 1 <= qty <= MAX_QTY:
                bad.append(Rejected(a, f"qty must be 1 to {MAX_QTY}"))
                continue
            if stock[sku]["stock"] < qty:
                bad.append(Rejected(Action("sell", {"sku": sku, "qty": qty}), "out of stock"))
                continue
            ok.append(Action("sell", {"sku": sku, "qty": qty}))
        elif a.kind in ("give_directions", "move_to"):
            target = a.args.get("room")
            if a.kind == "move_to" and (target in (None, "", "speaker", "you", "them") or "x" in a.args):
                if "x" in a.args and "y" in a.args:
                    x, y = _float(a.args.get("x")), _float(a.args.get("y"))
                    if x is None or y is None:
                        bad.append(Rejected(a, "x and y must be numbers"))
                        continue
                    ok.append(Action("move_to", {"x": x, "y": y}))
                else:
                    ok.append(Action("move_to", {"to": "speaker"}))
                seen.add(a.kind)
                continue
            slug = match_room(str(target or ""), rooms)
            if slug is None:
                bad.append(Rejected(a, f"no room {target!r}"))
                continue
            if a.kind == "move_to" and slug == here:
                bad.append(Rejected(a, "already there"))
                continue
            ok.append(Action(a.kind, {"room": slug}))
        elif a.kind == "emote":
            name = str(a.args.get("name") or "").strip().lower()
            if name not in EMOTES:
                bad.append(Rejected(a, f"emote must be one of {', '.join(EMOTES)}"))
                continue
            ok.append(Action("emote", {"name": name}))
        seen.add(a.kind)
    return ok, bad


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    return NUMBER_WORDS.get(str(v).strip().lower()) if isinstance(v, str) else None


def _float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f and abs(f) < 1e6 else None


NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "a pair of": 2, "couple": 2, "pair": 2,
                "dozen": 12, "a dozen": 12}


def _words(s: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", s.lower())


def _stem(w: str) -> str:
    for suf in ("es", "s"):
        if len(w) > 3 and w.endswith(suf):
            return w[: -len(suf)]
    return w


def match_sku(text: str, stock: dict[str, dict]) -> str | None:
    """The sku a phrase names: the sku itself, or words of the item's name ("lamp oil", "lanterns")."""
    t = text.strip().lower()
    if not t:
        return None
    if t in stock:
        return t
    words = {_stem(w) for w in _words(t)}
    best, best_score = None, 0.0
    for sku, item in stock.items():
        name_words = {_stem(w) for w in _words(str(item.get("name") or ""))} - STOP
        keys = name_words | {_stem(sku)}
        hit = len(words & keys)
        if _stem(sku) in words:
            hit += 1
        score = hit / max(len(keys), 1)
        if hit and score > best_score:
            best, best_score = sku, score
    return best


STOP = {"of", "the", "a", "an", "cup", "flask", "and", "to", "for", "me", "please", "some"}


def match_room(text: str, rooms: dict[str, str]) -> str | None:
    """A room's slug from its slug or name ("the market", "Market", "library")."""
    t = text.strip().lower()
    if not t:
        return None
    if t in rooms:
        return t
    words = {_stem(w) for w in _words(t)} - {"the", "room", "to"}
    for slug, name in rooms.items():
        if t == name.lower():
            return slug
    for slug, name in rooms.items():
        name_words = {_stem(w) for w in _words(name)} - {"the", "room"}
        if (name_words and name_words <= words) or _stem(slug) in words:
            return slug
    return None
