"""Suggestions for one person: rooms, events and people with shared interests, each with why.

Inputs are that person's own activity (rooms visited, residents talked to, purchases, events
joined, their language) and public facts: the event schedule, who is in which room now, and who
took part in an event (taking part happens in the open, in a public room). Nobody else's private
activity is read.

Each suggestion carries its English words (`title`, `why`) and the same as message keys with their
arguments (`say`, `because`), so a client shows it in its interface language.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from sqlalchemy import select, text

from server.events.models import PersonActivity

LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "de": "German", "fr": "French", "pt": "Portuguese"}


async def suggest(service, user_id: uuid.UUID, language: str) -> dict[str, Any]:
    if not await service.suggestions_on(user_id):
        return {"enabled": False, "suggestions": []}
    ctx = service.ctx
    async with service.db.session() as s:
        acts = (await s.execute(select(PersonActivity.kind, PersonActivity.target)
                                .where(PersonActivity.user_id == user_id))).all()
        # public: who else took part in the events this person joined
        fellows = (await s.execute(text(
            "SELECT e.key, j.user_id FROM event_joins j JOIN world_events e ON e.id = j.event_id "
            "WHERE j.user_id <> :u AND e.key IN (SELECT target FROM person_activity WHERE user_id = :u AND kind = 'join') "
            "GROUP BY e.key, j.user_id"), {"u": user_id})).all()
    seen: dict[str, Counter] = {}
    for kind, target in acts:
        seen.setdefault(kind, Counter())[target] += 1
    visits, talks, buys, joins = (seen.get(k, Counter()) for k in ("visit", "talk", "buy", "join"))
    residents = ctx.residents
    rooms = ctx.rooms
    infos = rooms.infos if rooms is not None else {}
    out: list[dict[str, Any]] = []

    # events: those that touch what this person did
    for e in service.list_public():
        why, because = [], []
        room = _room(infos, e["room"])
        if joins[e["key"]]:
            why.append(f"you joined {e['title']} before")
            because.append(_say("joined_before", event=e["title"]))
        if visits[e["room"]]:
            why.append(f"you visited {room} {_times(visits[e['room']])}")
            because.append(_say("visited", room=room, count=visits[e["room"]]))
        host = residents.resolve(e["host"]) if residents is not None and e["host"] else None
        if host is not None and talks[host.key]:
            why.append(f"you talked to {host.name}, who hosts it")
            because.append(_say("talked_to_host", name=host.name))
        if host is not None and host.shop_key and any(t.startswith(f"{host.shop_key}:") for t in buys):
            why.append(f"you bought from {host.name}")
            because.append(_say("bought_from", name=host.name))
        if why:
            when = "on now" if e["running"] else f"starts in {e['starts_in_min']} world minutes"
            out.append({"kind": "event", "event": e["key"], "room": e["room"],
                        "title": f"{e['title']} in {room}, {when}", "why": why,
                        "say": _say("event", event=e["title"], room=room,
                                    when_min=None if e["running"] else e["starts_in_min"]),
                        "because": because})

    # people: who also joined an event you joined, grouped by the room they are in now
    online = {}
    for slug in infos:
        for p in rooms.occupants(slug):
            if p.get("kind", "user") == "user":
                online[p["id"]] = slug
    by_event: dict[str, Counter] = {}
    for key, other in fellows:
        if str(other) in online and str(other) != str(user_id):
            by_event.setdefault(key, Counter())[online[str(other)]] += 1
    titles = {e.key: e.title for e in service.events}
    for key, where in by_event.items():
        for slug, n in where.most_common(2):
            who = "1 person who also likes" if n == 1 else f"{n} people who also like"
            title = titles.get(key, key)
            out.append({"kind": "people", "room": slug, "event": key,
                        "title": f"{who} the {title.lower()} {'is' if n == 1 else 'are'} in "
                                 f"{_room(infos, slug)}",
                        "why": [f"you joined {title}; so did they (joining is public)"],
                        "say": _say("people", count=n, event=title, room=_room(infos, slug)),
                        "because": [_say("joined_too", event=title)]})

    # rooms: one not visited yet; and where your language is spoken by a resident's visitors
    if visits:
        for slug, info in sorted(infos.items()):
            if not visits[slug] and info.access == "public":
                seen_rooms = [_room(infos, r) for r in visits]
                out.append({"kind": "room", "room": slug, "title": f"{info.name}: you have not been there yet",
                            "why": [f"you visited {', '.join(seen_rooms)} but not {info.name}"],
                            "say": _say("not_visited", room=info.name),
                            "because": [_say("visited_others", rooms=seen_rooms, room=info.name)]})
                break
    if language and language != "en":
        # public: lines said aloud in a public room in the last hour, in this person's language
        async with service.db.session() as s:
            rows = (await s.execute(text(
                "SELECT r.slug, count(DISTINCT m.sender_user_id) FROM chat_messages m JOIN rooms r ON r.id = m.room_id "
                "WHERE m.lang = :lang AND m.to_user_id IS NULL AND m.sender_kind = 'user' AND NOT m.held "
                "AND r.access = 'public' AND m.created_at > now() - interval '1 hour' "
                "AND m.sender_user_id <> :u GROUP BY r.slug ORDER BY 2 DESC LIMIT 1"),
                {"lang": language, "u": user_id})).all()
        for slug, n in rows:
            name = LANGUAGE_NAMES.get(language, language)
            out.append({"kind": "room", "room": slug,
                        "title": f"{n} {'person' if n == 1 else 'people'} spoke {name} in {_room(infos, slug)} lately",
                        "why": [f"your language is {name}; lines said aloud there were in {name}"],
                        "say": _say("spoken_here", count=n, lang=language, room=_room(infos, slug)),
                        "because": [_say("your_language", lang=language)]})
    return {"enabled": True, "suggestions": out, "based_on": {k: sum(v.values()) for k, v in seen.items()}}


def _say(key: str, **args: Any) -> dict[str, Any]:
    """A message key of the client's catalogues (suggest.<key>) and its arguments."""
    return {"key": key, "args": args}


def _room(infos: dict, slug: str) -> str:
    info = infos.get(slug)
    return info.name if info else slug


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"
