"""What residents say to each other when they share a room and are free: a short visible
exchange (`AgentConfig.chat_lines` lines, 2 to 6) about their day, what people asked them and
what sold. Only what was said in the open goes into it: a whispered memory is never news.

Lines are numbered: 1 opens (the initiator's news and a question), 2 answers with the other's
news, 3 reacts, 4 says goodbye (5 and 6, when configured, add one more exchange of news).
"""

from __future__ import annotations

from .memory import Memory
from .persona import Persona

NEWSWORTHY = ("purchase", "personal", "question", "said")


def news(persona: Persona, memories: list[Memory], *, room_name: str, until: str | None, skip: set[str]) -> str:
    """One thing worth telling another resident, from its own open memories and its day."""
    for m in reversed(memories):
        if m.meta.get("private") or m.meta.get("event") not in NEWSWORTHY or m.kind == "reflection":
            continue
        ev, who = m.meta.get("event"), m.subject_name or "someone"
        if ev == "purchase" and m.meta.get("item"):
            line = f"{who} bought {m.meta.get('qty', 1)} x {m.meta['item']} from me today."
        elif ev == "personal" and m.meta.get("topic"):
            line = f"I met {who} today; they told me they're a {m.meta['topic']}."
        elif m.meta.get("topic") and ev in ("question", "said"):
            line = f"People keep asking me about {m.meta['topic']}."
        else:
            continue
        if line not in skip:
            return line
    if until:
        line = f"I'm in {room_name} until {until} today."
        if line not in skip:
            return line
    for note in persona.knowledge:
        line = note.rstrip(".") + "."
        if line not in skip:
            return line
    return f"A quiet {room_name} today."


def chat_line(n: int, persona: Persona, other: str, mine: str, heard: str = "") -> str:
    """Line `n` of an exchange, said by `persona` to `other`."""
    if n == 1:
        return f"{other}, {mine} What's new with you?"
    if n == 2 or n == 5:
        return f"Good to hear, {other}! {mine}"
    if n == 3 or n == 6:
        return f"I'll pass that on to anyone who asks, {other}. Back to work for me!"
    return f"See you later, {other}!"
