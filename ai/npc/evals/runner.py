"""The resident eval: scripted multi-turn conversations in the seeded world, checked turn by turn,
runnable against any brain.

Each case (ai/npc/evals/cases.yaml) is a person talking with a resident in a language: lines,
whispers, arriving, a restart, an offer left to lapse, two residents left alone together.
Every turn is checked for what a user expects: the right act (an offer, a sale, a decline),
the right item, quantity and price, the room named, the reply's language (the bundled lingua
detector over the world's languages), no talk of the person in the third person to their
face, and no money moved unless the person confirmed in that very turn. The world is
`evals.world.EvalWorld` (the server's rules, in memory): the eval judges the residents, the
Socket.IO tests judge the wiring.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ai.npc.agent import AgentConfig, Heard, ResidentAgent
from ai.npc.brain import Brain, holding_line
from ai.npc.brains import RetrievalBrain
from ai.npc.interface import Person
from ai.npc.memory import MemoryStream, StreamConfig
from ai.npc.persona import Persona, minutes_of
from ai.npc.scheduler import Budgets, WorldClock

from .world import EvalWorld, MemoryBook

CASES = Path(__file__).with_name("cases.yaml")


def load_cases(path: Path | str = CASES) -> list[dict]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    cases = data["cases"] if isinstance(data, dict) else data
    ids = [c["id"] for c in cases]
    if len(ids) != len(set(ids)):
        raise ValueError("case ids must be unique")
    return cases


def fast_subset(cases: list[dict], per_category: int = 2) -> list[dict]:
    """The first cases of each category (what the test suite runs)."""
    seen: dict[str, int] = defaultdict(int)
    out = []
    for c in cases:
        if seen[c["category"]] < per_category:
            seen[c["category"]] += 1
            out.append(c)
    return out


@dataclass
class TurnResult:
    case: str
    category: str
    turn: int
    step: dict
    reply: str
    lines: list[dict]
    checks: dict[str, bool]
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(self.checks.values())

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case, "category": self.category, "turn": self.turn, "step": self.step,
                "reply": self.reply, "lines": self.lines, "checks": self.checks, "passed": self.passed,
                "notes": self.notes}


@dataclass
class Report:
    brain: str
    turns: list[TurnResult]
    seconds: float

    def by_category(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        cases: dict[str, dict[str, bool]] = defaultdict(dict)
        for t in self.turns:
            c = out.setdefault(t.category, {"turns": 0, "turns_passed": 0})
            c["turns"] += 1
            c["turns_passed"] += t.passed
            cases[t.category][t.case] = cases[t.category].get(t.case, True) and t.passed
        for cat, c in out.items():
            c["cases"] = len(cases[cat])
            c["cases_passed"] = sum(cases[cat].values())
            c["pass_rate"] = round(c["turns_passed"] / c["turns"], 3) if c["turns"] else 0.0
        return dict(sorted(out.items()))

    def totals(self) -> dict[str, Any]:
        n = len(self.turns)
        ok = sum(t.passed for t in self.turns)
        cases: dict[str, bool] = {}
        for t in self.turns:
            cases[t.case] = cases.get(t.case, True) and t.passed
        return {"brain": self.brain, "turns": n, "turns_passed": ok, "pass_rate": round(ok / n, 3) if n else 0.0,
                "cases": len(cases), "cases_passed": sum(cases.values()), "seconds": round(self.seconds, 1)}

    def format(self) -> str:
        rows = [f"{'category':<22} {'turns':>11} {'cases':>9} {'pass rate':>10}"]
        for cat, c in self.by_category().items():
            rows.append(f"{cat:<22} {c['turns_passed']:>5}/{c['turns']:<5} {c['cases_passed']:>4}/{c['cases']:<4} "
                        f"{c['pass_rate'] * 100:>9.1f}%")
        t = self.totals()
        rows.append(f"{'all':<22} {t['turns_passed']:>5}/{t['turns']:<5} {t['cases_passed']:>4}/{t['cases']:<4} "
                    f"{t['pass_rate'] * 100:>9.1f}%   ({t['brain']} brain, {t['seconds']} s)")
        return "\n".join(rows)


class Detector:
    """The reply's language among the world's languages (lingua), names left out of the count."""

    def __init__(self, languages: list[str]):
        from ai.translation.langid import LanguageIdentifier

        self.ident = LanguageIdentifier(languages, default="en")

    def __call__(self, text: str, names: list[str]) -> str:
        return self.ident.detect(text, prior=None, names=names).lang


class Session:
    """One case: a fresh world, every resident of the world file running, one person."""

    def __init__(self, world_data: dict, case: dict, *, brain: Brain, retrieval: RetrievalBrain, embed, translate,
                 detector: Detector):
        self.data = world_data
        self.case = case
        self.brain = brain
        self.retrieval = retrieval
        self.embed = embed
        self.detector = detector
        self.world = EvalWorld(world_data, translate=translate)
        self.book = MemoryBook()
        self.personas = {r["key"]: Persona.from_dict(r) for r in world_data["residents"]}
        self.ids = {key: f"npc-{key}" for key in self.personas}
        for r in world_data["residents"]:
            self.world.add_resident(self.ids[r["key"]], r)
        minute = minutes_of(str(case.get("time", "10:00")))
        self.clock = WorldClock("scaled", 1e-9, float(minute))
        self.world.clock = self.clock
        self.budgets = Budgets(30, 600)
        self.agents: dict[str, ResidentAgent] = {}
        self.lang = case.get("lang", "en")
        self.person = Person(f"u-{uuid.uuid4().hex[:8]}", case.get("person", "Ana"))
        self.world.on_say = self._route
        self.room = case.get("room") or self.personas[case["resident"]].room_at(minute)

    def _agent(self, key: str) -> ResidentAgent:
        rid = self.ids[key]
        cfg = AgentConfig(hold_s=6.0, reply_deadline_s=12.0, greet_delay_s=0.0, wander_s=0.0, walk_over=False,
                          idle_chatter_s=0.0, routine_check_s=3600.0, greet=True,
                          chat_lines=int(self.case.get("chat_lines", 4)))
        stream = MemoryStream(rid, self.book, self.embed, config=StreamConfig(flush_delay_s=0.0))
        others = lambda: [(p.name, p.role, self.world.where.get(self.ids[k]) or p.home)  # noqa: E731
                          for k, p in self.personas.items()]
        return ResidentAgent(rid, self.personas[key], world=self.world, stream=stream, brain=self.brain,
                             people=self.book, budgets=self.budgets, clock=self.clock, config=cfg, embed=self.embed,
                             retrieval=self.retrieval, residents=others)

    async def start(self) -> None:
        for key in self.personas:
            agent = self.agents[key] = self._agent(key)
            await agent.start()
        for sku, n in (self.case.get("stock") or {}).items():
            for shop in self.world.shops.values():
                if sku in shop:
                    shop[sku].stock = int(n)
        for key, room in (self.case.get("residents_in") or {}).items():
            await self.world.enter(self.ids[key], room)
            self.agents[key].room = room
        self.world.add_person(self.person.id, self.person.name, self.room)
        self.people = {self.person.name: self.person}

    async def stop(self) -> None:
        for a in self.agents.values():
            await a.stop()

    def _route(self, said) -> None:
        """What a resident says aloud, the other residents in the room hear (as on the server)."""
        if said.to is not None:
            return
        speaker = Person(said.npc_id, self.world.names[said.npc_id], "npc")
        for a in self.agents.values():
            if a.id != said.npc_id and a.room == said.room:
                a.hear(Heard(uuid.uuid4().hex, said.room, speaker, said.text, said.lang))

    async def settle(self) -> None:
        for _ in range(50):
            busy = [a for a in self.agents.values() if a.busy]
            if not busy:
                return
            for a in busy:
                await a.idle()

    def resident(self) -> ResidentAgent:
        return self.agents[self.case["resident"]]

    def names(self) -> list[str]:
        items = [i.name for shop in self.world.shops.values() for i in shop.values()]
        events = [str(e["title"]) for e in self.world.data.get("events") or []]  # titles stay English, as names do
        return [*self.people, *(p.name for p in self.personas.values()), *(r.name for r in self.world.room_facts),
                *items, *(w for n in items for w in n.split()), *events, *(w for n in events for w in n.split())]

    # -- steps ------------------------------------------------------------------------------------
    def speaker(self, name: str | None) -> None:
        """`as: NAME` in a step: another person in the room speaks (the first keeps their purse)."""
        name = name or self.case.get("person", "Ana")
        if name not in self.people:
            self.people[name] = Person(f"u-{uuid.uuid4().hex[:8]}", name)
            self.world.add_person(self.people[name].id, name, self.room)
        self.person = self.people[name]

    async def step(self, step: dict) -> tuple[list, list]:
        self.speaker(step.get("as"))
        said0, acts0 = len(self.world.said), len(self.world.acts)
        agent = self.resident()
        if "say" in step or "whisper" in step:
            text = str(step.get("say", step.get("whisper")))
            lang = self.detector.ident.detect(text, prior=self.lang, names=self.names()).lang
            heard = Heard(uuid.uuid4().hex, self.room, self.person_here(), text, lang, whisper="whisper" in step)
            targets = [agent] if "whisper" in step else [a for a in self.agents.values() if a.room == self.room]
            for a in targets:
                a.hear(heard)
        elif "arrive" in step:
            for a in self.agents.values():
                if a.room == self.room:
                    await a.arrived(self.person_here(), self.room)
        elif "restart" in step:
            await self.settle()
            await agent.stop()
            fresh = self.agents[self.case["resident"]] = self._agent(self.case["resident"])
            await fresh.start(agent.room)
            self.world.said = self.world.said[:said0]
        elif "expire" in step:
            for o, status in self.world.offers.values():
                if status == "open":
                    o.expires_at = self.world.now().replace(year=2000)
            await agent.tick()
        elif "chat" in step:
            other = self.agents[step["chat"]]
            await agent.chat_with(Person(other.id, other.persona.name, "npc"))
        elif "leave" in step:
            for a in self.agents.values():
                await a.left(self.person.id)
        await self.settle()
        for a in self.agents.values():
            await a.stream.flush()
        return self.world.said[said0:], self.world.acts[acts0:]

    def person_here(self) -> Person:
        x, y = self.world.pos.get(self.person.id, (1.0, 1.0))
        return Person(self.person.id, self.person.name, "user", x, y)

    # -- checks -----------------------------------------------------------------------------------
    def check(self, step: dict, said: list, acts: list) -> tuple[str, dict[str, bool], list[str]]:
        exp = dict(step.get("expect") or {})
        agent = self.resident()
        hold = {holding_line(a.persona, self.person.name) for a in self.agents.values()}
        mine = [s for s in said if s.npc_id == agent.id and s.text not in hold]
        reply = " ".join(s.text for s in mine)
        checks: dict[str, bool] = {}
        notes: list[str] = []
        talk = "say" in step or "whisper" in step or "arrive" in step
        if talk and not exp.get("silent"):
            checks["replied"] = bool(reply)
        if exp.get("silent"):
            checks["silent"] = not reply
        if exp.get("others_silent"):  # the other residents here leave the person's conversation alone
            others = [s.text for s in said if s.npc_id != agent.id and s.text not in hold]
            checks["others_silent"] = not others
            if others:
                notes.append(f"others said: {others[0][:60]}")
        kinds = [a.kind for a in acts if a.npc_id == agent.id and a.kind in ("offer", "sale", "decline", "failed_sale")]
        if "action" in exp:
            want = exp["action"]
            checks["action"] = (not kinds) if want == "none" else want in kinds
            if not checks["action"]:
                notes.append(f"acts: {kinds}")
        want_act = exp.get("action") or "offer"
        act = next((a for a in acts if a.npc_id == agent.id and a.kind == want_act), None)
        for key in ("item", "qty", "total"):
            if key in exp:
                got = act.data.get("sku" if key == "item" else key) if act else None
                checks[key] = got == exp[key]
                if not checks[key]:
                    notes.append(f"{key}: {got!r}")
        sold = [a for a in acts if a.kind == "sale"]
        checks["no_unconfirmed_money"] = not sold or exp.get("action") == "sale"
        if "walks_to" in exp:  # led to a named place of its room: it stands by it now
            fact = next((r for r in self.world.room_facts if r.slug == self.world.where.get(agent.id)), None)
            place = next((p for p in (fact.places if fact else []) if p.name.casefold() == str(exp["walks_to"]).casefold()), None)
            pos = self.world.pos.get(agent.id)
            checks["walks_to"] = bool(place and place.at and pos and abs(pos[0] - place.at[0]) <= 1.5
                                      and abs(pos[1] - place.at[1]) <= 1.5)
            if not checks["walks_to"]:
                notes.append(f"stands at {pos}")
        if "room" in exp:
            name = next(r.name for r in self.world.room_facts if r.slug == exp["room"])
            checks["room"] = name.lower() in reply.lower()
        low = reply.lower()
        if "says_any" in exp:
            checks["says_any"] = any(str(w).lower() in low for w in exp["says_any"])
        if "says_all" in exp:
            checks["says_all"] = all(str(w).lower() in low for w in exp["says_all"])
        if "not_says" in exp:
            checks["not_says"] = not any(str(w).lower() in low for w in exp["not_says"])
        if reply and talk:
            want = exp.get("lang", self.lang)
            if want != "any":
                got = self.detector(reply, self.names())
                checks["lang"] = got == want
                if got != want:
                    notes.append(f"lang: {got}")
            n = re.escape(self.person.name)
            third = re.search(rf"\b{n}(?:'s\b|\s+(?:is|was|has|had|likes|said|told|bought|asked|cares|came|"
                              rf"[a-z]+s)\b)", reply)
            checks["second_person"] = third is None
        if "lines" in exp:
            lo, hi = exp["lines"]
            visible = [s for s in said if s.to is None]
            speakers = {s.npc_id for s in visible}
            checks["lines"] = lo <= len(visible) <= hi and (hi == 0 or len(speakers) >= 2)
            notes.append(f"{len(visible)} lines from {len(speakers)}")
            reply = " | ".join(f"{self.world.names[s.npc_id]}: {s.text}" for s in visible)
            low = reply.lower()
            if "not_says" in exp:
                checks["not_says"] = not any(str(w).lower() in low for w in exp["not_says"])
        for m in exp.get("memory", []):
            rid = self.ids[m["resident"]]
            checks[f"memory:{m['resident']}"] = bool(self.book.about(rid, m["contains"]))
        if "status" in exp:
            checks["status"] = str(exp["status"]).lower() in agent.status.lower()
            if not checks["status"]:
                notes.append(f"status: {agent.status}")
        if "purse" in exp:
            spent = self.world.start_purse - self.world.purses[self.person.id]
            checks["purse"] = spent == exp["purse"]
            if not checks["purse"]:
                notes.append(f"spent {spent}")
        return reply, checks, notes


async def run(cases: list[dict], world_data: dict, *, brain: Brain | None = None, embed=None, translate=None,
              out: Path | None = None, progress: Callable[[str], None] | None = None) -> Report:
    """Play every case; the report holds each turn's checks."""
    # an LLM brain keeps its retrieval fallback; any other brain is the one the residents think with
    retrieval = getattr(brain, "fallback", None) or brain or RetrievalBrain()
    brain = brain or retrieval
    detector = Detector(list(world_data.get("languages") or ["en"]))
    started = time.monotonic()
    results: list[TurnResult] = []
    sink = out.open("w", encoding="utf-8") if out else None
    try:
        for case in cases:
            session = Session(world_data, case, brain=brain, retrieval=retrieval, embed=embed, translate=translate,
                              detector=detector)
            await session.start()
            try:
                for i, step in enumerate(case["turns"]):
                    said, acts = await session.step(step)
                    reply, checks, notes = session.check(step, said, acts)
                    r = TurnResult(case["id"], case["category"], i, step, reply,
                                   [{"from": session.world.names.get(s.npc_id), "text": s.text, "lang": s.lang,
                                     "to": s.to} for s in said], checks, notes)
                    results.append(r)
                    if sink:
                        sink.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
                    if progress and not r.passed:
                        progress(f"FAIL {case['id']}#{i} {step} -> {reply!r} {checks} {notes}")
            finally:
                await session.stop()
    finally:
        if sink:
            sink.close()
    return Report(brain.kind, results, time.monotonic() - started)


def run_sync(*args, **kw) -> Report:
    return asyncio.run(run(*args, **kw))
