"""Runs the assistant eval (cases.yaml) against a planner: a pass rate per language, for the
commands the intent parser claims and for all of them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..intents import Vocabulary
from ..planner import Planner

CASES = Path(__file__).with_name("cases.yaml")
PEOPLE = ["ana", "bob", "carla", "Mira", "Tobin", "Odessa"]


def load_cases(path: Path | str = CASES) -> list[dict[str, Any]]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return data["cases"] if isinstance(data, dict) else data


def eval_vocabulary(world: dict[str, Any], places: dict[str, list[str]]) -> Vocabulary:
    """The seeded world as the asker "dora" in the plaza sees it."""
    rooms = {r["slug"]: r.get("name", r["slug"]) for r in world.get("rooms", [])}
    items = {i["sku"]: i["name"] for r in world.get("residents", []) for i in r.get("shop") or []}
    return Vocabulary(rooms=rooms, places=places, people=PEOPLE, items=items, here="plaza", me="dora")


def matches(expect: dict[str, Any], tool: str | None, args: dict[str, Any]) -> bool:
    if expect.get("tool") != tool:
        return False
    for key, want in (expect.get("args") or {}).items():
        got = args.get(key)
        if isinstance(want, str) and isinstance(got, str):
            if want.casefold() != got.casefold():
                return False
        elif want != got:
            return False
    return True


@dataclass
class Report:
    mode: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def rates(self) -> dict[str, dict[str, tuple[int, int]]]:
        out: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"claimed": [0, 0], "all": [0, 0]})
        for r in self.rows:
            for bucket in (r["lang"], "total"):
                b = out[bucket]
                b["all"][0] += r["ok"]
                b["all"][1] += 1
                if not r["beyond"]:
                    b["claimed"][0] += r["ok"]
                    b["claimed"][1] += 1
        return {k: {kk: (vv[0], vv[1]) for kk, vv in v.items()} for k, v in out.items()}

    def format(self) -> str:
        lines = [f"assistant eval ({self.mode}): {len(self.rows)} commands"]
        for lang, r in sorted(self.rates().items(), key=lambda kv: (kv[0] == "total", kv[0])):
            (c, cn), (a, an) = r["claimed"], r["all"]
            lines.append(f"  {lang:<6} claimed {c}/{cn} ({100 * c / max(cn, 1):.0f}%)   all {a}/{an} "
                         f"({100 * a / max(an, 1):.0f}%)")
        for r in self.rows:
            if not r["ok"]:
                lines.append(f"  FAIL [{r['lang']}] {r['say']!r}: expected {r['expect']}, got {r['got']}")
        return "\n".join(lines)


async def run(cases: list[dict[str, Any]], vocab: Vocabulary, planner: Planner) -> Report:
    report = Report(planner.mode())
    for case in cases:
        intent = await planner.plan(case["say"], vocab, case["lang"])
        ok = matches(case["expect"], intent.tool, intent.args)
        report.rows.append({"lang": case["lang"], "say": case["say"], "expect": case["expect"], "ok": ok,
                            "beyond": bool(case.get("beyond")), "got": intent.public()})
    return report
